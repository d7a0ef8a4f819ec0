import { Packr, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { AgentTypeRegistry } from "../src/agent/define.ts";
import type { AgentState, InboxMessage, TurnResult } from "../src/agent/state.ts";
import { initialState } from "../src/agent/state.ts";
import { CorruptSnapshotError } from "../src/errors.ts";
import { newMessageId, parseAgentId, splitAgentId } from "../src/ids.ts";
import { SNAPSHOT_VERSION, codec } from "../src/snapshot/codec.ts";

const packr = new Packr({ useRecords: false, moreTypes: false });

function realisticState(): AgentState {
  const id = parseAgentId("assistant/k-1");
  const { type, key } = splitAgentId(id);
  const config = new AgentTypeRegistry().resolve("assistant", {
    systemPrompt: "You are terse. Ünïcödé and emoji 🐝 survive.",
    tools: ["remember", "recall", "delegate"],
    idleMs: 30_000,
    limits: { maxIterationsPerTurn: 4, maxTokensPerTurn: 8_000, tokenBudget: 1_000_000, costBudgetUsd: 2.5 },
    workers: { researcher: { systemPrompt: "Dig.", model: "claude-haiku-4-5", tools: ["recall"], limits: { maxIterationsPerTurn: 2 } } },
  });
  const state = initialState(id, type, key, config, 1_700_000_000_000, parseAgentId("supervisor/root"));
  const m1 = newMessageId();
  state.messages.push(
    { role: "user", content: [{ type: "text", text: "remember color = blue" }] },
    {
      role: "assistant",
      content: [
        { type: "text", text: "Storing it." },
        { type: "tool_use", id: "toolu_01", name: "remember", input: { key: "color", value: "blue", nested: { n: [1, 2.5, -3], ok: true, none: null } } },
      ],
    },
    { role: "user", content: [{ type: "tool_result", toolUseId: "toolu_01", content: '{"stored":"color"}', isError: false }] },
    { role: "assistant", content: [{ type: "text", text: "I will remember that color is blue." }] },
    { role: "user", content: [{ type: "text", text: "delegate this" }] },
    { role: "assistant", content: [{ type: "tool_use", id: "toolu_02", name: "delegate", input: "not even an object" }] },
    { role: "user", content: [{ type: "tool_result", toolUseId: "toolu_02", content: "worker timed out", isError: true }] },
  );
  state.memory = { color: "blue", "multi word key": "x".repeat(10_000), empty: "" };
  state.usage = { inputTokens: 12_345, outputTokens: 678, cacheReadTokens: 90, cacheWriteTokens: 12, costUsd: 0.123456789 };
  state.turns = 1;
  state.lastSeq = 1;
  state.status = "running";
  state.turn = {
    messageId: m1,
    seq: 2,
    startIndex: 4,
    startedAt: 1_700_000_001_000,
    iterations: 1,
    usage: { inputTokens: 300, outputTokens: 20, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0.0009 },
    awaiting: [{ callId: "toolu_03", tool: "charge", input: { amount: 5 }, requestedAt: 1_700_000_001_500, deadline: 1_700_003_601_500 }],
    decisions: { toolu_01: { approve: true, by: "operator", at: 1_700_000_001_200, reason: "fine" } },
  };
  state.children = ["researcher/c1", "researcher/c2"];
  state.updatedAt = 1_700_000_002_000;
  return state;
}

function corrupt(fn: () => unknown): CorruptSnapshotError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CorruptSnapshotError);
    const err = e as CorruptSnapshotError;
    expect(err.code).toBe("corrupt_snapshot");
    return err;
  }
  throw new Error("expected a CorruptSnapshotError, but decoding succeeded");
}

describe("snapshot codec: round trips", () => {
  it("round-trips a realistic agent state: tool_use/tool_result, memory, usage, an in-flight turn", () => {
    const state = realisticState();
    const { head, log } = codec.encodeState(state);
    expect(head).toBeInstanceOf(Uint8Array);
    expect(log).toHaveLength(state.messages.length);
    expect(codec.decodeState(head, log)).toStrictEqual(state);
  });

  it("encodes only the messages from `from` on, and a stored log plus those reads back the whole state", () => {
    const state = realisticState();
    const before = codec.encodeState({ ...state, messages: state.messages.slice(0, 3) });
    const after = codec.encodeState(state, 3);
    expect(after.log).toHaveLength(state.messages.length - 3);
    expect(codec.decodeState(after.head, [...before.log, ...after.log])).toStrictEqual(state);
  });

  it("still reads a version 1 snapshot, which held the whole conversation, and says so", () => {
    const state = realisticState();
    const v1 = packr.pack({ v: 1, k: "snapshot", b: state });
    expect(codec.decodeStored(v1, [])).toStrictEqual({ state, whole: true });
    expect(codec.decodeStored(codec.encodeState(state).head, codec.encodeState(state).log).whole).toBe(false);
  });

  it("reads a head alone, without its log: everything but the conversation, and how long it is", () => {
    const state = realisticState();
    const { messages, ...rest } = state;
    expect(codec.decodeHead(codec.encodeState(state).head)).toStrictEqual({ ...rest, messageCount: messages.length });
    expect(codec.decodeHead(packr.pack({ v: 1, k: "snapshot", b: state }))).toStrictEqual({ ...rest, messageCount: messages.length });
  });

  it("refuses a head whose message count the log does not match", () => {
    const { head, log } = codec.encodeState(realisticState());
    expect(corrupt(() => codec.decodeState(head, log.slice(1))).message).toMatch(/head expects 7 messages; the log holds 6/);
    expect(corrupt(() => codec.decodeState(head, [...log, log[0]!])).message).toMatch(/the log holds 8/);
  });

  it("round-trips a fresh state (no turn, no parent, empty memory)", () => {
    const id = parseAgentId("assistant/fresh");
    const { type, key } = splitAgentId(id);
    const state = initialState(id, type, key, new AgentTypeRegistry().resolve("assistant", undefined), 5);
    const { head, log } = codec.encodeState(state);
    expect(log).toEqual([]);
    expect(codec.decodeState(head, log)).toStrictEqual(state);
  });

  it("round-trips inbox messages with and without an idempotency key", () => {
    const plain: InboxMessage = { messageId: newMessageId(), content: "hello 🐝\nworld", acceptedAt: 1_700_000_000_123 };
    const keyed: InboxMessage = { ...plain, messageId: newMessageId(), idempotencyKey: "client-7" };
    expect(codec.decodeInbox(codec.encodeInbox(plain))).toStrictEqual(plain);
    expect(codec.decodeInbox(codec.encodeInbox(keyed))).toStrictEqual(keyed);
  });

  it("round-trips completed and failed turn results", () => {
    const usage = { inputTokens: 1, outputTokens: 2, cacheReadTokens: 3, cacheWriteTokens: 4, costUsd: 0.5 };
    const done: TurnResult = { messageId: newMessageId(), status: "completed", reply: "ok", usage };
    const failed: TurnResult = {
      messageId: newMessageId(),
      status: "failed",
      reply: "",
      usage,
      error: { code: "budget_exceeded", message: "token budget of 10 exhausted" },
    };
    expect(codec.decodeResult(codec.encodeResult(done))).toStrictEqual(done);
    expect(codec.decodeResult(codec.encodeResult(failed))).toStrictEqual(failed);
  });

  it("writes plain msgpack maps any decoder can read, tagged with version and kind", () => {
    const state = realisticState();
    const { head, log } = codec.encodeState(state);
    const raw = unpack(head) as { v: number; k: string; b: AgentState & { messageCount: number } };
    expect(raw.v).toBe(SNAPSHOT_VERSION);
    expect(raw.k).toBe("snapshot");
    expect(raw.b.id).toBe(state.id);
    expect(raw.b.memory).toEqual(state.memory);
    expect(raw.b.messageCount).toBe(state.messages.length);
    expect(raw.b).not.toHaveProperty("messages");
    expect(unpack(log[1]!)).toEqual({ v: SNAPSHOT_VERSION, k: "message", b: state.messages[1] });
  });
});

describe("snapshot codec: bad bytes", () => {
  it("rejects bytes that are not msgpack, saying so and how many bytes there were", () => {
    const err = corrupt(() => codec.decodeState(new Uint8Array([0x92, 0x01]), []));
    expect(err.message).toMatch(/snapshot is not valid msgpack \(2 bytes\)/);
    expect(err.cause).toBeInstanceOf(Error);
  });

  it("rejects an empty buffer and a truncated snapshot", () => {
    corrupt(() => codec.decodeState(new Uint8Array(0), []));
    const { head: bytes, log } = codec.encodeState(realisticState());
    const err = corrupt(() => codec.decodeState(bytes.subarray(0, bytes.length - 10), log));
    expect(err.message).toMatch(/not valid msgpack/);
  });

  it("rejects trailing garbage after a valid snapshot", () => {
    const { head: bytes, log } = codec.encodeState(realisticState());
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes);
    padded.set([1, 2, 3], bytes.length);
    corrupt(() => codec.decodeState(padded, log));
    const entry = log[0]!;
    const paddedEntry = new Uint8Array(entry.length + 1);
    paddedEntry.set(entry);
    corrupt(() => codec.decodeState(bytes, [paddedEntry, ...log.slice(1)]));
  });

  it("names the bad log entry: garbage, truncated, padded, empty or not a message, wherever it is in the log", () => {
    const { head, log } = codec.encodeState(realisticState());
    const at = (i: number, entry: Uint8Array) => corrupt(() => codec.decodeState(head, log.map((e, j) => (j === i ? entry : e)))).message;
    const e3 = log[3]!;
    expect(at(3, e3.subarray(0, e3.length - 4))).toMatch(/message log entry 3 \(\d+ bytes\)/);
    expect(at(3, Uint8Array.of(...e3, 0x01))).toMatch(/message log entry 3 .*is not one msgpack value/);
    expect(at(3, new Uint8Array(0))).toMatch(/message log entry 3 \(0 bytes\)/);
    expect(at(6, new Uint8Array(0))).toMatch(/message log entry 6 \(0 bytes\) is not valid msgpack/);
    expect(at(0, Uint8Array.of(0xc1))).toMatch(/message log entry 0 \(1 bytes\) is not (valid msgpack|a log entry)/);
    expect(at(0, Uint8Array.of(0xd9, 0x05, 0x61))).toMatch(/message log entry 0 \(3 bytes\) is not/);
    expect(at(5, packr.pack({ v: SNAPSHOT_VERSION, k: "turn result", b: {} }))).toMatch(/message log entry 5 .*do not hold a Colony message/);
    expect(at(2, packr.pack({ v: SNAPSHOT_VERSION + 1, k: "message", b: {} }))).toMatch(/message log entry 2 .*schema version/);
    // A message body of the wrong shape: the state's zod pass names it.
    expect(at(4, packr.pack({ v: SNAPSHOT_VERSION, k: "message", b: { role: "robot", content: [] } }))).toMatch(/snapshot failed validation at messages\.4\.role/);
  });

  it("rejects msgpack that is not a Colony envelope", () => {
    for (const value of [null, 42, "snapshot", [1, 2], { hello: "world" }]) {
      const err = corrupt(() => codec.decodeState(packr.pack(value), []));
      expect(err.message).toMatch(/do not hold a Colony snapshot/);
    }
  });

  it("rejects another schema version, naming both versions", () => {
    const { b } = unpack(codec.encodeState(realisticState()).head) as { b: unknown };
    for (const v of [SNAPSHOT_VERSION + 1, 0, "1"]) {
      const err = corrupt(() => codec.decodeState(packr.pack({ v, k: "snapshot", b }), []));
      expect(err.message).toContain(`schema version ${String(v)}`);
      expect(err.message).toContain(`reads version ${SNAPSHOT_VERSION} or 1`);
      expect(err.details).toEqual({ version: v });
    }
  });

  it("rejects a well-formed envelope whose body has the wrong shape, naming the path", () => {
    // Through a version 1 snapshot, whose body is the whole state: the same validation as a head with its log.
    const b = structuredClone(realisticState()) as unknown as Record<string, unknown>;
    const wrongTurns = corrupt(() => codec.decodeState(packr.pack({ v: 1, k: "snapshot", b: { ...b, turns: "three" } }), []));
    expect(wrongTurns.message).toMatch(/snapshot failed validation at turns:/);

    const messages = structuredClone(b.messages) as { content: { type: string }[] }[];
    messages[1]!.content[1]!.type = "tool_call";
    const wrongBlock = corrupt(() => codec.decodeState(packr.pack({ v: 1, k: "snapshot", b: { ...b, messages } }), []));
    expect(wrongBlock.message).toMatch(/at messages\.1\.content\.1/);

    const { memory: _m, ...noMemory } = b;
    expect(corrupt(() => codec.decodeState(packr.pack({ v: 1, k: "snapshot", b: noMemory }), [])).message).toMatch(/at memory:/);

    const badStatus = corrupt(() => codec.decodeState(packr.pack({ v: 1, k: "snapshot", b: { ...b, status: "dancing" } }), []));
    expect(badStatus.message).toMatch(/at status:/);

    const body = corrupt(() => codec.decodeState(packr.pack({ v: 1, k: "snapshot", b: "just text" }), []));
    expect(body.message).toMatch(/at \(root\)/);
  });

  it("does not decode one kind of record as another", () => {
    const { head: snapshot, log } = codec.encodeState(realisticState());
    const inbox = codec.encodeInbox({ messageId: newMessageId(), content: "x", acceptedAt: 1 });
    expect(corrupt(() => codec.decodeInbox(snapshot)).message).toMatch(/do not hold a Colony inbox message/);
    expect(corrupt(() => codec.decodeResult(snapshot)).message).toMatch(/do not hold a Colony turn result/);
    expect(corrupt(() => codec.decodeState(inbox, [])).message).toMatch(/do not hold a Colony snapshot/);
    expect(corrupt(() => codec.decodeState(snapshot, [inbox, ...log.slice(1)])).message).toMatch(/do not hold a Colony message/);
  });

  it("rejects an inbox message and a turn result missing required fields, naming them", () => {
    const inbox = corrupt(() => codec.decodeInbox(packr.pack({ v: SNAPSHOT_VERSION, k: "inbox message", b: { messageId: "m1", acceptedAt: 1 } })));
    expect(inbox.message).toMatch(/inbox message failed validation at content/);
    const result = corrupt(() =>
      codec.decodeResult(packr.pack({ v: SNAPSHOT_VERSION, k: "turn result", b: { messageId: "m1", status: "maybe", reply: "", usage: {} } })),
    );
    expect(result.message).toMatch(/turn result failed validation at (status|usage)/);
  });
});
