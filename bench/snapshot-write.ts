import { Redis } from "ioredis";
import type { AgentState, LogCursor } from "@colony/actors";
import { AgentStore, RedisStoreDriver, agentId, codec, initialState, resolveConfig } from "@colony/actors";
import type { Row } from "./stats.ts";
import { fmt, latency, timeUs } from "./stats.ts";
import { claim } from "@colony/actors/testing";

const TEXT = "lorem ipsum dolor sit amet ".repeat(19); // ~500 characters, ~128 tokens

/** A context of about `tokens` tokens (characters / 4): exchanges of ~500-character messages. */
function stateOf(key: string, tokens: number): AgentState {
  const id = agentId("assistant" as never, key as never);
  const s = initialState(id, "assistant" as never, key as never, resolveConfig({}, {}), Date.now());
  for (let i = 0; s.messages.length * 128 < tokens; i++) {
    s.messages.push({ role: "user", content: [{ type: "text", text: `${i} ${TEXT}` }] });
    s.messages.push({ role: "assistant", content: [{ type: "text", text: `${i} ${TEXT}` }] });
  }
  s.turns = s.messages.length / 2;
  return s;
}

/** One more exchange, as a turn adds it (new message objects, the old ones untouched). */
function nextTurn(s: AgentState): AgentState {
  const n = s.turns;
  return {
    ...s,
    turns: n + 1,
    messages: [...s.messages, { role: "user", content: [{ type: "text", text: `${n} ${TEXT}` }] }, { role: "assistant", content: [{ type: "text", text: `${n} ${TEXT}` }] }],
  };
}

/**
 * Checkpoints as a turn writes them (the head and the turn's new messages,
 * fenced, in one Lua script) for a 1k-token and a 100k-token context, next
 * to a raw ioredis SET of 1 KB; and an activation's load of the 100k-token
 * agent next to a raw GET of the same number of bytes. The goal: a
 * checkpoint costs the same whatever the context's size.
 */
export async function snapshotWrite(redisUrl: string, opts: { iterations: number }): Promise<Row[]> {
  const redis = new Redis(redisUrl);
  const raw = new Redis(redisUrl);
  const store = new AgentStore(new RedisStoreDriver(redis));
  const rows: Row[] = [];
  const oneKb = Buffer.alloc(1024, 1);
  const p50: Record<number, number> = {};
  try {
    for (const tokens of [1_000, 100_000]) {
      const colony: number[] = [];
      const baseline: number[] = [];
      // A fresh agent every 20 turns keeps the context near its nominal size.
      for (let block = 0; block * 20 < opts.iterations; block++) {
        let state = stateOf(`snapbench${tokens}x${block}`, tokens);
        await store.driver.delete(state.id);
        await store.create({ ...state, messages: [] });
        const epoch = await claim(store, state.id);
        const cursor: LogCursor = { count: -1 };
        await store.commit(state.id, epoch, state, { log: cursor }); // the whole log, once
        for (let i = 0; i < 20; i++) {
          state = nextTurn(state);
          const s = state;
          // Interleaved, so drift on a noisy machine hits both sides alike.
          colony.push(await timeUs(() => store.commit(s.id, epoch, s, { log: cursor })));
          baseline.push(await timeUs(() => raw.set("colony:bench:raw", oneKb)));
        }
        if (tokens === 100_000 && block === 0) {
          const bytes = Buffer.concat([codec.encodeState(state).head, ...codec.encodeState(state).log]);
          await raw.set("colony:bench:raw", bytes);
          const loads: number[] = [];
          const gets: number[] = [];
          for (let i = 0; i < Math.max(50, opts.iterations / 10); i++) {
            loads.push(await timeUs(() => store.load(state.id)));
            gets.push(await timeUs(() => raw.getBuffer("colony:bench:raw")));
          }
          // What every checkpoint cost before the log: the whole conversation rewritten.
          const whole: number[] = [];
          for (let i = 0; i < 30; i++) whole.push(await timeUs(() => store.commit(state.id, epoch, state)));
          const w = latency(whole);
          rows.push({ what: "whole-snapshot rewrite, 100k-token context, p50 (every checkpoint before the log)", colony: `${fmt(w.p50)} µs`, baseline: "", ratio: "" });
          const l = latency(loads);
          const g = latency(gets);
          const size = `${(bytes.length / 1024).toFixed(0)} KB`;
          rows.push({ what: `activation load, 100k-token agent (${size}), p50`, colony: `${fmt(l.p50 / 1000, 2)} ms`, baseline: `${fmt(g.p50 / 1000, 2)} ms GET`, ratio: `${fmt(l.p50 / g.p50, 1)}×` });
          rows.push({ what: `activation load, 100k-token agent (${size}), p99`, colony: `${fmt(l.p99 / 1000, 2)} ms`, baseline: `${fmt(g.p99 / 1000, 2)} ms GET`, ratio: `${fmt(l.p99 / g.p99, 1)}×` });
        }
        await store.delete(state.id);
      }
      const c = latency(colony);
      const b = latency(baseline);
      p50[tokens] = c.p50;
      rows.push({ what: `checkpoint write p50, ${tokens / 1000}k-token context`, colony: `${fmt(c.p50)} µs`, baseline: `${fmt(b.p50)} µs SET 1 KB`, ratio: `${fmt(c.p50 / b.p50, 2)}×` });
      rows.push({ what: `checkpoint write p99, ${tokens / 1000}k-token context`, colony: `${fmt(c.p99)} µs`, baseline: `${fmt(b.p99)} µs SET 1 KB`, ratio: `${fmt(c.p99 / b.p99, 2)}×` });
    }
    rows.push({ what: "checkpoint p50: 100k-token context / 1k-token context", colony: `${fmt(p50[100_000]! / p50[1_000]!, 2)}×`, baseline: "goal ≤ 2×", ratio: "" });
  } finally {
    await raw.del("colony:bench:raw");
    await store.close();
    raw.disconnect();
  }
  return rows;
}

