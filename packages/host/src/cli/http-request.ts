import type { IncomingMessage, RequestOptions } from "node:http";

/**
 * The CLI's HTTP over node:http (node:https for https URLs), not fetch: the
 * first fetch of a process loads and compiles undici, which measured several
 * times the cost of the rest of a CLI call.
 */

/** A URL scheme the CLI cannot speak; the message fetch gave for it. */
export class UnknownSchemeError extends Error {
  override name = "UnknownSchemeError";
  constructor() {
    super("unknown scheme");
  }
}

export interface HttpRequest {
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** Aborts the request (and the reading of its response). */
  signal?: AbortSignal;
}

/** Sends one request; resolves with the response's head once it arrives, its body still to read. */
export async function open(url: string, req: HttpRequest): Promise<IncomingMessage> {
  const target = new URL(url);
  const mod = target.protocol === "http:" ? await import("node:http") : target.protocol === "https:" ? await import("node:https") : undefined;
  if (!mod) throw new UnknownSchemeError();
  const headers = req.body === undefined ? req.headers : { ...req.headers, "content-length": String(Buffer.byteLength(req.body)) };
  const options: RequestOptions = { method: req.method, headers, ...(req.signal ? { signal: req.signal } : {}) };
  return new Promise((resolve, reject) => {
    const r = mod.request(target, options, resolve);
    r.once("error", reject);
    r.end(req.body);
  });
}

/** The whole body of a response, as text. */
export async function readText(res: IncomingMessage): Promise<string> {
  res.setEncoding("utf8");
  let text = "";
  for await (const chunk of res) text += chunk as string;
  return text;
}
