import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request as the service received it. */
export interface ReceivedRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** What the service does with a request: answer, or hold it open until the test says. */
export type Responder = (req: ReceivedRequest, res: ServerResponse) => void | Promise<void>;

export interface HttpService extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  /** Every request received, oldest first. */
  readonly requests: ReceivedRequest[];
  /** Answers the next requests with these responders in order, then with `fallback`. */
  respond(...responders: Responder[]): void;
  close(): Promise<void>;
}

export const json =
  (status: number, body: unknown): Responder =>
  (_req, res) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };

/** Never answers (the request stays open until the client gives up or the service closes). */
export const hang: Responder = () => undefined;

/**
 * A real HTTP service on 127.0.0.1 for tests of HTTP tools: records every
 * request and answers with scripted responders (default: 200 echoing the
 * request as JSON).
 */
export async function startHttpService(fallback: Responder = echo): Promise<HttpService> {
  const queue: Responder[] = [];
  const requests: ReceivedRequest[] = [];
  const open = new Set<ServerResponse>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      const received: ReceivedRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
      requests.push(received);
      open.add(res);
      res.on("close", () => open.delete(res));
      void (queue.shift() ?? fallback)(received, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const close = async () => {
    for (const res of open) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    respond: (...r) => queue.push(...r),
    close,
    [Symbol.asyncDispose]: close,
  };
}

function echo(req: ReceivedRequest, res: ServerResponse): void {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ method: req.method, url: req.url, body: req.body }));
}
