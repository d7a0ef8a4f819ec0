import { z } from "zod";
import { TOOL_NAME_PATTERN, ValidationError } from "@colony/actors";

/** `{{secret:NAME}}`: a value resolved on the host at call time, never stored. */
export const SECRET_NAME_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;
/**
 * One pass over a template finds both kinds of placeholder, so a value put in
 * (an argument containing `{{secret:X}}`) is never scanned again: a model
 * cannot make the host resolve a secret by passing its reference.
 */
export const PLACEHOLDER = /\{\{secret:([A-Za-z0-9_]*)\}\}|\{([A-Za-z0-9_]+)\}/g;

export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;
export const MAX_HTTP_TIMEOUT_MS = 120_000;
export const DEFAULT_HTTP_RETRIES = 2;
export const MAX_HTTP_RETRIES = 5;
export const DEFAULT_MAX_RESPONSE_CHARS = 16_000;
export const MAX_RESPONSE_CHARS = 100_000;
/** Largest inputSchema accepted, as JSON. */
export const MAX_INPUT_SCHEMA_BYTES = 32 * 1024;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
const template = z.string().max(4096);
/** A body template: JSON whose strings may hold placeholders (`"{arg}"` alone puts the argument's own JSON value). */
export const httpBodyTemplateSchema: z.ZodType<unknown> = z.lazy(() => z.union([template, z.number(), z.boolean(), z.null(), z.array(httpBodyTemplateSchema), z.record(z.string(), httpBodyTemplateSchema)]));

/** PUT /v1/tools/{name}: an HTTP tool as an operator declares it. */
export const httpToolBodySchema = z.strictObject({
  description: z.string().min(1).max(4096),
  /** JSON Schema of the arguments, as the Messages API takes it: the model sees it as written; zod's z.fromJSONSchema enforces it. */
  inputSchema: z.record(z.string(), z.unknown()),
  http: z.strictObject({
    method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    /** `https://api.example.com/cities/{city}`: `{arg}` is filled with the URL-encoded argument; `{{secret:NAME}}` with a host secret. */
    url: template,
    /** Query parameters; one whose template names only absent arguments is left out. */
    query: z.record(z.string().min(1).max(128), template).optional(),
    headers: z.record(z.string().regex(HEADER_NAME, "must be an HTTP header name"), template).optional(),
    /** `arguments` sends the arguments as JSON (default for POST, PUT, PATCH), `none` sends nothing (default for GET, DELETE), or a JSON template. */
    body: z.union([z.enum(["arguments", "none"]), z.strictObject({ template: httpBodyTemplateSchema })]).optional(),
    timeoutMs: z.number().int().min(100).max(MAX_HTTP_TIMEOUT_MS).default(DEFAULT_HTTP_TIMEOUT_MS),
    /** Further attempts after a 5xx answer, a connection error or a timeout; never after a 4xx. */
    retries: z.number().int().min(0).max(MAX_HTTP_RETRIES).default(DEFAULT_HTTP_RETRIES),
    maxResponseChars: z.number().int().min(100).max(MAX_RESPONSE_CHARS).default(DEFAULT_MAX_RESPONSE_CHARS),
  }),
  permission: z.enum(["auto", "approval", "deny"]).default("auto"),
  rateLimit: z
    .strictObject({
      perAgentPerMinute: z.number().int().min(1).max(100_000).optional(),
      perHostPerMinute: z.number().int().min(1).max(1_000_000).optional(),
    })
    .optional(),
});
export type HttpToolBody = z.infer<typeof httpToolBodySchema>;
export type HttpToolBodyInput = z.input<typeof httpToolBodySchema>;

/** A declaration as stored (Redis `colony:tools`) and returned by GET: secret references only, never values. */
export const httpToolDeclarationSchema = httpToolBodySchema.extend({
  name: z.string().regex(TOOL_NAME_PATTERN),
  updatedAt: z.number(),
});
export type HttpToolDeclaration = z.infer<typeof httpToolDeclarationSchema>;

/** The placeholders of a template: argument names and secret names. */
export function placeholdersOf(text: string): { args: string[]; secrets: string[] } {
  const args: string[] = [];
  const secrets: string[] = [];
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (m[1] !== undefined) secrets.push(m[1]);
    else args.push(m[2]!);
  }
  return { args, secrets };
}

function stringsOf(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (value && typeof value === "object") return Object.values(value).flatMap(stringsOf);
  return [];
}

/**
 * Parses and checks a declaration, throwing a ValidationError naming the
 * field: the schema is an object schema zod can enforce, every `{arg}` names
 * one of its properties (those in the URL path a required one), the URL is
 * http(s) with a fixed origin, and secret names are well formed.
 */
export function parseHttpToolBody(input: unknown): HttpToolBody {
  const parsed = httpToolBodySchema.safeParse(input);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    const field = ["body", ...i.path.map(String)].join(".");
    throw new ValidationError(`${field}: ${i.message}`, { field, issues: parsed.error.issues.map((x) => ({ path: x.path.map(String), message: x.message })) });
  }
  const body = parsed.data;
  const fail = (field: string, message: string): never => {
    throw new ValidationError(`body.${field}: ${message}`, { field: `body.${field}` });
  };

  const schema = body.inputSchema;
  if (Buffer.byteLength(JSON.stringify(schema)) > MAX_INPUT_SCHEMA_BYTES) fail("inputSchema", `must be at most ${MAX_INPUT_SCHEMA_BYTES} bytes as JSON`);
  if (schema.type !== "object") fail("inputSchema.type", 'must be "object" (tool arguments are a JSON object)');
  try {
    z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch (e) {
    fail("inputSchema", `not a JSON Schema zod can enforce: ${e instanceof Error ? e.message : String(e)}`);
  }
  const properties = schema.properties && typeof schema.properties === "object" ? Object.keys(schema.properties) : [];
  const required = Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === "string") : [];

  const checkTemplate = (field: string, text: string, mustBeRequired: boolean) => {
    const { args, secrets } = placeholdersOf(text);
    for (const s of secrets) if (!SECRET_NAME_PATTERN.test(s)) fail(field, `secret name "${s}" must match ${SECRET_NAME_PATTERN.source}`);
    for (const a of args) {
      if (!properties.includes(a)) fail(field, `{${a}} is not a property of inputSchema (properties: ${properties.join(", ") || "none"})`);
      if (mustBeRequired && !required.includes(a)) fail(field, `{${a}} fills the URL path, so inputSchema must list it in "required"`);
    }
    return { args, secrets };
  };

  const url = body.http.url;
  const queryAt = url.indexOf("?");
  checkTemplate("http.url", queryAt < 0 ? url : url.slice(0, queryAt), true);
  if (queryAt >= 0) checkTemplate("http.url", url.slice(queryAt), false);
  let parsedUrl: URL | undefined;
  try {
    parsedUrl = new URL(url.replace(PLACEHOLDER, "x"));
  } catch {
    fail("http.url", "is not a URL (e.g. https://api.example.com/items/{id})");
  }
  if (parsedUrl!.protocol !== "http:" && parsedUrl!.protocol !== "https:") fail("http.url", "must be an http:// or https:// URL");
  // Arguments never choose the server: where a call goes is the operator's decision.
  const origin = /^[a-z]+:\/\/[^/?#]*/i.exec(url)?.[0] ?? "";
  if (placeholdersOf(origin).args.length > 0) fail("http.url", "arguments may fill the path and query, not the scheme, host or port");

  for (const [k, v] of Object.entries(body.http.query ?? {})) checkTemplate(`http.query.${k}`, v, false);
  for (const [k, v] of Object.entries(body.http.headers ?? {})) {
    checkTemplate(`http.headers.${k}`, v, true);
    if (k.toLowerCase() === "idempotency-key") fail(`http.headers.${k}`, "is set by Colony on every call (agent, message, tool-use id)");
  }
  if (typeof body.http.body === "object") for (const s of stringsOf(body.http.body.template)) checkTemplate("http.body.template", s, false);
  if (body.http.body !== undefined && body.http.body !== "none" && body.http.method === "GET") fail("http.body", "a GET request has no body; use query or the URL");
  return body;
}
