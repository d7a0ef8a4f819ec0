import { Agent, request } from "node:http";

/**
 * A keep-alive node:http client for latency figures. The harness's `http`
 * (fetch, i.e. undici) spends ~0.3 ms of client CPU per request on a bare
 * GET and ~0.6 ms on a JSON POST (measured against the server's own
 * request → finish time): on a sequential round trip that is client cost,
 * not Colony's, and under load it is CPU taken from the hosts on the same
 * cores. Both the message and its HTTP baseline go through this client,
 * `sockets` connections kept open (one by default), TCP_NODELAY.
 */
export class KeepAliveClient {
  private readonly agent: Agent;

  constructor(
    private readonly base: string,
    sockets = 1,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets, noDelay: true });
  }

  /** One request; the body as JSON (if any), the response's status, headers and text. */
  send(method: string, path: string, body?: unknown): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
    const url = new URL(path, this.base);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname + url.search, method, agent: this.agent, headers: payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (text += chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
