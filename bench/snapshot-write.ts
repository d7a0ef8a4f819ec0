import { Redis } from "ioredis";
import type { AgentState } from "@colony/actors";
import { AgentStore, RedisStoreDriver, agentId, codec, initialState, resolveConfig } from "@colony/actors";
import type { Row } from "./stats.ts";
import { fmt, latency, timeUs } from "./stats.ts";

/** A realistic context: `turns` exchanges of ~500-character messages. */
function stateOf(turns: number): AgentState {
  const id = agentId("assistant" as never, `snapbench${turns}` as never);
  const s = initialState(id, "assistant" as never, `snapbench${turns}` as never, resolveConfig({}, {}), Date.now());
  const text = "lorem ipsum dolor sit amet ".repeat(19);
  for (let i = 0; i < turns; i++) {
    s.messages.push({ role: "user", content: [{ type: "text", text: `${i} ${text}` }] });
    s.messages.push({ role: "assistant", content: [{ type: "text", text: `${i} ${text}` }] });
  }
  s.turns = turns;
  return s;
}

/**
 * Fenced snapshot commit (encode + Lua script) against a raw ioredis SET of
 * the very same bytes, sequential, same server, same run.
 */
export async function snapshotWrite(redisUrl: string, opts: { iterations: number }): Promise<Row[]> {
  const redis = new Redis(redisUrl);
  const raw = new Redis(redisUrl);
  const store = new AgentStore(new RedisStoreDriver(redis));
  const rows: Row[] = [];
  try {
    for (const turns of [4, 25]) {
      const state = stateOf(turns);
      const bytes = Buffer.from(codec.encodeState(state));
      await store.driver.delete(state.id);
      await store.create(state);
      const epoch = await store.claim(state.id);
      const colony: number[] = [];
      const baseline: number[] = [];
      for (let i = 0; i < opts.iterations; i++) {
        // Interleaved, so drift on a noisy machine hits both sides alike.
        colony.push(await timeUs(() => store.commit(state.id, epoch, state)));
        baseline.push(await timeUs(() => raw.set("colony:bench:raw", bytes)));
      }
      const c = latency(colony.slice(opts.iterations / 10));
      const b = latency(baseline.slice(opts.iterations / 10));
      const size = `${(bytes.length / 1024).toFixed(1)} KB`;
      rows.push({ what: `snapshot write p50, ${size}`, colony: `${fmt(c.p50)} µs`, baseline: `${fmt(b.p50)} µs SET`, ratio: `${fmt(c.p50 / b.p50, 2)}×` });
      rows.push({ what: `snapshot write p99, ${size}`, colony: `${fmt(c.p99)} µs`, baseline: `${fmt(b.p99)} µs SET`, ratio: `${fmt(c.p99 / b.p99, 2)}×` });
      await store.delete(state.id);
    }
  } finally {
    await raw.del("colony:bench:raw");
    await store.close();
    raw.disconnect();
  }
  return rows;
}
