import WebSocket from "ws";

/**
 * A DevTools-protocol client for a process started with
 * `--inspect=127.0.0.1:0`: the bench forces a full GC and reads memory from
 * outside, with no debug endpoint in the product.
 */
export class Inspector implements Disposable {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: any): void; reject(e: Error): void }>();
  private readonly listeners = new Map<string, (params: any) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data) => {
      const msg = JSON.parse(data.toString("utf8")) as { id?: number; method?: string; params?: unknown; result?: unknown; error?: { message: string } };
      if (msg.id === undefined) return void (msg.method && this.listeners.get(msg.method)?.(msg.params));
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error) p?.reject(new Error(msg.error.message));
      else p?.resolve(msg.result);
    });
  }

  /** Connects to the inspector a process announced on stderr ("Debugger listening on ws://…"). */
  static async connect(stderr: string): Promise<Inspector> {
    const url = /Debugger listening on (ws:\/\/\S+)/.exec(stderr)?.[1];
    if (!url) throw new Error(`no inspector URL in stderr: ${stderr}`);
    const socket = new WebSocket(url, { maxPayload: 2 ** 31 });
    await new Promise<void>((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    return new Inspector(socket);
  }

  call<T = any>(method: string, params: object = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  on(event: string, listener: (params: any) => void): void {
    this.listeners.set(event, listener);
  }

  /** A value computed in the process (an expression, returned by value). */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.call<{ result: { value: T }; exceptionDetails?: { text: string } }>("Runtime.evaluate", { expression, returnByValue: true });
    if (r.exceptionDetails) throw new Error(`evaluate failed: ${r.exceptionDetails.text}`);
    return r.result.value;
  }

  /** Full GCs (a second one clears what finalizers of the first freed), then heap used and RSS in bytes. */
  async memoryAfterGc(): Promise<{ heap: number; rss: number }> {
    for (let i = 0; i < 3; i++) await this.call("HeapProfiler.collectGarbage");
    return this.evaluate<{ heap: number; rss: number }>("(() => { const m = process.memoryUsage(); return { heap: m.heapUsed, rss: m.rss }; })()");
  }

  /** Writes a heap snapshot of the process to `path` (chunks streamed over the socket). */
  async heapSnapshot(path: string): Promise<void> {
    const { createWriteStream } = await import("node:fs");
    const out = createWriteStream(path);
    this.on("HeapProfiler.addHeapSnapshotChunk", (p: { chunk: string }) => out.write(p.chunk));
    await this.call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }

  [Symbol.dispose](): void {
    this.socket.close();
  }
}
