/**
 * The Transport contract, held against every implementation: MemoryTransport
 * (`colony dev`, fast tests) and NatsTransport (cluster mode), against a real
 * nats-server started by the harness and against a 3-node NATS cluster with
 * the transports spread over its nodes. Whatever a test here says, all do.
 *
 * No sleeps: waits poll with deadlines (waitFor), and "nothing else arrives"
 * is proven with a barrier message that the same publisher sends last:
 * delivery is in order per publisher and subscriber connection, so once the
 * barrier is in, anything sent before it has arrived too.
 */
import { Empty, type NatsConnection, connect as natsConnect } from "nats";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  AgentNotHereError,
  ColonyError,
  NoRespondersError,
  PayloadTooLargeError,
  TimeoutError,
  UnavailableError,
  ValidationError,
} from "../../packages/actors/src/errors.ts";
import { randomToken } from "../../packages/actors/src/ids.ts";
import type { LogFields, Logger } from "../../packages/actors/src/logger.ts";
import { type Envelope, MAX_ENVELOPE_BYTES } from "../../packages/actors/src/transport/envelope.ts";
import { decodeEnvelope, newEnvelope } from "../../packages/actors/src/transport/envelope-codec.ts";
import { RemoteError } from "../../packages/actors/src/transport/errors-wire.ts";
import { MemoryBus, type MemoryTransport } from "../../packages/actors/src/transport/memory-transport.ts";
import { NatsTransport } from "../../packages/actors/src/transport/nats-transport.ts";
import type { TransportOptions } from "../../packages/actors/src/transport/shared.ts";
import { newTraceparent } from "../../packages/actors/src/transport/traceparent.ts";
import type { ConnectionStatus, Handler, Transport } from "../../packages/actors/src/transport/transport.ts";
import { type NatsCluster, startNatsCluster } from "../harness/nats-cluster.ts";
import { type NatsServer, freePort, startNats } from "../harness/servers.ts";
import { waitFor } from "../harness/wait.ts";

// ---------------------------------------------------------------- helpers

/**
 * Returns `count` connected transports on one network (one bus, or one NATS
 * server); `opts(i)` gives the i-th its options (logger, onMessage).
 */
type Factory = (count: number, opts?: (index: number) => TransportOptions) => Promise<Transport[]>;

/** A subject prefix no other test uses (the NATS server is shared). */
const prefix = (): string => `t${randomToken(10)}`;

function env(body: unknown, extra: { target?: string; traceparent?: string; deadlineMs?: number } = {}): Envelope {
  return newEnvelope({ kind: "test.msg", from: "tester", deadlineMs: extra.deadlineMs ?? 30_000, body, ...extra });
}

/** A handler that records what it receives. */
function recorder(): { handler: Handler; got: Envelope[]; bodies: () => unknown[] } {
  const got: Envelope[] = [];
  return { handler: (e) => void got.push(e), got, bodies: () => got.map((e) => e.body) };
}

/** A promise the test resolves by hand (a gate for a slow handler). */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** Settles `p` and returns what it rejected with (fails if it resolved). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  );
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

interface LogLine {
  level: string;
  msg: string;
  fields: LogFields;
}

function captureLogger(lines: LogLine[] = [], bound: LogFields = {}): Logger & { lines: LogLine[] } {
  const at = (level: string) => (fields: LogFields, msg: string) => void lines.push({ level, msg, fields: { ...bound, ...fields } });
  return {
    lines,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (b) => captureLogger(lines, { ...bound, ...b }),
  };
}

/** The subscriptions made so far have reached the server (NATS SUB is asynchronous). */
const settled = (...ts: Transport[]) => Promise.all(ts.map((t) => t.flush()));

// ---------------------------------------------------------------- the contract

/**
 * Resolves once the subscriptions and unsubscriptions the given transports
 * made so far reach every publisher: a flush for one server or bus; on a
 * cluster the other nodes also have to hear of them over the routes.
 */
type Settle = (ts: Transport[]) => Promise<void>;

function transportContract(label: string, factory: Factory, settle: Settle = async (ts) => void (await settled(...ts))): void {
  describe(`Transport contract: ${label}`, () => {
    const settled = (...ts: Transport[]) => settle(ts);
    const opened: Transport[] = [];
    const open = async (count: number, opts?: (index: number) => TransportOptions): Promise<Transport[]> => {
      const ts = await factory(count, opts);
      opened.push(...ts);
      return ts;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((t) => t.close()));
    });

    it("starts connected", async () => {
      const [a] = await open(1);
      expect(a!.status()).toBe("connected");
    });

    it("publish reaches exact, `*` and `>` subscribers and nobody whose tokens do not match", async () => {
      const [pub, sub] = await open(2);
      const p = prefix();
      const exact = recorder();
      const star = recorder();
      const tail = recorder();
      const short = recorder();
      const all = recorder();
      sub!.subscribe(`${p}.a.b`, exact.handler);
      sub!.subscribe(`${p}.*.b`, star.handler);
      sub!.subscribe(`${p}.a.>`, tail.handler);
      sub!.subscribe(`${p}.a`, short.handler);
      sub!.subscribe(`${p}.>`, all.handler);
      await settled(sub!);
      const sends: Array<[string, number]> = [
        [`${p}.a.b`, 1],
        [`${p}.x.b`, 2],
        [`${p}.a.b.c.d`, 3],
        [`${p}.a`, 4],
        [`${p}.b.a`, 5],
        [`${p}x.a.b`, 6], // first token differs
        [`${p}.x.y.b`, 7], // `*` is exactly one token
        [`${p}.a.b`, 99], // the barrier
      ];
      for (const [subject, n] of sends) pub!.publish(subject, env(n));
      await waitFor(() => exact.got.length === 2, { message: "the barrier on the exact subscription" });
      expect(exact.bodies()).toEqual([1, 99]);
      expect(star.bodies()).toEqual([1, 2, 99]);
      expect(tail.bodies()).toEqual([1, 3, 99]);
      expect(short.bodies()).toEqual([4]);
      expect(all.bodies()).toEqual([1, 2, 3, 4, 5, 7, 99]);
    });

    it("one publisher's messages arrive in the order sent, whether sent in one tick or across many", async () => {
      const [pub, sub] = await open(2);
      const p = prefix();
      const got = recorder();
      sub!.subscribe(`${p}.seq`, got.handler);
      await settled(sub!);
      for (let i = 0; i < 120; i++) {
        pub!.publish(`${p}.seq`, env(i));
        // Some in the same tick, some after a microtask, some after an I/O round: sends queued for later must not overtake.
        if (i % 7 === 3) await Promise.resolve();
        if (i % 11 === 5) await new Promise<void>((r) => setImmediate(r));
      }
      await waitFor(() => got.got.length === 120, { message: "all 120 messages" });
      expect(got.bodies()).toEqual(Array.from({ length: 120 }, (_, i) => i));
    });

    it("a publisher's own subscriptions receive its messages too", async () => {
      const [a, b] = await open(2);
      const p = prefix();
      const onA = recorder();
      const onB = recorder();
      a!.subscribe(`${p}.x`, onA.handler);
      b!.subscribe(`${p}.x`, onB.handler);
      await settled(a!, b!);
      a!.publish(`${p}.x`, env("hi"));
      await waitFor(() => onA.got.length === 1 && onB.got.length === 1, { message: "both subscribers" });
    });

    it("envelope fields survive the trip intact (publish and request)", async () => {
      const [a, b] = await open(2);
      const p = prefix();
      const seen = recorder();
      b!.subscribe(`${p}.pub`, seen.handler);
      b!.subscribe(`${p}.req`, (e) => {
        seen.got.push(e);
        return { saw: e.id };
      });
      await settled(b!);
      const body = { text: "Ünïcödé 🐝", list: [1, 2.5, null, true], nested: { deep: { k: "v" } } };
      const sent = env(body, { target: "assistant/k-1", traceparent: newTraceparent(), deadlineMs: 12_345 });
      a!.publish(`${p}.pub`, sent);
      await waitFor(() => seen.got.length === 1);
      expect(seen.got[0]).toEqual(sent);
      const req = env(body, { target: "worker/w-9", traceparent: newTraceparent() });
      expect(await a!.request(`${p}.req`, req, 5_000)).toEqual({ saw: req.id });
      expect(seen.got[1]).toEqual(req);
      expect(seen.got[1]!.deadline).toBe(req.deadline);
      expect(seen.got[1]!.traceparent).toBe(req.traceparent);
      expect(seen.got[1]!.target).toBe("worker/w-9");
    });

    it("queue groups: each message to exactly one member of each group; plain subscribers get all", async () => {
      const [pub, q1, q2, q3, plain] = await open(5);
      const p = prefix();
      const subject = `${p}.work`;
      const members = [q1!, q2!, q3!].map((t) => {
        const r = recorder();
        t.subscribe(subject, r.handler, { queue: "workers" });
        return r;
      });
      const auditors = [q1!, plain!].map((t) => {
        const r = recorder();
        t.subscribe(subject, r.handler, { queue: "auditors" });
        return r;
      });
      const everyone = recorder();
      plain!.subscribe(subject, everyone.handler);
      const receivers = [q1!, q2!, q3!, plain!];
      const barriers = receivers.map((t) => {
        const r = recorder();
        t.subscribe(`${p}.barrier`, r.handler);
        return r;
      });
      await settled(...receivers);
      const N = 60;
      for (let n = 1; n <= N; n++) pub!.publish(subject, env(n));
      pub!.publish(`${p}.barrier`, env("end"));
      await waitFor(() => barriers.every((b) => b.got.length === 1), { message: "the barrier on every receiver" });

      const expected = Array.from({ length: N }, (_, i) => i + 1);
      const byWorkers = members.flatMap((m) => m.bodies() as number[]);
      expect(byWorkers.sort((x, y) => x - y)).toEqual(expected);
      // Load is spread: with 60 messages, a member left idle has odds of ~1e-10.
      for (const m of members) expect(m.got.length).toBeGreaterThan(0);
      expect(auditors.flatMap((m) => m.bodies() as number[]).sort((x, y) => x - y)).toEqual(expected);
      expect(everyone.bodies()).toEqual(expected);
    });

    it("a request to a queue group is answered by exactly one member", async () => {
      const [client, r1, r2] = await open(3);
      const p = prefix();
      const served = { r1: 0, r2: 0 };
      r1!.subscribe(`${p}.svc`, () => ++served.r1 && "r1", { queue: "svc" });
      r2!.subscribe(`${p}.svc`, () => ++served.r2 && "r2", { queue: "svc" });
      await settled(r1!, r2!);
      const answers = await Promise.all(Array.from({ length: 40 }, () => client!.request(`${p}.svc`, env(null), 5_000)));
      expect(served.r1 + served.r2).toBe(40);
      expect(answers.filter((a) => a === "r1").length).toBe(served.r1);
    });

    it("request/reply returns the handler's value, from sync and async handlers", async () => {
      const [client, server] = await open(2);
      const p = prefix();
      server!.subscribe(`${p}.sync`, (e) => ({ echo: e.body, kind: e.kind }));
      server!.subscribe(`${p}.async`, async (e) => {
        await new Promise((resolve) => setImmediate(resolve));
        await Promise.resolve();
        return { later: e.body };
      });
      server!.subscribe(`${p}.void`, () => undefined);
      await settled(server!);
      expect(await client!.request(`${p}.sync`, env({ q: 1 }), 5_000)).toEqual({ echo: { q: 1 }, kind: "test.msg" });
      expect(await client!.request(`${p}.async`, env([1, 2]), 5_000)).toEqual({ later: [1, 2] });
      expect(await client!.request(`${p}.void`, env(null), 5_000)).toBeUndefined();
    });

    it("a ColonyError thrown by the handler comes back as a ColonyError with its code, action and details", async () => {
      const [client, server] = await open(2);
      const p = prefix();
      server!.subscribe(`${p}.nothere`, () => {
        throw new AgentNotHereError("assistant/k-1", "host-b");
      });
      server!.subscribe(`${p}.busy`, async () => {
        await Promise.resolve();
        throw new UnavailableError("draining", { retryAfterMs: 1_500 });
      });
      await settled(server!);
      const e = await rejection(client!.request(`${p}.nothere`, env(null), 5_000));
      expect(e).toBeInstanceOf(ColonyError);
      expect(e).toBeInstanceOf(RemoteError);
      const ce = e as ColonyError;
      expect(ce.code).toBe("agent_not_here");
      expect(ce.action).toBe("reroute");
      expect(ce.details).toEqual({ agent: "assistant/k-1", host: "host-b" });
      expect(ce.message).toBe("assistant/k-1 is not active on host-b");
      const busy = (await rejection(client!.request(`${p}.busy`, env(null), 5_000))) as ColonyError;
      expect({ code: busy.code, action: busy.action, retryAfterMs: busy.retryAfterMs }).toEqual({
        code: "unavailable",
        action: "retryable",
        retryAfterMs: 1_500,
      });
    });

    it("a plain Error thrown by the handler comes back as code internal, and is logged by the responder", async () => {
      const logger = captureLogger();
      const [client, server] = await open(2, (i) => (i === 1 ? { logger } : {}));
      const p = prefix();
      server!.subscribe(`${p}.boom`, () => {
        throw new TypeError("x is undefined");
      });
      await settled(server!);
      const e = (await rejection(client!.request(`${p}.boom`, env(null), 5_000))) as ColonyError;
      expect(e).toBeInstanceOf(ColonyError);
      expect(e.code).toBe("internal");
      expect(e.action).toBe("terminal");
      expect(e.message).toBe("internal error: x is undefined");
      expect(logger.lines.some((l) => l.level === "error" && l.fields.err === "x is undefined")).toBe(true);
    });

    it("a handler failing on a publish is logged and the subscription keeps working", async () => {
      const logger = captureLogger();
      const [pub, sub] = await open(2, (i) => (i === 1 ? { logger } : {}));
      const p = prefix();
      const ok = recorder();
      sub!.subscribe(`${p}.x`, (e) => {
        if (e.body === "bad") throw new Error("cannot handle");
        ok.got.push(e);
      });
      await settled(sub!);
      pub!.publish(`${p}.x`, env("bad"));
      pub!.publish(`${p}.x`, env("good"));
      await waitFor(() => ok.got.length === 1);
      expect(logger.lines.some((l) => l.level === "error" && l.fields.err === "cannot handle")).toBe(true);
    });

    it("no responders: NoRespondersError well before the timeout", async () => {
      const [client] = await open(1);
      const p = prefix();
      const t0 = performance.now();
      const e = await rejection(client!.request(`${p}.nobody`, env(null), 5_000));
      const elapsed = performance.now() - t0;
      expect(e).toBeInstanceOf(NoRespondersError);
      expect((e as ColonyError).code).toBe("no_responders");
      expect((e as ColonyError).action).toBe("reroute");
      expect(elapsed).toBeLessThan(1_000);
    });

    it("a slow handler: TimeoutError after about timeoutMs, and the late reply harms nothing", async () => {
      const [client, server] = await open(2);
      const p = prefix();
      const slow = gate();
      let started = 0;
      server!.subscribe(`${p}.slow`, async () => {
        started++;
        await slow.wait;
        return "late";
      });
      server!.subscribe(`${p}.fast`, () => "fast");
      await settled(server!);
      const t0 = performance.now();
      const e = await rejection(client!.request(`${p}.slow`, env(null), 300));
      const elapsed = performance.now() - t0;
      expect(e).toBeInstanceOf(TimeoutError);
      expect((e as ColonyError).code).toBe("timeout");
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(2_000);
      expect(started).toBe(1);
      slow.open();
      expect(await client!.request(`${p}.fast`, env(null), 5_000)).toBe("fast");
    });

    it("an envelope over MAX_ENVELOPE_BYTES is rejected at the sender; an oversized reply comes back as an error", async () => {
      const [client, server] = await open(2);
      const p = prefix();
      const seen = recorder();
      server!.subscribe(`${p}.x`, (e) => {
        seen.got.push(e);
        return e.body === "big reply please" ? "y".repeat(MAX_ENVELOPE_BYTES) : "ok";
      });
      await settled(server!);
      const huge = env("x".repeat(MAX_ENVELOPE_BYTES));
      expect(thrown(() => client!.publish(`${p}.x`, huge))).toBeInstanceOf(PayloadTooLargeError);
      const e = await rejection(client!.request(`${p}.x`, huge, 5_000));
      expect(e).toBeInstanceOf(PayloadTooLargeError);
      expect((e as ColonyError).code).toBe("payload_too_large");
      expect(await client!.request(`${p}.x`, env("small"), 5_000)).toBe("ok");
      expect(seen.bodies()).toEqual(["small"]);
      const fromReply = (await rejection(client!.request(`${p}.x`, env("big reply please"), 5_000))) as ColonyError;
      expect(fromReply).toBeInstanceOf(ColonyError);
      expect(fromReply.code).toBe("payload_too_large");
    });

    it("invalid subjects and queue names are refused with a ValidationError", async () => {
      const [t] = await open(1);
      const noop = () => undefined;
      for (const subject of ["", "a..b", ".a", "a.", "a b", "a.*", "a.>", "a*.b"]) {
        expect(thrown(() => t!.publish(subject, env(null))), subject).toBeInstanceOf(ValidationError);
        expect(await rejection(t!.request(subject, env(null), 1_000)), subject).toBeInstanceOf(ValidationError);
      }
      for (const subject of ["", "a..b", "a.>.b", "a b", "a>"]) {
        expect(thrown(() => t!.subscribe(subject, noop)), subject).toBeInstanceOf(ValidationError);
      }
      expect(thrown(() => t!.subscribe("a.b", noop, { queue: "has space" }))).toBeInstanceOf(ValidationError);
      expect(await rejection(t!.request("a.b", env(null), 0))).toBeInstanceOf(ValidationError);
    });

    it("unsubscribe stops delivery (and makes a lone responder's subject answer no responders)", async () => {
      const [pub, sub] = await open(2);
      const p = prefix();
      const gone = recorder();
      const stays = recorder();
      const s = sub!.subscribe(`${p}.x`, gone.handler);
      sub!.subscribe(`${p}.x`, stays.handler);
      const responder = sub!.subscribe(`${p}.svc`, () => "here");
      await settled(sub!);
      pub!.publish(`${p}.x`, env(1));
      await waitFor(() => gone.got.length === 1 && stays.got.length === 1);
      expect(await pub!.request(`${p}.svc`, env(null), 5_000)).toBe("here");
      s.unsubscribe();
      responder.unsubscribe();
      await settled(sub!);
      pub!.publish(`${p}.x`, env(2));
      await waitFor(() => stays.got.length === 2);
      expect(gone.bodies()).toEqual([1]);
      expect(await rejection(pub!.request(`${p}.svc`, env(null), 5_000))).toBeInstanceOf(NoRespondersError);
      s.unsubscribe(); // idempotent
    });

    it("200 concurrent requests each get their own reply", async () => {
      const [client, r1, r2] = await open(3);
      const p = prefix();
      const handler =
        (who: string): Handler =>
        async (e) => {
          const { n } = e.body as { n: number };
          // Replies finish out of order.
          for (let i = 0; i < n % 7; i++) await new Promise((resolve) => setImmediate(resolve));
          return { n, square: n * n, who, id: e.id };
        };
      r1!.subscribe(`${p}.sq`, handler("r1"), { queue: "sq" });
      r2!.subscribe(`${p}.sq`, handler("r2"), { queue: "sq" });
      await settled(r1!, r2!);
      const envs = Array.from({ length: 200 }, (_, n) => env({ n }));
      const replies = (await Promise.all(envs.map((e) => client!.request(`${p}.sq`, e, 10_000)))) as Array<{ n: number; square: number; id: string }>;
      replies.forEach((r, n) => {
        expect(r.n).toBe(n);
        expect(r.square).toBe(n * n);
        expect(r.id).toBe(envs[n]!.id);
      });
    });

    it("counts every envelope in and out through onMessage", async () => {
      const counts = new Map<string, number>();
      const counter = (who: string) => (direction: "in" | "out") => counts.set(`${who}.${direction}`, (counts.get(`${who}.${direction}`) ?? 0) + 1);
      const [a, b, c] = await open(3, (i) => ({ onMessage: counter(["a", "b", "c"][i]!) }));
      const p = prefix();
      const onB = recorder();
      const onC = recorder();
      b!.subscribe(`${p}.ev`, onB.handler);
      c!.subscribe(`${p}.ev`, onC.handler);
      b!.subscribe(`${p}.req`, () => "r");
      await settled(b!, c!);
      a!.publish(`${p}.ev`, env(1));
      await waitFor(() => onB.got.length === 1 && onC.got.length === 1);
      expect(await a!.request(`${p}.req`, env(2), 5_000)).toBe("r");
      expect(Object.fromEntries(counts)).toEqual({ "a.out": 2, "a.in": 1, "b.in": 2, "b.out": 1, "c.in": 1 });
    });

    it("close() rejects the closer's pending requests at once and refuses new work", async () => {
      const [client, server] = await open(2);
      const p = prefix();
      const never = gate();
      server!.subscribe(`${p}.hang`, () => never.wait);
      await settled(server!);
      const statuses: ConnectionStatus[] = [];
      client!.onStatus((s) => statuses.push(s));
      const pending = rejection(client!.request(`${p}.hang`, env(null), 20_000));
      const t0 = performance.now();
      await client!.close();
      const e = await pending;
      expect(e).toBeInstanceOf(UnavailableError);
      expect(performance.now() - t0).toBeLessThan(5_000);
      expect(client!.status()).toBe("closed");
      expect(statuses).toEqual(["closed"]);
      expect(thrown(() => client!.publish(`${p}.x`, env(null)))).toBeInstanceOf(UnavailableError);
      expect(await rejection(client!.request(`${p}.hang`, env(null), 1_000))).toBeInstanceOf(UnavailableError);
      expect(thrown(() => client!.subscribe(`${p}.x`, () => undefined))).toBeInstanceOf(UnavailableError);
      await client!.close(); // idempotent
      never.open();
    });

    it("close() lets a running handler finish and reply, then its subjects have no responders", async () => {
      const [client, server] = await open(2);
      const p = prefix();
      const slow = gate();
      let started = false;
      server!.subscribe(`${p}.job`, async (e) => {
        started = true;
        await slow.wait;
        return { done: e.body };
      });
      await settled(server!);
      const reply = client!.request(`${p}.job`, env("task"), 10_000);
      await waitFor(() => started, { message: "the handler to start" });
      const closing = server!.close();
      slow.open();
      expect(await reply).toEqual({ done: "task" });
      await closing;
      expect(server!.status()).toBe("closed");
      // A cluster's other nodes learn of a closed connection over the routes, so "no responders" may take a moment;
      // until then a request can be forwarded to the closed subscriber's node and time out.
      const answer = async () => rejection(client!.request(`${p}.job`, env(null), 1_000));
      await waitFor(async () => (await answer()) instanceof NoRespondersError, { timeoutMs: 10_000, message: "no responders on the closed server's subject" });
    });
  });
}

// ---------------------------------------------------------------- in memory

const buses: MemoryBus[] = [];
transportContract("MemoryTransport", async (count, opts) => {
  const bus = new MemoryBus();
  buses.push(bus);
  return Array.from({ length: count }, (_, i) => bus.connect(`mem-${i}`, opts?.(i)));
});

describe("MemoryTransport only", () => {
  const bus = new MemoryBus();
  const opened: MemoryTransport[] = [];
  const connect = (name: string, opts?: TransportOptions) => {
    const t = bus.connect(name, opts);
    opened.push(t);
    return t;
  };
  afterEach(async () => {
    bus.endOutage();
    await Promise.all(opened.splice(0).map((t) => t.close()));
    expect(bus.subscriptionCount).toBe(0);
  });

  it("every contract bus was left without subscriptions", () => {
    expect(buses.length).toBeGreaterThan(0);
    for (const b of buses) expect(b.subscriptionCount).toBe(0);
  });

  it("delivers asynchronously, never inside publish()", async () => {
    const a = connect("a");
    const seen = recorder();
    a.subscribe("x.y", seen.handler);
    a.publish("x.y", env(1));
    expect(seen.got.length).toBe(0);
    await a.flush();
    expect(seen.got.length).toBe(1);
  });

  it("each subscriber decodes its own copy of the envelope", async () => {
    const [a, b] = [connect("a"), connect("b")];
    const one = recorder();
    const two = recorder();
    a.subscribe("copy.x", (e) => {
      (e.body as { list: number[] }).list.push(4);
      one.got.push(e);
    });
    b.subscribe("copy.x", two.handler);
    const sent = env({ list: [1, 2, 3] });
    a.publish("copy.x", sent);
    await waitFor(() => one.got.length === 1 && two.got.length === 1);
    expect(two.got[0]!.body).toEqual({ list: [1, 2, 3] });
    expect(sent.body).toEqual({ list: [1, 2, 3] });
  });

  it("a simulated disconnect: status and listeners flip, publishes drop, requests fail fast, its subscriptions go quiet", async () => {
    const host = connect("host");
    const peer = connect("peer");
    const statuses: ConnectionStatus[] = [];
    host.onStatus((s) => statuses.push(s));
    const atPeer = recorder();
    peer.subscribe("ev.x", atPeer.handler);
    host.subscribe("host.svc", () => "host here");
    peer.subscribe("peer.svc", () => "peer here");

    host.simulateDisconnect();
    expect(host.status()).toBe("disconnected");
    expect(peer.status()).toBe("connected");
    expect(statuses).toEqual(["disconnected"]);
    host.publish("ev.x", env("lost"));
    const e = await rejection(host.request("peer.svc", env(null), 5_000));
    expect(e).toBeInstanceOf(UnavailableError);
    expect((e as ColonyError).action).toBe("retryable");
    expect(await rejection(peer.request("host.svc", env(null), 5_000))).toBeInstanceOf(NoRespondersError);

    host.simulateReconnect();
    expect(host.status()).toBe("connected");
    expect(statuses).toEqual(["disconnected", "connected"]);
    host.publish("ev.x", env("after"));
    await waitFor(() => atPeer.got.length === 1);
    expect(atPeer.bodies()).toEqual(["after"]);
    expect(await peer.request("host.svc", env(null), 5_000)).toBe("host here");
    expect(await host.request("peer.svc", env(null), 5_000)).toBe("peer here");
  });

  it("a reply sent while the requester is cut off is lost: the request times out", async () => {
    const client = connect("client");
    const server = connect("server");
    const slow = gate();
    let started = false;
    server.subscribe("svc", async () => {
      started = true;
      await slow.wait;
      return "late";
    });
    const pending = rejection(client.request("svc", env(null), 300));
    await waitFor(() => started);
    client.simulateDisconnect();
    slow.open();
    expect(await pending).toBeInstanceOf(TimeoutError);
  });

  it("a bus outage disconnects every transport until it ends; subscriptions survive it", async () => {
    const a = connect("a");
    const b = connect("b");
    const seen: string[] = [];
    a.onStatus((s) => seen.push(`a:${s}`));
    b.onStatus((s) => seen.push(`b:${s}`));
    b.subscribe("svc", () => "ok");
    b.simulateDisconnect();
    bus.simulateOutage();
    expect(bus.isDown).toBe(true);
    expect([a.status(), b.status()]).toEqual(["disconnected", "disconnected"]);
    expect(await rejection(a.request("svc", env(null), 1_000))).toBeInstanceOf(UnavailableError);
    const late = connect("late");
    expect(late.status()).toBe("disconnected");
    bus.endOutage();
    // b is still cut off on its own.
    expect([a.status(), b.status(), late.status()]).toEqual(["connected", "disconnected", "connected"]);
    expect(await rejection(a.request("svc", env(null), 1_000))).toBeInstanceOf(NoRespondersError);
    b.simulateReconnect();
    expect(await a.request("svc", env(null), 1_000)).toBe("ok");
    expect(seen).toEqual(["b:disconnected", "a:disconnected", "a:connected", "b:connected"]);
  });

  it("closes cleanly while disconnected", async () => {
    const a = connect("a");
    a.subscribe("x", () => undefined);
    bus.simulateOutage();
    await a.close();
    expect(a.status()).toBe("closed");
    bus.endOutage();
    expect(a.status()).toBe("closed");
  });
});

// ---------------------------------------------------------------- over NATS

let nats: NatsServer | undefined;
beforeAll(async () => {
  nats = await startNats();
});
afterAll(async () => {
  await nats?.stop();
});

transportContract("NatsTransport", async (count, opts) =>
  Promise.all(Array.from({ length: count }, (_, i) => NatsTransport.connect({ servers: nats!.url, name: `nats-${i}`, ...opts?.(i) }))),
);

describe("NatsTransport only", () => {
  it("answers raw garbage with an error envelope and keeps serving", async () => {
    const logger = captureLogger();
    const t = await NatsTransport.connect({ servers: nats!.url, name: "garbage-test", logger });
    const raw = await natsConnect({ servers: nats!.url });
    try {
      const p = prefix();
      const ok = recorder();
      t.subscribe(`${p}.x`, ok.handler);
      t.subscribe(`${p}.svc`, () => "fine");
      await t.flush();
      raw.publish(`${p}.x`, new TextEncoder().encode("not msgpack at all"));
      const answer = await raw.request(`${p}.svc`, new Uint8Array([0x92, 0x01]), { timeout: 5_000 });
      const errEnv = decodeEnvelope(answer.data);
      expect(errEnv.kind).toBe("error");
      expect(errEnv.from).toBe("garbage-test");
      expect(errEnv.body).toMatchObject({ code: "validation_failed", action: "terminal" });
      await waitFor(() => logger.lines.filter((l) => l.msg === "dropped an invalid inbound envelope").length === 2);
      const client = await NatsTransport.connect({ servers: nats!.url, name: "garbage-client" });
      try {
        expect(await client.request(`${p}.svc`, env(null), 5_000)).toBe("fine");
      } finally {
        await client.close();
      }
    } finally {
      await raw.close();
      await t.close();
    }
  });

  it("fails with UnavailableError when no server answers and waitOnFirstConnect is off", async () => {
    const port = await freePort();
    const e = await rejection(NatsTransport.connect({ servers: `nats://127.0.0.1:${port}`, name: "nobody", waitOnFirstConnect: false }));
    expect(e).toBeInstanceOf(UnavailableError);
  });

  it("rides out a nats-server kill and restart: status goes disconnected then connected, subscriptions and requests work again", async () => {
    const server = await startNats({ useEnv: false });
    const transports: NatsTransport[] = [];
    try {
      const a = await NatsTransport.connect({ servers: server.url, name: "restart-a" });
      const b = await NatsTransport.connect({ servers: server.url, name: "restart-b" });
      transports.push(a, b);
      const statusA: ConnectionStatus[] = [];
      const statusB: ConnectionStatus[] = [];
      a.onStatus((s) => statusA.push(s));
      b.onStatus((s) => statusB.push(s));
      const events = recorder();
      b.subscribe("restart.ev", events.handler);
      b.subscribe("restart.svc", (e) => ({ echo: e.body }));
      await b.flush();
      expect(await a.request("restart.svc", env(0), 5_000)).toEqual({ echo: 0 });

      await server.kill();
      await waitFor(() => a.status() === "disconnected" && b.status() === "disconnected", { message: "both to see the outage" });
      expect(statusA).toEqual(["disconnected"]);
      expect(statusB).toEqual(["disconnected"]);
      // During the outage a request fails fast and retryably instead of waiting out its timeout.
      const t0 = performance.now();
      const e = await rejection(a.request("restart.svc", env(1), 10_000));
      expect(e).toBeInstanceOf(UnavailableError);
      expect(performance.now() - t0).toBeLessThan(1_000);
      await expect(a.flush()).rejects.toBeInstanceOf(UnavailableError);

      await server.restart();
      await waitFor(() => a.status() === "connected" && b.status() === "connected", { timeoutMs: 10_000, message: "both to reconnect" });
      expect(statusA).toEqual(["disconnected", "connected"]);
      expect(statusB).toEqual(["disconnected", "connected"]);
      // b resends its subscriptions on reconnect; a may be back first, so the first tries can find no responders.
      const answer = await waitFor(() => a.request("restart.svc", env(2), 1_000), { timeoutMs: 10_000, message: "a request to succeed after the restart" });
      expect(answer).toEqual({ echo: 2 });
      a.publish("restart.ev", env("after"));
      await waitFor(() => events.got.length >= 1, { message: "the subscription to receive again" });
      expect(events.bodies()).toContain("after");

      // Closing while the server is down is bounded and clean.
      await server.kill();
      await waitFor(() => a.status() === "disconnected" && b.status() === "disconnected");
      const t1 = performance.now();
      await Promise.all([a.close(), b.close()]);
      expect(performance.now() - t1).toBeLessThan(3_000);
      expect([a.status(), b.status()]).toEqual(["closed", "closed"]);
      expect(statusA.at(-1)).toBe("closed");
    } finally {
      await Promise.all(transports.map((t) => t.close()));
      await server.stop();
    }
  });
});

// ---------------------------------------------------------------- over a NATS cluster

let cluster: NatsCluster | undefined;
/** One plain connection per node, for the route barrier. */
let probes: NatsConnection[] = [];
beforeAll(async () => {
  cluster = await startNatsCluster();
  probes = await Promise.all(cluster.nodes.map((n) => natsConnect({ servers: n.url, name: `probe-${n.index}` })));
});
afterAll(async () => {
  await Promise.all(probes.map((p) => p.close()));
  await cluster?.stop();
});

/**
 * Transport 0 (the publisher or the client in every contract test) has node 0
 * to itself; the others take turns on the remaining nodes, so every message
 * crosses a route. (NATS hands a queue group's message to a member on the
 * publisher's own node when there is one; with none there, members on every
 * node share the load, which is what the contract's queue test checks.)
 */
const nodeOf = (i: number, size: number): number => (i === 0 ? 0 : 1 + ((i - 1) % (size - 1)));

/**
 * Waits until every node knows of the (un)subscriptions already made: each
 * node gets a fresh subscription after them, and interest travels a route in
 * order, so once every other node can reach that subscription it knows of
 * the earlier ones too.
 */
async function routesCaughtUp(ts: Transport[]): Promise<void> {
  await Promise.all(ts.map((t) => t.flush()));
  const token = randomToken(10);
  const subs = probes.map((p, k) => p.subscribe(`barrier.${token}.${k}`, { callback: (_e, m) => void m.respond(Empty) }));
  try {
    await Promise.all(probes.map((p) => p.flush()));
    await Promise.all(
      probes.flatMap((from, j) =>
        probes.map(async (_to, k) => {
          if (j === k) return;
          await waitFor(() => from.request(`barrier.${token}.${k}`, Empty, { timeout: 1_000 }), { timeoutMs: 10_000, message: `node-${j} to route to node-${k}` });
        }),
      ),
    );
  } finally {
    for (const s of subs) s.unsubscribe();
  }
}

transportContract(
  "NatsTransport on a 3-node NATS cluster",
  async (count, opts) =>
    Promise.all(
      Array.from({ length: count }, (_, i) =>
        NatsTransport.connect({ servers: cluster!.nodes[nodeOf(i, cluster!.nodes.length)]!.url, name: `cluster-${i}`, ...opts?.(i) }),
      ),
    ),
  routesCaughtUp,
);

describe("NatsTransport on a NATS cluster only", () => {
  it("moves to another node when its server dies: plain and queue subscriptions, its request inbox and an in-flight reply all work again, and the switch is logged", async () => {
    const c = await startNatsCluster();
    const transports: NatsTransport[] = [];
    try {
      const logger = captureLogger();
      // b is given node 0 only: it finds the others from the cluster's gossip.
      const b = await NatsTransport.connect({ servers: c.nodes[0]!.url, name: "mover", logger });
      const a = await NatsTransport.connect({ servers: c.url([1, 2]), name: "stayer" });
      transports.push(a, b);
      const events = recorder();
      const slow = gate();
      b.subscribe("mv.ev", events.handler);
      b.subscribe("mv.svc", (e) => ({ echo: e.body }), { queue: "svc" });
      let slowRunning = false;
      b.subscribe("mv.slow", async () => {
        slowRunning = true;
        await slow.wait;
        return "late but here";
      });
      a.subscribe("mv.back", () => "from a");
      await b.flush();
      await waitFor(() => a.request("mv.svc", env(0), 1_000), { timeoutMs: 10_000, message: "node 0's subscriptions to reach a's node" });
      // Generous: on a loaded machine the kill, the reconnection and the handler can take most of 20 s.
      const inFlight = a.request("mv.slow", env(null), 60_000);
      // The request must have reached b's handler before its node dies: a request still on its way is lost with the node (at most once).
      await waitFor(() => slowRunning && events.got.length === 0 && b.status() === "connected", { timeoutMs: 10_000, message: "the slow request to reach b" });

      await c.kill(0);
      await waitFor(() => b.status() === "connected" && b.server() !== `127.0.0.1:${c.nodes[0]!.port}`, { timeoutMs: 10_000, message: "b on another node" });
      // The handler answers after the move: its reply (published on the new node) reaches a.
      slow.open();
      expect(await inFlight).toBe("late but here");
      expect(await waitFor(() => a.request("mv.svc", env(1), 1_000), { timeoutMs: 10_000, message: "the queue subscription back" })).toEqual({ echo: 1 });
      await waitFor(() => (a.publish("mv.ev", env("again")), events.got.length > 0), { timeoutMs: 10_000, intervalMs: 100, message: "the plain subscription back" });
      expect(await b.request("mv.back", env(null), 5_000)).toBe("from a");
      const moved = logger.lines.find((l) => l.msg === "NATS switched to another server");
      expect(moved?.fields).toMatchObject({ previous: `127.0.0.1:${c.nodes[0]!.port}`, server: b.server() });
      expect(logger.lines.some((l) => l.msg === "NATS connection lost; reconnecting" && l.fields.server === `127.0.0.1:${c.nodes[0]!.port}`)).toBe(true);
      expect(a.status()).toBe("connected");

      // The node comes back and takes part again; b stays where it is.
      await c.restart(0);
      const back = await NatsTransport.connect({ servers: c.nodes[0]!.url, name: "on-restarted" });
      transports.push(back);
      expect(await waitFor(() => back.request("mv.svc", env(2), 1_000), { timeoutMs: 10_000 })).toEqual({ echo: 2 });
    } finally {
      await Promise.all(transports.map((t) => t.close()));
      await c.stop();
    }
    // Three servers, a kill, a restart and seven waits of up to 10 s each: a loaded machine needs more than the default 20 s.
  }, 90_000);
});
