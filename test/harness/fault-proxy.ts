/**
 * A TCP proxy that loses replies on purpose, for tests and the soak: put it
 * between the processes and Redis (or NATS) and it can cut a connection
 * right after forwarding a request, so the server runs the request but the
 * client never hears back: on command, or at random with a seeded RNG.
 *
 * A cut destroys the client's side at once (the client sees its connection
 * drop and reconnects through the proxy) and half-closes the server's side
 * after the request, so the server still reads and runs it and only then
 * sees the connection end: exactly the "reply lost after the command ran"
 * fault that makes a client library resend a command that already ran.
 */
import net from "node:net";

export interface FaultProxyOptions {
  /** Where to forward to. */
  target: { host: string; port: number };
  /** Probability that a forwarded client→server chunk is followed by a cut. Default 0. */
  cutProbability?: number;
  /** Seed of the RNG deciding random cuts (same seed, same decisions). Default 1. */
  seed?: number;
  /** How long a cut connection's server side may stay open before it is destroyed. Default 1,000 ms. */
  replyGraceMs?: number;
}

export interface FaultProxyStats {
  /** Client connections accepted since the start. */
  accepted: number;
  /** Connection pairs open now. */
  open: number;
  /** Client connections closed because the server could not be reached. */
  refused: number;
  /** Chunks and bytes forwarded client→server (up) and server→client (down). */
  chunksUp: number;
  chunksDown: number;
  bytesUp: number;
  bytesDown: number;
  /** Cuts after a forwarded request, by cause; `all` counts connections closed by cutAll(). */
  cuts: { command: number; random: number; all: number };
}

/** A deterministic PRNG (mulberry32): floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Pair {
  client: net.Socket;
  server: net.Socket;
  /** Set once the pair was cut: nothing more goes to the client. */
  cut: boolean;
}

interface ArmedCut {
  matches: (chunk: Buffer) => boolean;
  done: () => void;
}

const LOOPBACK = "127.0.0.1";

export class FaultProxy implements AsyncDisposable {
  private readonly pairs = new Set<Pair>();
  /** Cut pairs whose server side still waits for the lost reply: not open any more, but close() ends them. */
  private readonly closing = new Set<Pair>();
  private readonly armed: ArmedCut[] = [];
  private readonly random: () => number;
  private probability: number;
  private paused = false;
  private readonly counters: FaultProxyStats = {
    accepted: 0, open: 0, refused: 0, chunksUp: 0, chunksDown: 0, bytesUp: 0, bytesDown: 0, cuts: { command: 0, random: 0, all: 0 },
  };

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly o: FaultProxyOptions,
  ) {
    this.random = seededRandom(o.seed ?? 1);
    this.probability = o.cutProbability ?? 0;
    server.on("connection", (client) => this.onConnection(client));
  }

  /** Listens on a free loopback port and forwards every connection to `target`. */
  static async start(o: FaultProxyOptions): Promise<FaultProxy> {
    const server = net.createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, LOOPBACK, () => resolve());
    });
    const addr = server.address();
    if (!addr || typeof addr !== "object") throw new Error("fault proxy got no port");
    return new FaultProxy(server, addr.port, o);
  }

  /** `<scheme>://127.0.0.1:<port>`: the URL to give the processes instead of the server's. */
  url(scheme: "redis" | "nats"): string {
    return `${scheme}://${LOOPBACK}:${this.port}`;
  }

  /**
   * Cuts the connection that carries the next forwarded request (optionally
   * the next one whose bytes, read as latin1, match `pattern`, e.g.
   * /evalsha/i: ioredis sends command names in lower case). Resolves once
   * the cut happened.
   */
  cutNextAfterRequest(pattern?: RegExp): Promise<void> {
    return new Promise((done) => {
      this.armed.push({ matches: (chunk) => !pattern || pattern.test(chunk.toString("latin1")), done });
    });
  }

  /** Forgets cuts armed by cutNextAfterRequest() that have not happened yet (their promises stay pending). */
  disarmCuts(): number {
    return this.armed.splice(0).length;
  }

  /** Cuts every open connection now (in-flight replies are lost). Returns how many. */
  cutAll(): number {
    const n = this.pairs.size;
    for (const pair of [...this.pairs]) {
      this.counters.cuts.all++;
      this.closePair(pair);
    }
    return n;
  }

  /** Sets the probability that a forwarded request is followed by a cut (0 turns random cuts off). */
  setCutProbability(p: number): void {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`cut probability must be within [0, 1], got ${p}`);
    this.probability = p;
  }

  /** Stops forwarding in both directions (a stalled network); connections stay open. */
  pause(): void {
    this.paused = true;
    for (const { client, server } of this.pairs) {
      client.pause();
      server.pause();
    }
  }

  /** Forwards again what was held back while paused. */
  resume(): void {
    this.paused = false;
    for (const { client, server, cut } of this.pairs) {
      if (!cut) client.resume();
      server.resume();
    }
  }

  /** A copy of the counters. */
  stats(): FaultProxyStats {
    return { ...this.counters, open: this.pairs.size, cuts: { ...this.counters.cuts } };
  }

  /** Closes the listener and every connection. Idempotent. */
  async close(): Promise<void> {
    this.armed.length = 0;
    for (const pair of [...this.pairs]) this.closePair(pair);
    for (const pair of [...this.closing]) pair.server.destroy();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private onConnection(client: net.Socket): void {
    this.counters.accepted++;
    client.setNoDelay(true);
    const server = net.connect({ host: this.o.target.host, port: this.o.target.port, noDelay: true });
    const pair: Pair = { client, server, cut: false };
    this.pairs.add(pair);
    let connected = false;
    server.once("connect", () => (connected = true));
    if (this.paused) {
      client.pause();
      server.pause();
    }
    client.on("data", (chunk: Buffer) => this.forwardUp(pair, chunk));
    server.on("data", (chunk: Buffer) => this.forwardDown(pair, chunk));
    const onGone = (side: "client" | "server") => () => {
      if (side === "server" && !connected && !pair.cut) this.counters.refused++;
      this.closePair(pair);
    };
    client.on("error", () => {});
    server.on("error", () => {});
    client.once("close", onGone("client"));
    server.once("close", onGone("server"));
  }

  private forwardUp(pair: Pair, chunk: Buffer): void {
    if (pair.cut) return;
    this.counters.chunksUp++;
    this.counters.bytesUp += chunk.length;
    if (!pair.server.write(chunk)) {
      pair.client.pause();
      pair.server.once("drain", () => !this.paused && !pair.cut && pair.client.resume());
    }
    const armed = this.armed.findIndex((a) => a.matches(chunk));
    if (armed >= 0) {
      const [cut] = this.armed.splice(armed, 1);
      this.counters.cuts.command++;
      this.cutAfterRequest(pair);
      cut!.done();
    } else if (this.probability > 0 && this.random() < this.probability) {
      this.counters.cuts.random++;
      this.cutAfterRequest(pair);
    }
  }

  private forwardDown(pair: Pair, chunk: Buffer): void {
    // Replies to a cut connection are lost: that is the fault.
    if (pair.cut) return;
    this.counters.chunksDown++;
    this.counters.bytesDown += chunk.length;
    if (!pair.client.write(chunk)) {
      pair.server.pause();
      pair.client.once("drain", () => !this.paused && pair.server.resume());
    }
  }

  /**
   * The client loses its connection now. The server's side is half-closed
   * after the request (end() flushes it first): the server reads the
   * request, runs it, then sees the end of its input and closes; a grace
   * timer closes it if it does not.
   */
  private cutAfterRequest(pair: Pair): void {
    pair.cut = true;
    pair.client.destroy();
    pair.server.end();
    const grace = setTimeout(() => pair.server.destroy(), this.o.replyGraceMs ?? 1_000);
    grace.unref();
    pair.server.once("close", () => clearTimeout(grace));
    this.pairs.delete(pair);
    this.trackUntilClosed(pair);
  }

  private trackUntilClosed(pair: Pair): void {
    this.closing.add(pair);
    pair.server.once("close", () => this.closing.delete(pair));
  }

  private closePair(pair: Pair): void {
    this.pairs.delete(pair);
    pair.client.destroy();
    if (!pair.cut) pair.server.destroy();
  }
}
