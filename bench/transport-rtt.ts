import { connect } from "nats";
import { NatsTransport, encodeEnvelope, newEnvelope, newTraceparent, randomToken } from "@colony/actors";
import type { Row } from "./stats.ts";
import { fmt, latency, timeUs } from "./stats.ts";

const TIMEOUT_MS = 5_000;

/**
 * Sequential request/reply round trip through NatsTransport (envelope
 * validated and msgpack-encoded, handler run, reply envelope encoded, both
 * decoded and validated) against raw nats.js request/reply of the very same
 * bytes, echoed by a raw responder. Two connections each side, one process,
 * same server, same run; both raw connections use `noAsyncTraces: true`
 * like the transport, so the ratio is Colony's own overhead.
 */
export async function transportRtt(natsUrl: string, opts: { iterations: number }): Promise<Row[]> {
  const responder = await NatsTransport.connect({ servers: natsUrl, name: "bench-responder" });
  const client = await NatsTransport.connect({ servers: natsUrl, name: "bench-client" });
  const rawResponder = await connect({ servers: natsUrl, noAsyncTraces: true });
  const rawClient = await connect({ servers: natsUrl, noAsyncTraces: true });
  const rows: Row[] = [];
  try {
    const subject = `bench.rtt.${randomToken(8)}`;
    const rawSubject = `bench.raw.${randomToken(8)}`;
    responder.subscribe(subject, (env) => env.body);
    rawResponder.subscribe(rawSubject, { callback: (_err, msg) => msg.respond(msg.data) });
    await Promise.all([responder.flush(), rawResponder.flush()]);

    for (const chars of [120, 4_000]) {
      const env = newEnvelope({
        kind: "agent.send",
        from: "bench-client",
        target: "assistant/bench",
        traceparent: newTraceparent(),
        deadlineMs: 60_000,
        body: { content: "lorem ipsum dolor sit amet ".repeat(Math.ceil(chars / 27)).slice(0, chars), wait: true },
      });
      const bytes = encodeEnvelope(env);
      const warmup = Math.max(200, Math.floor(opts.iterations / 10));
      const colony: number[] = [];
      const baseline: number[] = [];
      for (let i = 0; i < warmup + opts.iterations; i++) {
        // Interleaved, so drift on a noisy machine hits both sides alike.
        const c = await timeUs(() => client.request(subject, env, TIMEOUT_MS));
        const b = await timeUs(() => rawClient.request(rawSubject, bytes, { timeout: TIMEOUT_MS }));
        if (i >= warmup) {
          colony.push(c);
          baseline.push(b);
        }
      }
      const c = latency(colony);
      const b = latency(baseline);
      const size = `${bytes.length} B envelope`;
      rows.push({ what: `request RTT p50, ${size}`, colony: `${fmt(c.p50)} µs`, baseline: `${fmt(b.p50)} µs raw`, ratio: `${fmt(c.p50 / b.p50, 2)}×` });
      rows.push({ what: `request RTT p99, ${size}`, colony: `${fmt(c.p99)} µs`, baseline: `${fmt(b.p99)} µs raw`, ratio: `${fmt(c.p99 / b.p99, 2)}×` });
    }
  } finally {
    await Promise.all([client.close(), responder.close()]);
    await Promise.all([rawClient.close(), rawResponder.close()]);
  }
  return rows;
}
