import { z } from "@hono/zod-openapi";
import type { Hook, OpenAPIHono } from "@hono/zod-openapi";
import type { ResponseConfig, RouteConfig } from "@asteasolutions/zod-to-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AgentId, AgentKey, AgentType } from "@colony/actors";
import { AGENT_KEY_PATTERN, AGENT_TYPE_PATTERN, TOKEN_PATTERN, ValidationError, agentId, parseAgentKey, parseAgentType, parseToken } from "@colony/actors";
import { ErrorSchema } from "./components.ts";
import { errorBody } from "./errors.ts";
import { MAX_BODY_BYTES, inputError } from "./schemas.ts";

/**
 * What every route module shares: how a failed validation answers, the path
 * parameters, the JSON body, and the error answers each operation documents.
 */

// ---------------------------------------------------------------------------
// Validation: the answer stays the API's own 400 ({error: {code, message, details: {field}}}).
// ---------------------------------------------------------------------------

const WHERE: Record<string, string> = { json: "body", query: "query", param: "path" };

/**
 * The hook every route's validators report to (OpenAPIHono's defaultHook):
 * a failure throws the ValidationError that app.ts's onError turns into the
 * 400 body; zod-openapi's own answer (the raw ZodError) is never sent.
 */
export const validationHook: Hook<unknown, any, any, unknown> = (result, c) => {
  if (result.target === "json") {
    const problem = bodyProblems.get(c.req.raw);
    if (problem) throw problem;
  }
  if (!result.success) throw inputError(result.error as z.ZodError, WHERE[result.target] ?? result.target);
  return undefined;
};

/** Why a request's body is not a JSON value, found by readJsonBody, reported at the body's validation. */
const bodyProblems = new WeakMap<Request, ValidationError>();

/** The Content-Type zod-openapi's media type gate lets through (its own test, stricter than RFC 9110: no empty or bare parameters). */
const GATE_JSON = /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;

/**
 * Route middleware of every operation with a JSON body: reads it once (the
 * validator then parses the cached text) and remembers an empty or malformed
 * body, so that it answers "a JSON object is required" / "not valid JSON"
 * as it always did, and only after the path's and query's own checks.
 */
export const readJsonBody: MiddlewareHandler = async (c, next) => {
  const type = c.req.header("content-type");
  if (type !== undefined && !GATE_JSON.test(type)) {
    // refuseNonJsonBody accepted it (`application/json;`, `application/json ; charset=utf-8`): show
    // zod-openapi's gate the plain media type rather than let it refuse what the API always took.
    const headers = new Headers(c.req.raw.headers);
    headers.set("content-type", "application/json");
    c.req.raw = new Request(c.req.raw, { headers });
  }
  const parsed = parseBody(await c.req.text());
  if (parsed instanceof ValidationError) bodyProblems.set(c.req.raw, parsed);
  await next();
};

/** A body's JSON value, or the API's 400 for an empty or malformed one. */
function parseBody(text: string): unknown {
  if (text.trim() === "") return new ValidationError("body: a JSON object is required", { field: "body" });
  try {
    return JSON.parse(text);
  } catch {
    return new ValidationError("body: not valid JSON", { field: "body" });
  }
}

/** `value` as `schema` reads it, or the API's 400 naming the first problem, as validationHook answers. */
function validInput<S extends z.ZodType>(schema: S, value: unknown, where: "path" | "body"): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw inputError(result.error, where);
  return result.data;
}

/** A route with path parameters and a JSON body (jsonRequest: required). */
type HotRoute<P extends z.ZodType, B extends z.ZodType> = RouteConfig & {
  method: "post";
  request: { params: P; body: { content: { "application/json": { schema: B } } } };
};

/**
 * Serves a POST route with path parameters and a JSON body, documented from
 * `route` like every other, through one handler that validates
 * synchronously. `app.openapi` would run four async middleware
 * (readJsonBody, the path validator, the media type gate, the body
 * validator, each validator with safeParseAsync): about 5% of a message's
 * round trip through `colony dev`, measured side by side. For the message
 * route, the hot path; the others keep `app.openapi`. Same answers: the
 * path's problem first, then the body's (empty, not JSON, or not the
 * schema); refuseNonJsonBody (app.ts) has refused other media types before.
 */
export function openapiHotRoute<P extends z.ZodType, B extends z.ZodType>(
  app: OpenAPIHono,
  route: HotRoute<P, B>,
  handler: (c: Context, input: { params: z.output<P>; body: z.output<B> }) => Promise<Response>,
): void {
  app.openAPIRegistry.registerPath(route);
  app.post(route.path.replaceAll(/\/{(.+?)}/g, "/:$1"), async (c) => {
    const params = validInput(route.request.params, c.req.param(), "path");
    const body = parseBody(await c.req.text());
    if (body instanceof ValidationError) throw body;
    return handler(c, { params, body: validInput(route.request.body.content["application/json"].schema, body, "body") });
  });
}

/**
 * What zod-openapi's validators throw themselves, as the API answers it: the
 * malformed body readJsonBody already described (a ValidationError to throw
 * on), or a 415 for a Content-Type its media type gate refuses
 * (refuseNonJsonBody answers most of those first). Anything else: unchanged.
 */
export function fromValidator(thrown: unknown, c: Context): unknown {
  if (!(thrown instanceof HTTPException)) return thrown;
  const problem = bodyProblems.get(c.req.raw);
  if (problem) return problem;
  if (thrown.status !== 415) return thrown;
  const type = c.req.header("content-type") ?? "";
  return c.json(errorBody("unsupported_media_type", `request bodies must be application/json; got ${JSON.stringify(type.slice(0, 100) || "none")}`, { field: "content-type" }), 415);
}

// ---------------------------------------------------------------------------
// Path parameters: documented with their grammar, answering with the same message as before.
// ---------------------------------------------------------------------------

/**
 * A path parameter checked by `parse` (which throws the API's ValidationError,
 * message and field as everywhere else) and documented with `pattern`.
 */
export function pathParam(pattern: RegExp, parse: (value: string) => unknown, description: string) {
  return z
    .string()
    .superRefine((value, ctx) => {
      try {
        parse(value);
      } catch (e) {
        if (!(e instanceof ValidationError)) throw e;
        ctx.addIssue({ code: "custom", message: e.message, params: { error: e } });
      }
    })
    .openapi({ pattern: pattern.source, param: { description } });
}

const typeParam = pathParam(AGENT_TYPE_PATTERN, (v) => parseAgentType(v, "type"), "agent type");
const keyParam = pathParam(AGENT_KEY_PATTERN, (v) => parseAgentKey(v, "key"), "agent key");
export const tokenParam = (field: string, description: string) => pathParam(TOKEN_PATTERN, (v) => parseToken(v, field), description);

/** /v1/agents/{type}/{key}… */
export const agentPath = z.object({ type: typeParam, key: keyParam });
/** /v1/types/{type} */
export const typePath = z.object({ type: typeParam });

/** The agent a validated {type, key} names. */
export const agentOf = (p: { type: string; key: string }): AgentId => agentId(p.type as AgentType, p.key as AgentKey);

// ---------------------------------------------------------------------------
// Bodies and answers.
// ---------------------------------------------------------------------------

/** A required JSON request body of a named schema (components.ts). */
export const jsonRequest = <T extends z.ZodType>(schema: T) => ({ required: true, content: { "application/json": { schema } } });

/** A JSON answer of a named schema. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });

/**
 * A non-JSON answer (an event stream, a page, metrics). Typed as any answer
 * (ResponseConfig), so that its handler may return the Response that
 * streamSSE or c.body builds rather than a typed JSON one.
 */
export const text = (mediaType: string, description: string): ResponseConfig => ({ description, content: { [mediaType]: { schema: z.string() } } });

/** An error answer: always the Error component. */
export const err = (description: string) => json(ErrorSchema, description);

export const E400 = err("validation_failed: bad input; `details.field` names the field");
export const E404 = err("not_found: no such agent (or route)");
export const E415 = err("unsupported_media_type: a request body must be sent as Content-Type: application/json");

/** Answers every /v1 route can give. */
export const V1_ERRORS = {
  401: err("unauthorized: missing or wrong bearer token (only when COLONY_ADMIN_TOKEN is set)"),
  403: err("forbidden: a browser's cross-site request (an Origin that is neither this host nor loopback), refused when no COLONY_ADMIN_TOKEN is set"),
  500: err("internal: an unexpected error; the host logs it"),
  503: err("unavailable: the host is draining or a dependency is down (with Retry-After)"),
};

/** Answers of every route with a JSON body. */
export const BODY_ERRORS = {
  400: E400,
  413: err(`payload_too_large: request body over ${MAX_BODY_BYTES} bytes`),
  415: E415,
};

/** Probes, metrics and the console's files: open even with COLONY_ADMIN_TOKEN. */
export const OPEN = { security: [] };
