import { http, startColony } from "../test/harness/colony-process.ts";
import { KeepAliveClient } from "./http-client.ts";
import { warmUpThrough } from "./warm-up.ts";
import type { Row } from "./stats.ts";
import { fmt, latency, timeUs } from "./stats.ts";

/**
 * `colony dev` (directory and host in one process, in-memory bus and store,
 * scripted model) over HTTP: sequential sends with wait (the turn's reply in
 * the answer) next to a bare GET /healthz through the same keep-alive
 * client, interleaved one for one so the machine's load weighs on both
 * alike, after `warmup` messages 16 at a time (see warmUpThrough). `bin`: another
 * checkout's colony bin (A/B against a base tree).
 */
export async function devHttpRows(opts: { messages: number; warmup: number; bin?: string }): Promise<Row[]> {
  await using dev = await startColony(["dev"], {}, 60_000, [], opts.bin ? { bin: opts.bin } : {});
  await warmUpThrough(dev.url, opts.warmup);
  const client = new KeepAliveClient(dev.url);
  const sends: number[] = [];
  const floor: number[] = [];
  const warmup = 100;
  for (let i = 0; i < opts.messages + warmup; i++) {
    // A fresh agent every 50 messages, as the cluster RTT: contexts of 0–100 messages.
    const key = `dev${Math.floor(i / 50)}`;
    if (i % 50 === 0) await http(dev.url, "POST", "/v1/agents", { type: "assistant", key });
    const send = () =>
      timeUs(async () => {
        const res = await client.send("POST", `/v1/agents/assistant/${key}/messages`, { content: `ping ${i}` });
        if (res.status !== 200) throw new Error(`dev bench message failed: ${res.status} ${res.text}`);
      });
    const health = () => timeUs(() => client.send("GET", "/healthz"));
    // Alternating which goes first, so neither always follows the other.
    const [sent, h] = i % 2 ? [await send(), await health()] : [await health(), await send()].reverse();
    if (i < warmup) continue;
    sends.push(sent!);
    floor.push(h!);
  }
  client.close();
  const s = latency(sends);
  const h = latency(floor);
  return [
    { what: "colony dev: send with wait over HTTP, sequential, p50 (one process, memory store)", colony: `${fmt(s.p50)} µs`, baseline: `${fmt(h.p50)} µs GET /healthz`, ratio: `${fmt(s.p50 / h.p50, 2)}×` },
    { what: "colony dev: send with wait over HTTP, sequential, p99", colony: `${fmt(s.p99)} µs`, baseline: `${fmt(h.p99)} µs GET /healthz`, ratio: `${fmt(s.p99 / h.p99, 2)}×` },
  ];
}
