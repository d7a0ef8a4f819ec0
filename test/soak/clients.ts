/**
 * The soak's clients: one loop per slot, each sending numbered messages to
 * its own agent through random hosts, the next only after the previous one
 * was acknowledged (so "send order" is well defined), and retrying a failed
 * request with the same idempotency key. Each loop moves to a fresh agent
 * every `rotateEvery` messages, so contexts and snapshots stay small and the
 * throughput of early and late phases compares fairly.
 *
 * Bookkeeping is conservative: a message is acknowledged only on a 2xx; a
 * timeout, a dropped connection or a 5xx leaves it unknown until a retry is
 * acknowledged, and a message given up on stays unknown.
 */
import { z } from "zod";
import type { ProcessCluster } from "../harness/cluster.ts";
import type { SentMessage } from "./checker.ts";

export interface ClientOptions {
  /** Loops sending at once (one agent each at a time). */
  slots: number;
  /** Messages per agent before a loop moves to a fresh one. */
  rotateEvery: number;
  /** One HTTP attempt is abandoned (outcome unknown) after this long. */
  attemptTimeoutMs: number;
  /** A message still not acknowledged this long after its first send is given up (unknown). */
  giveUpMs: number;
  /** Agent type the soak spawns. */
  type: string;
  /** Distinguishes this run's agent keys. */
  tag: string;
  random: () => number;
  /** performance.now() of the soak's start: acknowledgement times are reported relative to it. */
  t0: number;
  /** Sent with every request (e.g. the admin token's Authorization). */
  headers?: Record<string, string>;
}

/** The hosts the clients pick from: a ProcessCluster, or any cluster that lists its host processes the same way. */
export type ClientCluster = Pick<ProcessCluster, "liveHostIds" | "hosts">;

/** One message as the client saw it. */
export interface ClientMessage extends SentMessage {
  agent: string;
  attempts: number;
  firstSentAt: number;
  /** When it was acknowledged, or given up. */
  endedAt: number;
}

const okBody = z.object({ messageId: z.string(), status: z.string(), duplicate: z.boolean(), reply: z.string().optional() });

export class SoakClients {
  /** Every message sent, by agent, in send order. */
  readonly sent = new Map<string, ClientMessage[]>();
  retries = 0;
  /** Failed attempts, by HTTP status (or "timeout", "network"). */
  readonly failures: Record<string, number> = {};
  /** Turns that answered status "failed". */
  failedTurns = 0;
  private stopping = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly c: ClientCluster,
    private readonly o: ClientOptions,
  ) {}

  start(): void {
    this.loops = Array.from({ length: this.o.slots }, (_, slot) => this.loop(slot));
  }

  /** Lets each loop finish its current attempt (no more retries), then returns. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  /** Acknowledged messages so far. */
  ackedCount(): number {
    let n = 0;
    for (const list of this.sent.values()) for (const m of list) if (m.outcome === "acked" && m.endedAt > 0) n++;
    return n;
  }

  private async loop(slot: number): Promise<void> {
    for (let gen = 0; !this.stopping; gen++) {
      const key = `s${this.o.tag}c${slot}g${gen}`;
      const agent = `${this.o.type}/${key}`;
      if (!(await this.spawn(key))) return;
      const list: ClientMessage[] = [];
      this.sent.set(agent, list);
      for (let n = 0; n < this.o.rotateEvery && !this.stopping; n++) {
        const m: ClientMessage = { agent, content: `m${n}`, outcome: "unknown", attempts: 0, firstSentAt: performance.now(), endedAt: 0 };
        list.push(m);
        await this.deliver(m, `${key}-${n}`, n % 3 !== 2);
      }
    }
  }

  /** Creates the agent, retrying through faults; false if the soak stopped first. */
  private async spawn(key: string): Promise<boolean> {
    while (!this.stopping) {
      const res = await this.request("POST", "/v1/agents", { type: this.o.type, key });
      if (res.status === 201 || res.status === 409) return true;
      if (res.status === 400) throw new Error(`the soak cannot spawn ${key}: ${JSON.stringify(res.body)}`);
      await this.backoff(1);
    }
    return false;
  }

  private async deliver(m: ClientMessage, idempotencyKey: string, wait: boolean): Promise<void> {
    for (;;) {
      m.attempts++;
      if (m.attempts > 1) this.retries++;
      const res = await this.request("POST", `/v1/agents/${m.agent}/messages`, { content: m.content, idempotencyKey, wait });
      if (res.status === 200 || res.status === 202) {
        const body = okBody.parse(res.body);
        m.outcome = "acked";
        m.endedAt = performance.now();
        m.ackedAtS = (m.endedAt - this.o.t0) / 1000;
        if (body.duplicate && m.attempts === 1) m.falseDuplicate = true;
        if (body.status === "completed" && body.reply !== undefined) m.reply = body.reply;
        if (body.status === "failed") this.failedTurns++;
        return;
      }
      if (res.status === 400 || res.status === 413 || res.status === 415) {
        throw new Error(`the soak sent a bad request: ${res.status} ${JSON.stringify(res.body)}`);
      }
      if (this.stopping || performance.now() - m.firstSentAt > this.o.giveUpMs) {
        m.endedAt = performance.now();
        return;
      }
      await this.backoff(m.attempts);
    }
  }

  /** One attempt through a random live host; failures become a status (0 for no answer). */
  private async request(method: string, path: string, body: unknown): Promise<{ status: number; body: unknown }> {
    const live = this.c.liveHostIds();
    const host = this.c.hosts.get(live[Math.floor(this.o.random() * live.length)]!);
    if (!host) return this.failed("no-live-host");
    try {
      const res = await fetch(host.url + path, {
        method,
        headers: { "content-type": "application/json", ...this.o.headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.o.attemptTimeoutMs),
      });
      const text = await res.text();
      if (res.status >= 300) this.failures[String(res.status)] = (this.failures[String(res.status)] ?? 0) + 1;
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    } catch (e) {
      return this.failed((e as Error).name === "TimeoutError" ? "timeout" : "network");
    }
  }

  private failed(why: string): { status: number; body: unknown } {
    this.failures[why] = (this.failures[why] ?? 0) + 1;
    return { status: 0, body: undefined };
  }

  private backoff(attempt: number): Promise<void> {
    const ms = Math.min(1_000, 25 * 2 ** Math.min(attempt, 6)) * (0.5 + this.o.random() / 2);
    return new Promise((r) => setTimeout(r, ms));
  }
}
