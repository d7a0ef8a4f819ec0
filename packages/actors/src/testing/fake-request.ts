import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { cacheControlProblem } from "./fake-prompt-cache.ts";

/** The JSON body of a Messages API request, as received. */
export interface FakeRequestBody {
  model?: string;
  max_tokens?: number;
  stream?: boolean;
  system?: unknown;
  messages?: Array<{ role: string; content: unknown }>;
  tools?: Array<{ name: string; description?: string; input_schema?: unknown }>;
  [key: string]: unknown;
}

/** One request the fake received, as the test sees it. */
export interface FakeRequest {
  /** 0-based arrival order. */
  index: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** How the key came (whether or not it was right). */
  auth: "x-api-key" | "bearer" | "none";
  body: FakeRequestBody;
  /** performance.now() when the request arrived. */
  receivedAt: number;
}

/**
 * The system prompt of a request as one string, whether it came as a string
 * or as text blocks (as it does with cache breakpoints); undefined if none.
 */
export function systemText(body: FakeRequestBody): string | undefined {
  if (typeof body.system === "string") return body.system;
  if (!Array.isArray(body.system)) return undefined;
  return body.system.map((b: unknown) => (typeof b === "object" && b !== null && "text" in b ? String((b as { text: unknown }).text) : "")).join("");
}

/** Reads a request's body: the JSON object it holds, or undefined if it holds none. */
export async function readBody(req: IncomingMessage): Promise<FakeRequestBody | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString("utf8");
  try {
    const parsed: unknown = raw ? JSON.parse(raw) : undefined;
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as FakeRequestBody;
  } catch {
    return undefined;
  }
  return undefined;
}

/** What the real API would reject a Messages request body for (a 400), or undefined if it is valid. */
export function invalidBody(body: FakeRequestBody | undefined): string | undefined {
  return !body
    ? "the body must be a JSON object"
    : typeof body.model !== "string"
      ? "model: Field required"
      : typeof body.max_tokens !== "number"
        ? "max_tokens: Field required"
        : !Array.isArray(body.messages) || body.messages.length === 0
          ? "messages: at least one message is required"
          : cacheControlProblem(body);
}
