/**
 * The StoreDriver contract, held against every driver: the in-memory one
 * (`colony dev`) and the Redis one (cluster mode), against a real
 * redis-server and a real Redis Cluster (3 masters, 3 replicas) started by
 * the harness. Whatever a test here says, both
 * drivers do; a driver that passes can back an agent.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentState, DeadLetter, InboxMessage, TurnResult } from "../../packages/actors/src/agent/state.ts";
import { initialState } from "../../packages/actors/src/agent/state.ts";
import { AgentTypeRegistry } from "../../packages/actors/src/agent/define.ts";
import { CorruptSnapshotError, StaleEpochError } from "../../packages/actors/src/errors.ts";
import type { AgentId, AgentKey, AgentType } from "../../packages/actors/src/ids.ts";
import { agentId, newMessageId, randomToken, splitAgentId } from "../../packages/actors/src/ids.ts";
import { AgentStore, CREATED_REMEMBERED } from "../../packages/actors/src/store/agent-store.ts";
import type { AppendRequest, StoreDriver } from "../../packages/actors/src/store/driver.ts";
import { DEAD_LETTER_LIMIT, DEDUP_WINDOW, LogMismatchError } from "../../packages/actors/src/store/driver.ts";
import { MemoryStoreDriver } from "../../packages/actors/src/store/memory-driver.ts";
import { RedisStoreDriver } from "../../packages/actors/src/store/redis-driver.ts";
import { AGENT_INDEX_KEY } from "../../packages/actors/src/store/redis-keys.ts";
import { type RedisServer, startRedis } from "../harness/servers.ts";
import { claim } from "../../packages/actors/src/testing/claim.ts";
import { redisBackends, stopRedisBackends } from "../harness/redis-backends.ts";

// ---------------------------------------------------------------- helpers

const enc = new TextEncoder();
const bytes = (s: string): Uint8Array => enc.encode(s);
const hex = (b: Uint8Array | null | undefined): string | null => (b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex") : null);
/** Every byte value, so no driver can get away with treating payloads as text. */
const allBytes = (tag: string): Uint8Array => {
  const b = new Uint8Array(256 + tag.length);
  for (let i = 0; i < 256; i++) b[i] = i;
  b.set(bytes(tag), 256);
  return b;
};

/** A type no other test uses (lowercase letter first, as the id grammar wants). */
const freshType = (prefix = "t"): AgentType => `${prefix}${randomToken(10).toLowerCase()}` as AgentType;
const freshId = (type: string = "contract"): AgentId => agentId(type as AgentType, randomToken(12) as AgentKey);

const registry = new AgentTypeRegistry();

function sampleState(id: AgentId, now = 1_700_000_000_000): AgentState {
  const { type, key } = splitAgentId(id);
  const config = registry.resolve("assistant", { tools: ["remember", "recall"], limits: { tokenBudget: 50_000 } });
  const state = initialState(id, type, key, config, now);
  state.messages.push(
    { role: "user", content: [{ type: "text", text: "remember color = blue" }] },
    { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "remember", input: { key: "color", value: "blue" } }] },
    { role: "user", content: [{ type: "tool_result", toolUseId: "toolu_1", content: '{"stored":"color"}', isError: false }] },
    { role: "assistant", content: [{ type: "text", text: "I will remember that color is blue." }] },
  );
  state.memory = { color: "blue" };
  state.turns = 1;
  state.lastSeq = 1;
  state.usage = { inputTokens: 120, outputTokens: 40, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0.0012 };
  return state;
}

function inboxMessage(content: string, idempotencyKey?: string): InboxMessage {
  const m: InboxMessage = { messageId: newMessageId(), content, acceptedAt: 1_700_000_000_500 };
  if (idempotencyKey !== undefined) m.idempotencyKey = idempotencyKey;
  return m;
}

function turnResult(messageId: string, reply: string): TurnResult {
  return {
    messageId,
    status: "completed",
    reply,
    usage: { inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 },
  };
}

/** Appends as the current activation (the fence as it stands), the way a live activation does. */
async function append(driver: StoreDriver, id: string, entry: Omit<AppendRequest, "epoch">) {
  return driver.append(id, { epoch: await driver.epoch(id), ...entry });
}

async function expectStale(p: Promise<unknown>, epoch: number, current: number): Promise<StaleEpochError> {
  const err = await p.then(
    () => {
      throw new Error("expected the commit to be rejected as stale, but it succeeded");
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StaleEpochError);
  const stale = err as StaleEpochError;
  expect(stale.code).toBe("stale_epoch");
  expect(stale.details).toMatchObject({ epoch, current });
  return stale;
}

/** Everything a reader can observe of one agent, for "nothing changed" assertions. */
async function observe(driver: StoreDriver, agent: string, messageIds: string[]) {
  const loaded = await driver.load(agent);
  return {
    snapshot: hex(loaded?.snapshot),
    epoch: loaded?.epoch ?? null,
    inbox: loaded?.inbox.map((r) => [r.seq, hex(r.payload)]) ?? null,
    results: await Promise.all(messageIds.map(async (m) => hex(await driver.result(agent, m)))),
  };
}

// ---------------------------------------------------------------- the contract

interface ContractTarget {
  /** Called once before the suite; returns a driver with a live connection. */
  open(): Promise<StoreDriver>;
  /** Called once after the suite; must end every connection and process. */
  close(): Promise<void>;
}

function storeDriverContract(name: string, makeTarget: () => ContractTarget): void {
  describe(`StoreDriver contract: ${name}`, () => {
    const target = makeTarget();
    let driver: StoreDriver;
    beforeAll(async () => {
      driver = await target.open();
    });
    afterAll(() => target.close());

    describe("create and load", () => {
      it("creates an agent once; a second create returns false and keeps the original snapshot", async () => {
        const id = freshId();
        expect(await driver.create(id, bytes("first"))).toBe(true);
        expect(await driver.create(id, bytes("second"))).toBe(false);
        expect(hex(await driver.readSnapshot(id))).toBe(hex(bytes("first")));
        const loaded = await driver.load(id);
        expect(hex(loaded?.snapshot)).toBe(hex(bytes("first")));
        expect(loaded?.inbox).toEqual([]);
        expect(loaded?.epoch).toBe(0);
        expect(await driver.epoch(id)).toBe(0);
      });

      it("reports a missing agent as null, not as an error", async () => {
        const id = freshId();
        expect(await driver.load(id)).toBeNull();
        expect(await driver.readSnapshot(id)).toBeNull();
        expect(await driver.result(id, newMessageId())).toBeNull();
        expect(await driver.epoch(id)).toBe(0);
      });

      it("stores any bytes exactly, including every byte value and a 1 MiB snapshot", async () => {
        const id = freshId();
        const big = new Uint8Array(1024 * 1024);
        for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
        expect(await driver.create(id, big)).toBe(true);
        expect(hex(await driver.readSnapshot(id))).toBe(hex(big));
        const epoch = await claim(driver, id);
        const m = newMessageId();
        await append(driver, id, { messageId: m, payload: allBytes("inbox") });
        expect(hex((await driver.load(id))!.inbox[0]!.payload)).toBe(hex(allBytes("inbox")));
        await driver.commit(id, { epoch, snapshot: allBytes("snap"), processedSeq: 1, results: [{ messageId: m, payload: allBytes("result") }] });
        expect(hex(await driver.readSnapshot(id))).toBe(hex(allBytes("snap")));
        expect(hex(await driver.result(id, m))).toBe(hex(allBytes("result")));
      });
    });

    describe("claim", () => {
      it("advances the epoch by one on every claim, and load reports it", async () => {
        const id = freshId();
        await driver.create(id, bytes("s"));
        const first = await claim(driver, id);
        expect(first).toBe(1);
        expect(await claim(driver, id)).toBe(first + 1);
        expect(await driver.epoch(id)).toBe(first + 1);
        expect((await driver.load(id))?.epoch).toBe(first + 1);
      });

      it("gives concurrent claimers distinct epochs", async () => {
        const id = freshId();
        await driver.create(id, bytes("s"));
        const epochs = await Promise.all(Array.from({ length: 20 }, () => claim(driver, id)));
        expect(new Set(epochs).size).toBe(20);
        expect(await driver.epoch(id)).toBe(Math.max(...epochs));
      });
    });

    describe("append", () => {
      it("accepts messages with increasing seqs, and load returns them in order", async () => {
        const id = freshId();
        await driver.create(id, bytes("s"));
        const seqs: number[] = [];
        for (const text of ["one", "two", "three"]) {
          const out = await append(driver, id, { messageId: newMessageId(), payload: bytes(text) });
          expect(out.kind).toBe("accepted");
          if (out.kind === "accepted") seqs.push(out.seq);
        }
        expect(seqs[0]).toBeGreaterThan(0);
        expect(seqs[1]).toBeGreaterThan(seqs[0]!);
        expect(seqs[2]).toBeGreaterThan(seqs[1]!);
        const loaded = await driver.load(id);
        expect(loaded?.inbox.map((r) => r.seq)).toEqual(seqs);
        expect(loaded?.inbox.map((r) => Buffer.from(r.payload).toString())).toEqual(["one", "two", "three"]);
      });

      it("gives concurrent appends distinct seqs and keeps the inbox in seq order", async () => {
        const id = freshId();
        await driver.create(id, bytes("s"));
        const outs = await Promise.all(
          Array.from({ length: 50 }, (_, i) => append(driver, id, { messageId: `m${i}`, payload: bytes(`p${i}`) })),
        );
        const seqs = outs.map((o) => (o.kind === "accepted" ? o.seq : -1));
        expect(seqs).not.toContain(-1);
        expect(new Set(seqs).size).toBe(50);
        const inbox = (await driver.load(id))!.inbox;
        expect(inbox.map((r) => r.seq)).toEqual([...seqs].sort((a, b) => a - b));
        // Each payload sits at the seq its append was told.
        const bySeq = new Map(inbox.map((r) => [r.seq, Buffer.from(r.payload).toString()]));
        seqs.forEach((seq, i) => expect(bySeq.get(seq)).toBe(`p${i}`));
      });

      it("reports a missing agent and does not create it", async () => {
        const id = freshId(freshType("missing"));
        expect(await append(driver, id, { messageId: newMessageId(), payload: bytes("x") })).toEqual({ kind: "missing" });
        expect(await driver.load(id)).toBeNull();
        expect(await driver.list({ type: splitAgentId(id).type, limit: 10 })).toEqual([]);
      });

      it("recognises a repeated message id as a duplicate and stores nothing", async () => {
        const id = freshId();
        await driver.create(id, bytes("s"));
        const m = newMessageId();
        const first = await append(driver, id, { messageId: m, payload: bytes("original") });
        expect(first.kind).toBe("accepted");
        expect(await append(driver, id, { messageId: m, payload: bytes("again") })).toMatchObject({ kind: "duplicate", messageId: m });
        const inbox = (await driver.load(id))!.inbox;
        expect(inbox.map((r) => Buffer.from(r.payload).toString())).toEqual(["original"]);
      });

      it("recognises a repeated idempotency key and returns the ORIGINAL message id", async () => {
        const id = freshId();
        await driver.create(id, bytes("s"));
        const original = newMessageId();
        await append(driver, id, { messageId: original, idempotencyKey: "order-42", payload: bytes("original") });
        const retry = newMessageId();
        expect(await append(driver, id, { messageId: retry, idempotencyKey: "order-42", payload: bytes("retry") })).toMatchObject({
          kind: "duplicate",
          messageId: original,
        });
        // The retry's own id was not recorded: it is new if sent without the key.
        const other = await append(driver, id, { messageId: retry, idempotencyKey: "order-43", payload: bytes("other") });
        expect(other.kind).toBe("accepted");
        const inbox = (await driver.load(id))!.inbox;
        expect(inbox.map((r) => Buffer.from(r.payload).toString())).toEqual(["original", "other"]);
      });

      it("scopes message ids and idempotency keys to one agent", async () => {
        const a = freshId();
        const b = freshId();
        await driver.create(a, bytes("a"));
        await driver.create(b, bytes("b"));
        const m = newMessageId();
        expect((await append(driver, a, { messageId: m, idempotencyKey: "k", payload: bytes("x") })).kind).toBe("accepted");
        expect((await append(driver, b, { messageId: m, idempotencyKey: "k", payload: bytes("x") })).kind).toBe("accepted");
      });

      it("treats an empty idempotency key as no key", async () => {
        const id = freshId();
        await driver.create(id, bytes("s"));
        expect((await append(driver, id, { messageId: newMessageId(), idempotencyKey: "", payload: bytes("1") })).kind).toBe("accepted");
        expect((await append(driver, id, { messageId: newMessageId(), idempotencyKey: "", payload: bytes("2") })).kind).toBe("accepted");
      });
    });

    describe("commit", () => {
      it("with the current epoch: writes the snapshot, removes exactly the processed inbox entry, records results", async () => {
        const id = freshId();
        await driver.create(id, bytes("v0"));
        const epoch = await claim(driver, id);
        const ids = [newMessageId(), newMessageId(), newMessageId()];
        const seqs: number[] = [];
        for (const m of ids) {
          const out = await append(driver, id, { messageId: m, payload: bytes(`msg ${m}`) });
          if (out.kind === "accepted") seqs.push(out.seq);
        }
        await driver.commit(id, {
          epoch,
          snapshot: bytes("v1"),
          processedSeq: seqs[0]!,
          results: [{ messageId: ids[0]!, payload: bytes("reply 0") }],
        });
        await driver.commit(id, { epoch, snapshot: bytes("v1"), processedSeq: seqs[1]!, results: [{ messageId: ids[1]!, payload: bytes("reply 1") }] });
        const loaded = (await driver.load(id))!;
        expect(Buffer.from(loaded.snapshot).toString()).toBe("v1");
        expect(loaded.epoch).toBe(epoch);
        expect(loaded.inbox.map((r) => r.seq)).toEqual([seqs[2]]);
        expect(Buffer.from((await driver.result(id, ids[0]!))!).toString()).toBe("reply 0");
        expect(Buffer.from((await driver.result(id, ids[1]!))!).toString()).toBe("reply 1");
        expect(await driver.result(id, ids[2]!)).toBeNull();
        // A processed message redelivered is still a duplicate: its turn never runs twice.
        expect(await append(driver, id, { messageId: ids[0]!, payload: bytes("redelivered") })).toMatchObject({ kind: "duplicate", messageId: ids[0] });
      });

      it("without processedSeq leaves the inbox alone (a mid-turn checkpoint)", async () => {
        const id = freshId();
        await driver.create(id, bytes("v0"));
        const epoch = await claim(driver, id);
        await append(driver, id, { messageId: newMessageId(), payload: bytes("pending") });
        await driver.commit(id, { epoch, snapshot: bytes("checkpoint") });
        const loaded = (await driver.load(id))!;
        expect(Buffer.from(loaded.snapshot).toString()).toBe("checkpoint");
        expect(loaded.inbox).toHaveLength(1);
      });

      it("never removes an earlier entry not yet processed, and is harmless when run twice (a resend after a lost reply)", async () => {
        const id = freshId();
        await driver.create(id, bytes("v0"));
        const epoch = await claim(driver, id);
        const ids = [newMessageId(), newMessageId(), newMessageId()];
        const seqs: number[] = [];
        for (const m of ids) {
          const out = await append(driver, id, { messageId: m, payload: bytes(m) });
          if (out.kind === "accepted") seqs.push(out.seq);
        }
        // The second entry is processed before the first (whose append reply was lost, say).
        const commit = { epoch, snapshot: bytes("v1"), processedSeq: seqs[1]!, results: [{ messageId: ids[1]!, payload: bytes("reply 1") }] };
        await driver.commit(id, commit);
        await driver.commit(id, commit);
        expect((await driver.load(id))!.inbox.map((r) => r.seq)).toEqual([seqs[0], seqs[2]]);
        expect(Buffer.from((await driver.readInbox(id, seqs[0]!))!).toString()).toBe(ids[0]);
        expect(await driver.readInbox(id, seqs[1]!)).toBeNull();
      });

      it("answers a duplicate with the original entry's seq, by message id and by idempotency key", async () => {
        const id = freshId();
        await driver.create(id, bytes("v0"));
        const m = newMessageId();
        const first = await append(driver, id, { messageId: m, idempotencyKey: "k-1", payload: bytes("x") });
        expect(first.kind).toBe("accepted");
        const seq = (first as { seq: number }).seq;
        expect(await append(driver, id, { messageId: m, payload: bytes("x") })).toEqual({ kind: "duplicate", messageId: m, seq });
        expect(await append(driver, id, { messageId: newMessageId(), idempotencyKey: "k-1", payload: bytes("y") })).toEqual({ kind: "duplicate", messageId: m, seq });
      });

      it("with a stale epoch is rejected with StaleEpochError and changes nothing", async () => {
        const id = freshId();
        await driver.create(id, bytes("v0"));
        const old = await claim(driver, id);
        const m1 = newMessageId();
        await append(driver, id, { messageId: m1, payload: bytes("first") });
        await driver.commit(id, { epoch: old, snapshot: bytes("v1 by old") });
        const m2 = newMessageId();
        const appended = await append(driver, id, { messageId: m2, payload: bytes("second") });
        const seq2 = appended.kind === "accepted" ? appended.seq : -1;

        const current = await claim(driver, id); // a newer activation takes over
        const before = await observe(driver, id, [m1, m2]);
        await expectStale(
          driver.commit(id, {
            epoch: old,
            snapshot: bytes("zombie write"),
            processedSeq: seq2,
            results: [
              { messageId: m1, payload: bytes("zombie 1") },
              { messageId: m2, payload: bytes("zombie 2") },
            ],
          }),
          old,
          current,
        );
        expect(await observe(driver, id, [m1, m2])).toEqual(before);
        expect(Buffer.from((await driver.readSnapshot(id))!).toString()).toBe("v1 by old");

        // An epoch from the future is not current either.
        await expectStale(driver.commit(id, { epoch: current + 1, snapshot: bytes("future") }), current + 1, current);
        // The newer activation still commits.
        await driver.commit(id, { epoch: current, snapshot: bytes("v2 by new"), processedSeq: seq2 });
        expect(Buffer.from((await driver.readSnapshot(id))!).toString()).toBe("v2 by new");
      });

      it("to an agent that does not exist is refused as stale at any epoch, whatever its log mode, and writes nothing", async () => {
        const id = freshId();
        // An epoch claimed for an agent never created (or whose keys are gone): the fence matches, the agent does not.
        const epoch = await claim(driver, id);
        const m = newMessageId();
        const attempts = [
          { epoch, snapshot: bytes("ghost"), log: { base: 0, entries: [bytes("e0")] }, results: [{ messageId: m, payload: bytes("r") }] },
          { epoch, snapshot: bytes("ghost"), log: { base: 0, entries: [bytes("e0")], replace: true } },
          { epoch, snapshot: bytes("ghost") },
        ];
        for (const req of attempts) await expectStale(driver.commit(id, req), epoch, epoch);
        expect(await driver.load(id)).toBeNull();
        expect(await driver.readAgent(id)).toBeNull();
        expect(await driver.result(id, m)).toBeNull();
      });

      it("append with a stale epoch is refused: a zombie can never acknowledge a message", async () => {
        const id = freshId();
        await driver.create(id, bytes("v0"));
        const old = await claim(driver, id);
        const m1 = newMessageId();
        expect((await driver.append(id, { epoch: old, messageId: m1, payload: bytes("first") })).kind).toBe("accepted");
        const current = await claim(driver, id);
        const before = await observe(driver, id, [m1]);
        expect(await driver.append(id, { epoch: old, messageId: newMessageId(), idempotencyKey: "z", payload: bytes("zombie") })).toEqual({
          kind: "stale",
          current,
        });
        expect(await driver.append(id, { epoch: current + 1, messageId: newMessageId(), payload: bytes("future") })).toEqual({ kind: "stale", current });
        expect(await observe(driver, id, [m1])).toEqual(before);
        // The idempotency key the zombie tried was not recorded: the live activation can accept it.
        expect((await driver.append(id, { epoch: current, messageId: newMessageId(), idempotencyKey: "z", payload: bytes("live") })).kind).toBe("accepted");
      });

      it("to an agent that does not exist is rejected and does not create it", async () => {
        const id = freshId();
        const epoch = await claim(driver, id);
        await expect(driver.commit(id, { epoch, snapshot: bytes("resurrected") })).rejects.toBeInstanceOf(StaleEpochError);
        expect(await driver.load(id)).toBeNull();
      });
    });

    describe("dead letters", () => {
      /** An accepted message, then the commit that gives it up: removed from the inbox and dead-lettered in one write. */
      async function giveUp(id: string, epoch: number, tag: string) {
        const m = newMessageId();
        const a = await append(driver, id, { messageId: m, payload: bytes(`msg ${tag}`) });
        if (a.kind !== "accepted") throw new Error(`append ${tag}: ${a.kind}`);
        const commit = { epoch, snapshot: bytes(`after ${tag}`), processedSeq: a.seq, results: [{ messageId: m, payload: bytes(`failed ${tag}`) }], deadLetter: { id: m, payload: allBytes(`dead ${tag}`) } };
        await driver.commit(id, commit);
        return { m, commit };
      }

      it("moves the processed entry to the list in the same commit: out of the inbox, result recorded, listed once even when the commit is resent", async () => {
        const id = freshId();
        await driver.create(id, bytes("v0"));
        const epoch = await claim(driver, id);
        const { m, commit } = await giveUp(id, epoch, "a");
        await append(driver, id, { messageId: newMessageId(), payload: bytes("next") });
        // A resend after a lost reply: nothing is added twice.
        await driver.commit(id, commit);
        const loaded = (await driver.load(id))!;
        expect(Buffer.from(loaded.snapshot).toString()).toBe("after a");
        expect(loaded.inbox.map((r) => Buffer.from(r.payload).toString())).toEqual(["next"]);
        expect(hex(await driver.result(id, m))).toBe(hex(bytes("failed a")));
        const page = await driver.deadLetters(id, { limit: 10 });
        expect(page.entries.map((e) => [e.id, hex(e.payload)])).toEqual([[m, hex(allBytes("dead a"))]]);
        expect(page).toMatchObject({ nextCursor: null, dropped: 0 });
        expect(hex(await driver.deadLetter(id, m))).toBe(hex(allBytes("dead a")));
      });

      it("with a stale epoch adds no dead letter and keeps the inbox entry", async () => {
        const id = freshId();
        await driver.create(id, bytes("v0"));
        const old = await claim(driver, id);
        const m = newMessageId();
        const a = await append(driver, id, { messageId: m, payload: bytes("p") });
        const current = await claim(driver, id);
        const seq = (a as { seq: number }).seq;
        await expectStale(driver.commit(id, { epoch: old, snapshot: bytes("zombie"), processedSeq: seq, deadLetter: { id: m, payload: bytes("d") } }), old, current);
        expect((await driver.load(id))!.inbox.map((r) => r.seq)).toEqual([seq]);
        expect((await driver.deadLetters(id, { limit: 10 })).entries).toEqual([]);
      });

      it("pages oldest first with the previous page's cursor, and discards one by id", async () => {
        const id = freshId();
        await driver.create(id, bytes("v0"));
        const epoch = await claim(driver, id);
        const ids: string[] = [];
        for (const tag of ["1", "2", "3"]) ids.push((await giveUp(id, epoch, tag)).m);
        const first = await driver.deadLetters(id, { limit: 2 });
        expect(first.entries.map((e) => e.id)).toEqual(ids.slice(0, 2));
        expect(first.nextCursor).not.toBeNull();
        const second = await driver.deadLetters(id, { limit: 2, after: first.nextCursor! });
        expect(second.entries.map((e) => e.id)).toEqual([ids[2]]);
        expect(second.nextCursor).toBeNull();

        expect(await driver.discardDeadLetter(id, ids[1]!)).toBe(true);
        expect(await driver.discardDeadLetter(id, ids[1]!)).toBe(false);
        expect(await driver.deadLetter(id, ids[1]!)).toBeNull();
        expect((await driver.deadLetters(id, { limit: 10 })).entries.map((e) => e.id)).toEqual([ids[0], ids[2]]);
        // The cursor of a page stays valid after a discard before it.
        expect((await driver.deadLetters(id, { limit: 10, after: first.nextCursor! })).entries.map((e) => e.id)).toEqual([ids[2]]);
      });

      it(`keeps at most ${DEAD_LETTER_LIMIT} entries, dropping (and counting) the oldest`, async () => {
        const id = freshId();
        await driver.create(id, bytes("v0"));
        const epoch = await claim(driver, id);
        const ids: string[] = [];
        for (let i = 0; i < DEAD_LETTER_LIMIT + 2; i++) ids.push((await giveUp(id, epoch, String(i))).m);
        const seen: string[] = [];
        let page = await driver.deadLetters(id, { limit: 400 });
        seen.push(...page.entries.map((e) => e.id));
        while (page.nextCursor) {
          page = await driver.deadLetters(id, { limit: 400, after: page.nextCursor });
          seen.push(...page.entries.map((e) => e.id));
        }
        expect(seen).toEqual(ids.slice(2));
        expect(page.dropped).toBe(2);
        expect(await driver.deadLetter(id, ids[0]!)).toBeNull();
      }, 60_000);

      it("are removed with the agent", async () => {
        const id = freshId();
        await driver.create(id, bytes("v0"));
        const epoch = await claim(driver, id);
        const { m } = await giveUp(id, epoch, "x");
        await driver.delete(id);
        await driver.create(id, bytes("reborn"));
        expect(await driver.deadLetters(id, { limit: 10 })).toEqual({ entries: [], nextCursor: null, dropped: 0 });
        expect(await driver.deadLetter(id, m)).toBeNull();
      });
    });

    describe("delete", () => {
      it("removes everything, reports whether the agent existed, bumps the fence, and allows re-creation", async () => {
        const type = freshType("del");
        const id = freshId(type);
        await driver.create(id, bytes("v0"));
        const epoch = await claim(driver, id);
        const m = newMessageId();
        await append(driver, id, { messageId: m, idempotencyKey: "key-1", payload: bytes("p") });
        await driver.commit(id, { epoch, snapshot: bytes("v1"), processedSeq: 1, results: [{ messageId: m, payload: bytes("r") }] });
        await append(driver, id, { messageId: newMessageId(), payload: bytes("pending") });

        expect(await driver.delete(id)).toBe(true);
        expect(await driver.load(id)).toBeNull();
        expect(await driver.readSnapshot(id)).toBeNull();
        expect(await driver.result(id, m)).toBeNull();
        expect(await driver.list({ type, limit: 10 })).toEqual([]);
        expect(await driver.epoch(id)).toBeGreaterThan(epoch);
        expect(await driver.delete(id)).toBe(false);
        // A zombie holding the pre-delete epoch can neither write nor resurrect it.
        const fence = await driver.epoch(id);
        await expectStale(driver.commit(id, { epoch, snapshot: bytes("zombie") }), epoch, fence);
        expect(await driver.load(id)).toBeNull();
        expect(await append(driver, id, { messageId: newMessageId(), payload: bytes("x") })).toEqual({ kind: "missing" });

        // Re-created, it starts clean: an empty inbox, no memory of old message ids or keys.
        expect(await driver.create(id, bytes("reborn"))).toBe(true);
        const reborn = (await driver.load(id))!;
        expect(Buffer.from(reborn.snapshot).toString()).toBe("reborn");
        expect(reborn.inbox).toEqual([]);
        expect((await append(driver, id, { messageId: m, idempotencyKey: "key-1", payload: bytes("again") })).kind).toBe("accepted");
        // The old epoch stays stale after re-creation; a fresh claim is above every earlier one.
        await expectStale(driver.commit(id, { epoch, snapshot: bytes("zombie") }), epoch, fence);
        const next = await claim(driver, id);
        expect(next).toBeGreaterThan(epoch + 1);
        await driver.commit(id, { epoch: next, snapshot: bytes("v2") });
        expect(await driver.list({ type, limit: 10 })).toEqual([id]);
      });

      it("of an agent that never existed returns false", async () => {
        expect(await driver.delete(freshId())).toBe(false);
      });
    });

    describe("list", () => {
      // Types chosen to sit right next to the listed one in byte order:
      // "<b>a-x/…" < "<b>a/…" < "<b>a0/…" < "<b>aa/…" < "<b>b/…".
      const base = freshType("l");
      const A = `${base}a`;
      const neighbours = [`${base}a-x`, `${base}a0`, `${base}aa`, `${base}b`];
      const aIds = ["k1", "K0", "a_b", "zz", "a-b", "b"].map((k) => `${A}/${k}`).sort();
      const otherIds = neighbours.map((t) => `${t}/k1`);
      const everything = [...aIds, ...otherIds].sort();

      beforeAll(async () => {
        for (const id of [...aIds, ...otherIds]) expect(await driver.create(id, bytes(id))).toBe(true);
      });

      it("returns the ids of one type in lexicographic order, and no neighbour's", async () => {
        expect(await driver.list({ type: A, limit: 100 })).toEqual(aIds);
        for (const t of neighbours) expect(await driver.list({ type: t, limit: 100 })).toEqual([`${t}/k1`]);
      });

      it("pages with `after` (the previous page's last id) and `limit`", async () => {
        const pages: string[][] = [];
        let after: string | undefined;
        for (;;) {
          const page = await driver.list(after === undefined ? { type: A, limit: 4 } : { type: A, after, limit: 4 });
          if (page.length === 0) break;
          expect(page.length).toBeLessThanOrEqual(4);
          pages.push(page);
          after = page[page.length - 1];
        }
        expect(pages.map((p) => p.length)).toEqual([4, 2]);
        expect(pages.flat()).toEqual(aIds);
      });

      it("treats `after` as exclusive, even when it names an existing id", async () => {
        expect(await driver.list({ type: A, after: aIds[2]!, limit: 100 })).toEqual(aIds.slice(3));
        expect(await driver.list({ type: A, after: aIds[aIds.length - 1]!, limit: 100 })).toEqual([]);
      });

      it("does not leak other types when `after` lies before or after the type's range", async () => {
        expect(await driver.list({ type: A, after: `${base}a-x/k1`, limit: 100 })).toEqual(aIds);
        expect(await driver.list({ type: A, after: base, limit: 100 })).toEqual(aIds);
        expect(await driver.list({ type: A, after: "", limit: 100 })).toEqual(aIds);
        expect(await driver.list({ type: A, after: `${base}a0/k1`, limit: 100 })).toEqual([]);
        expect(await driver.list({ type: A, after: `${base}b`, limit: 100 })).toEqual([]);
      });

      it("without a type lists every agent in order from `after`", async () => {
        expect(await driver.list({ after: base, limit: everything.length })).toEqual(everything);
        expect(await driver.list({ after: everything[3]!, limit: 2 })).toEqual(everything.slice(4, 6));
      });

      it("returns no more than `limit` ids", async () => {
        expect(await driver.list({ type: A, limit: 1 })).toEqual(aIds.slice(0, 1));
        expect(await driver.list({ type: A, limit: 0 })).toEqual([]);
      });

      it("forgets a deleted agent", async () => {
        const gone = `${A}/zz`;
        expect(await driver.delete(gone)).toBe(true);
        expect(await driver.list({ type: A, limit: 100 })).toEqual(aIds.filter((id) => id !== gone));
        expect(await driver.create(gone, bytes("back"))).toBe(true);
        expect(await driver.list({ type: A, limit: 100 })).toEqual(aIds);
      });
    });

    describe("dedup window", () => {
      it(`forgets message ids, their results and idempotency keys once more than ${DEDUP_WINDOW} results are committed`, async () => {
        const id = freshId();
        await driver.create(id, bytes("s"));
        const epoch = await claim(driver, id);
        const ids = Array.from({ length: DEDUP_WINDOW + 1 }, (_, i) => `m${String(i).padStart(5, "0")}`);
        const key = (i: number) => `key-${i}`;
        for (let i = 0; i < ids.length; i += 100) {
          const batch = ids.slice(i, i + 100);
          const outs = await Promise.all(batch.map((m, j) => append(driver, id, { messageId: m, idempotencyKey: key(i + j), payload: bytes(m) })));
          expect(outs.every((o) => o.kind === "accepted")).toBe(true);
        }
        const result = (m: string) => ({ messageId: m, payload: bytes(`result of ${m}`) });

        // Exactly the window: everything is still remembered.
        await driver.commit(id, { epoch, snapshot: bytes("s1"), processedSeq: DEDUP_WINDOW, results: ids.slice(0, DEDUP_WINDOW).map(result) });
        expect(Buffer.from((await driver.result(id, ids[0]!))!).toString()).toBe(`result of ${ids[0]}`);
        expect(await append(driver, id, { messageId: ids[0]!, payload: bytes("again") })).toMatchObject({ kind: "duplicate", messageId: ids[0] });
        expect(await append(driver, id, { messageId: newMessageId(), idempotencyKey: key(0), payload: bytes("again") })).toMatchObject({
          kind: "duplicate",
          messageId: ids[0],
        });

        // One more result pushes the oldest out.
        await driver.commit(id, { epoch, snapshot: bytes("s2"), processedSeq: DEDUP_WINDOW + 1, results: [result(ids[DEDUP_WINDOW]!)] });
        expect(await driver.result(id, ids[0]!)).toBeNull();
        expect(Buffer.from((await driver.result(id, ids[1]!))!).toString()).toBe(`result of ${ids[1]}`);
        expect(Buffer.from((await driver.result(id, ids[DEDUP_WINDOW]!))!).toString()).toBe(`result of ${ids[DEDUP_WINDOW]}`);
        expect(await append(driver, id, { messageId: ids[1]!, payload: bytes("again") })).toMatchObject({ kind: "duplicate", messageId: ids[1] });
        expect(await append(driver, id, { messageId: newMessageId(), idempotencyKey: key(1), payload: bytes("again") })).toMatchObject({
          kind: "duplicate",
          messageId: ids[1],
        });
        // The evicted id and key are accepted as new.
        expect((await append(driver, id, { messageId: ids[0]!, payload: bytes("new life") })).kind).toBe("accepted");
        expect((await append(driver, id, { messageId: newMessageId(), idempotencyKey: key(0), payload: bytes("new key") })).kind).toBe(
          "accepted",
        );
      });
    });

    describe("isolation of stored bytes", () => {
      it("does not alias caller arrays on the way in or out", async () => {
        const id = freshId();
        const snap = bytes("snapshot");
        await driver.create(id, snap);
        snap.fill(0);
        expect(Buffer.from((await driver.readSnapshot(id))!).toString()).toBe("snapshot");

        const payload = bytes("payload");
        const m = newMessageId();
        await append(driver, id, { messageId: m, payload });
        payload.fill(0);
        const loaded = (await driver.load(id))!;
        expect(Buffer.from(loaded.inbox[0]!.payload).toString()).toBe("payload");
        loaded.snapshot.fill(1);
        loaded.inbox[0]!.payload.fill(1);
        const again = (await driver.load(id))!;
        expect(Buffer.from(again.snapshot).toString()).toBe("snapshot");
        expect(Buffer.from(again.inbox[0]!.payload).toString()).toBe("payload");

        const epoch = await claim(driver, id);
        const next = bytes("next");
        const res = bytes("result");
        await driver.commit(id, { epoch, snapshot: next, results: [{ messageId: m, payload: res }] });
        next.fill(0);
        res.fill(0);
        const read = (await driver.readSnapshot(id))!;
        expect(Buffer.from(read).toString()).toBe("next");
        read.fill(2);
        const r = (await driver.result(id, m))!;
        expect(Buffer.from(r).toString()).toBe("result");
        r.fill(2);
        expect(Buffer.from((await driver.readSnapshot(id))!).toString()).toBe("next");
        expect(Buffer.from((await driver.result(id, m))!).toString()).toBe("result");
      });

      it("does not alias log entries or dead letters on the way in or out", async () => {
        const id = freshId();
        const first = bytes("first");
        await driver.create(id, bytes("h"), [first]);
        first.fill(0);
        const epoch = await claim(driver, id);
        // A Buffer (a view into Node's shared pool, as the codec's output) as well as a plain Uint8Array.
        const second = Buffer.from("second");
        const m = newMessageId();
        const appended = await append(driver, id, { messageId: m, payload: bytes("p") });
        expect(appended.kind).toBe("accepted");
        const processedSeq = appended.kind === "accepted" ? appended.seq : 0;
        const dead = bytes("dead");
        await driver.commit(id, { epoch, snapshot: bytes("h2"), log: { base: 1, entries: [second] }, processedSeq, deadLetter: { id: m, payload: dead } });
        second.fill(0);
        dead.fill(0);
        const log = (await driver.readAgent(id))!.log;
        expect(log.map((e) => Buffer.from(e).toString())).toEqual(["first", "second"]);
        for (const e of log) e.fill(3);
        (await driver.load(id))!.log.forEach((e) => e.fill(4));
        expect((await driver.readAgent(id))!.log.map((e) => Buffer.from(e).toString())).toEqual(["first", "second"]);
        const letter = (await driver.deadLetter(id, m))!;
        expect(Buffer.from(letter).toString()).toBe("dead");
        letter.fill(5);
        (await driver.deadLetters(id, { limit: 10 })).entries[0]!.payload.fill(6);
        expect(Buffer.from((await driver.deadLetter(id, m))!).toString()).toBe("dead");
      });
    });

    describe("the conversation log", () => {
      const texts = async (agent: string) => ((await driver.readAgent(agent))?.log ?? []).map((e) => Buffer.from(e).toString());

      it("is written with the first snapshot, appended to by commits at the length the writer expects, and read with the head", async () => {
        const id = freshId();
        expect(await driver.create(id, bytes("head0"), [bytes("a"), bytes("b")])).toBe(true);
        const epoch = await claim(driver, id);
        await driver.commit(id, { epoch, snapshot: bytes("head1"), log: { base: 2, entries: [bytes("c"), bytes("d")] } });
        expect(await texts(id)).toEqual(["a", "b", "c", "d"]);
        expect(Buffer.from((await driver.readAgent(id))!.snapshot).toString()).toBe("head1");
        const loaded = await driver.load(id);
        expect(loaded!.log.map((e) => Buffer.from(e).toString())).toEqual(["a", "b", "c", "d"]);
        // A commit without log entries leaves the log alone.
        await driver.commit(id, { epoch, snapshot: bytes("head2") });
        await driver.commit(id, { epoch, snapshot: bytes("head3"), log: { base: 4, entries: [] } });
        expect(await texts(id)).toEqual(["a", "b", "c", "d"]);
      });

      it("adds nothing twice when the same commit is sent again (its first reply lost)", async () => {
        const id = freshId();
        await driver.create(id, bytes("h"), [bytes("a")]);
        const epoch = await claim(driver, id);
        const commit = { epoch, snapshot: bytes("h2"), log: { base: 1, entries: [bytes("b"), bytes("c")] } };
        await driver.commit(id, commit);
        await driver.commit(id, commit);
        expect(await texts(id)).toEqual(["a", "b", "c"]);
      });

      it("refuses an append at another length with LogMismatchError and writes nothing", async () => {
        const id = freshId();
        await driver.create(id, bytes("h"), [bytes("a"), bytes("b")]);
        const epoch = await claim(driver, id);
        // base 1 + one entry is the log's length, but the entry is not the one there: no resend, a mismatch.
        for (const base of [0, 1, 3, 7]) {
          const err = await driver.commit(id, { epoch, snapshot: bytes("bad"), processedSeq: 1, log: { base, entries: [bytes("x")] } }).catch((e) => e);
          expect(err, `base ${base}`).toBeInstanceOf(LogMismatchError);
          expect(err).toMatchObject({ expected: base, actual: 2 });
        }
        expect(await texts(id)).toEqual(["a", "b"]);
        expect(Buffer.from((await driver.readSnapshot(id))!).toString()).toBe("h");
      });

      it("is replaced whole by a rewrite (a compaction), and not at all by a stale writer", async () => {
        const id = freshId();
        await driver.create(id, bytes("h"), [bytes("a"), bytes("b"), bytes("c")]);
        const old = await claim(driver, id);
        const epoch = await claim(driver, id);
        await expect(driver.commit(id, { epoch: old, snapshot: bytes("zombie"), log: { base: 0, entries: [bytes("z")], replace: true } })).rejects.toBeInstanceOf(StaleEpochError);
        expect(await texts(id)).toEqual(["a", "b", "c"]);
        await driver.commit(id, { epoch, snapshot: bytes("h2"), log: { base: 0, entries: [bytes("summary"), bytes("c")], replace: true } });
        expect(await texts(id)).toEqual(["summary", "c"]);
        await driver.commit(id, { epoch, snapshot: bytes("h3"), log: { base: 0, entries: [], replace: true } });
        expect(await texts(id)).toEqual([]);
      });

      it("goes with its agent: deleted, and a re-created agent starts with its own", async () => {
        const id = freshId();
        await driver.create(id, bytes("h"), [bytes("a"), bytes("b")]);
        await driver.delete(id);
        expect(await driver.readAgent(id)).toBeNull();
        await driver.create(id, bytes("again"), [bytes("fresh")]);
        expect(await texts(id)).toEqual(["fresh"]);
      });

      it("holds a long conversation (more entries than one Lua call's arguments in a chunk)", async () => {
        const id = freshId();
        const first = Array.from({ length: 450 }, (_, i) => bytes(`m${i}`));
        await driver.create(id, bytes("h"), first);
        const epoch = await claim(driver, id);
        await driver.commit(id, { epoch, snapshot: bytes("h2"), log: { base: 450, entries: Array.from({ length: 430 }, (_, i) => bytes(`n${i}`)) } });
        const all = await texts(id);
        expect(all).toHaveLength(880);
        expect([all[0], all[449], all[450], all[879]]).toEqual(["m0", "m449", "n0", "n429"]);
      });
    });

    describe("through the typed AgentStore", () => {
      let store: AgentStore;
      beforeAll(() => {
        store = new AgentStore(driver);
      });

      it("round-trips state, pending messages and turn results", async () => {
        const id = freshId();
        const state = sampleState(id);
        expect(await store.create(state)).toBe(true);
        expect(await store.create(sampleState(id, 1))).toBe(false);
        const epoch = await claim(store, id);

        const first = inboxMessage("hello");
        const second = inboxMessage("remember size = large", "client-key-7");
        const a1 = await store.append(id, epoch, first);
        const a2 = await store.append(id, epoch, second);
        expect(a1.kind).toBe("accepted");
        expect(a2.kind).toBe("accepted");
        expect(await store.append(id, epoch, { ...inboxMessage("retry"), idempotencyKey: "client-key-7" })).toMatchObject({
          kind: "duplicate",
          messageId: second.messageId,
        });

        const loaded = (await store.load(id))!;
        expect(loaded.state).toEqual(state);
        expect(loaded.epoch).toBe(epoch);
        expect(loaded.pending).toEqual([
          { seq: (a1 as { seq: number }).seq, message: first },
          { seq: (a2 as { seq: number }).seq, message: second },
        ]);

        const next: AgentState = {
          ...state,
          messages: [...state.messages, { role: "user", content: [{ type: "text", text: "hello" }] }, { role: "assistant", content: [{ type: "text", text: "hi" }] }],
          turns: 2,
          lastSeq: (a1 as { seq: number }).seq,
          updatedAt: state.updatedAt + 1000,
        };
        const result = turnResult(first.messageId, "hi");
        await store.commit(id, epoch, next, { processedSeq: (a1 as { seq: number }).seq, results: [result] });
        expect(await store.readState(id)).toEqual(next);
        expect(await store.result(id, first.messageId)).toEqual(result);
        expect(await store.result(id, second.messageId)).toBeNull();
        const after = (await store.load(id))!;
        expect(after.pending.map((p) => p.message)).toEqual([second]);
      });

      it("round-trips a dead letter committed with the turn that gave its message up", async () => {
        const id = freshId();
        const state = sampleState(id);
        await store.create(state);
        const epoch = await claim(store, id);
        const message = { ...inboxMessage("charge the card", "client-key-9"), traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };
        const a = (await store.append(id, epoch, message)) as { seq: number };
        const dead: DeadLetter = {
          id: message.messageId,
          message,
          seq: a.seq,
          reason: { code: "model_failed", message: "500 fake" },
          attempts: 3,
          firstFailedAt: 1_700_000_001_000,
          deadLetteredAt: 1_700_000_003_000,
        };
        const result: TurnResult = { ...turnResult(message.messageId, "dead-lettered"), status: "failed", error: { code: "model_failed", message: "x" }, deadLetter: { id: message.messageId, reason: { code: "model_failed", message: "500 fake" }, attempts: 3 } };
        await store.commit(id, epoch, { ...state, lastSeq: a.seq }, { processedSeq: a.seq, results: [result], deadLetter: dead });
        expect((await store.load(id))!.pending).toEqual([]);
        expect(await store.deadLetters(id, { limit: 5 })).toEqual({ deadLetters: [dead], nextCursor: null, dropped: 0 });
        expect(await store.deadLetter(id, dead.id)).toEqual(dead);
        expect(await store.discardDeadLetter(id, dead.id)).toBe(true);
        expect(await store.deadLetter(id, dead.id)).toBeNull();
      });

      it("rejects a stale commit with StaleEpochError and keeps the newer state", async () => {
        const id = freshId();
        const state = sampleState(id);
        await store.create(state);
        const old = await claim(store, id);
        await claim(store, id);
        await expect(store.commit(id, old, { ...state, turns: 99 })).rejects.toBeInstanceOf(StaleEpochError);
        expect((await store.readState(id))?.turns).toBe(state.turns);
      });

      it("refuses to decode bytes that are not a snapshot, with CorruptSnapshotError", async () => {
        const id = freshId();
        await driver.create(id, bytes("definitely not msgpack of a snapshot"));
        await expect(store.load(id)).rejects.toBeInstanceOf(CorruptSnapshotError);
        await expect(store.readState(id)).rejects.toBeInstanceOf(CorruptSnapshotError);
      });

      describe("the first activation of an agent this store created", () => {
        /** The same driver, counting its loads (another AgentStore on it is another host). */
        const counting = () => {
          let loads = 0;
          const counted = Object.create(driver) as StoreDriver;
          counted.load = (agent) => {
            loads++;
            return driver.load(agent);
          };
          return { store: new AgentStore(counted), loads: () => loads };
        };

        it("starts from what the create wrote, without a read, at epoch 1 only, and only once", async () => {
          const here = counting();
          const id = freshId();
          const state = sampleState(id);
          expect(await here.store.create(state)).toBe(true);
          expect(await claim(here.store, id)).toBe(1);
          const loaded = (await here.store.load(id, 1))!;
          expect(here.loads()).toBe(0);
          expect(loaded).toMatchObject({ epoch: 1, pending: [] });
          expect(loaded.state).toEqual(state);
          // A second activation at the same epoch (the first one stopped) reads what the first one wrote.
          const message = inboxMessage("hello");
          const a = (await here.store.append(id, 1, message)) as { seq: number };
          expect((await here.store.load(id, 1))!.pending).toEqual([{ seq: a.seq, message }]);
          expect(here.loads()).toBe(1);
        });

        it("moved elsewhere between its placement and its load: the activation started from the create cannot write", async () => {
          const [here, there] = [counting(), counting()];
          const id = freshId();
          const state = sampleState(id);
          await here.store.create(state);
          expect(await claim(here.store, id)).toBe(1);
          // Re-placed on the other host before this host's activation loaded.
          expect(await claim(there.store, id)).toBe(2);
          const loaded = (await here.store.load(id, 1))!;
          expect(here.loads()).toBe(0);
          expect(await here.store.append(id, loaded.epoch, inboxMessage("late"))).toEqual({ kind: "stale", current: 2 });
          await expectStale(here.store.commit(id, loaded.epoch, { ...loaded.state, turns: 9 }, { log: loaded.log }), 1, 2);
          expect(await here.store.readState(id)).toEqual(state);
        });

        it("reads the store once anything was appended or committed through it, even at epoch 1", async () => {
          const here = counting();
          const [appended, committed] = [freshId(), freshId()];
          for (const id of [appended, committed]) {
            await here.store.create(sampleState(id));
            await claim(here.store, id);
          }
          const message = inboxMessage("sent before the activation started");
          const a = (await here.store.append(appended, 1, message)) as { seq: number };
          expect((await here.store.load(appended, 1))!.pending).toEqual([{ seq: a.seq, message }]);
          const ran = { ...sampleState(committed), turns: 7 };
          await here.store.commit(committed, 1, ran);
          expect((await here.store.load(committed, 1))!.state).toEqual(ran);
          expect(here.loads()).toBe(2);
        });

        it("reads the store when the agent was placed anywhere before: what that activation committed is loaded", async () => {
          const [here, there] = [counting(), counting()];
          const id = freshId();
          const state = sampleState(id);
          await here.store.create(state);
          // Placed on the other host first, where it runs a turn.
          const first = await claim(there.store, id);
          const elsewhere = (await there.store.load(id, first))!;
          expect(there.loads()).toBe(1);
          const ran: AgentState = { ...elsewhere.state, turns: 2, memory: { color: "red" }, messages: [...elsewhere.state.messages, { role: "user", content: [{ type: "text", text: "make it red" }] }] };
          await there.store.commit(id, first, ran, { log: elsewhere.log });
          // Moved here: the create's bytes are stale now.
          const second = await claim(here.store, id);
          const loaded = (await here.store.load(id, second))!;
          expect(here.loads()).toBe(1);
          expect(loaded.state).toEqual(ran);
        });

        it("remembers nothing of a create that found the agent existing, nor past the newest creates", async () => {
          const [here, there] = [counting(), counting()];
          const id = freshId();
          const theirs = sampleState(id);
          await there.store.create(theirs);
          expect(await here.store.create({ ...sampleState(id, 5), memory: { color: "green" } })).toBe(false);
          await claim(here.store, id);
          expect((await here.store.load(id, 1))!.state).toEqual(theirs);
          expect(here.loads()).toBe(1);

          const type = freshType("many");
          const ids = Array.from({ length: CREATED_REMEMBERED + 1 }, (_, i) => agentId(type, `k${i}` as AgentKey));
          for (const created of ids) await here.store.create(sampleState(created));
          await claim(here.store, ids[0]!);
          await claim(here.store, ids[1]!);
          await here.store.load(ids[1]!, 1);
          expect(here.loads()).toBe(1);
          expect((await here.store.load(ids[0]!, 1))!.state).toEqual(sampleState(ids[0]!));
          expect(here.loads()).toBe(2);
        });
      });

      it("lists and deletes by id", async () => {
        const type = freshType("typed");
        const ids = ["b", "a", "c"].map((k) => agentId(type, k as AgentKey));
        for (const id of ids) await store.create(sampleState(id));
        expect(await store.list({ type, limit: 10 })).toEqual([...ids].sort());
        expect(await store.delete(ids[0]!)).toBe(true);
        expect(await store.list({ type, limit: 10 })).toEqual([ids[1], ids[2]].sort());
      });
    });
  });
}

// ---------------------------------------------------------------- the drivers

storeDriverContract("MemoryStoreDriver", () => {
  const driver = new MemoryStoreDriver();
  return { open: async () => driver, close: () => driver.close() };
});

let redisServer: RedisServer | undefined;
const redisClients: Redis[] = [];

function redisClient(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 2 });
  redisClients.push(client);
  return client;
}

const backends = redisBackends();
afterAll(() => stopRedisBackends());
for (const backend of backends) {
  storeDriverContract(`RedisStoreDriver (${backend.name})`, () => {
    let driver: RedisStoreDriver | undefined;
    return {
      async open() {
        driver = new RedisStoreDriver(await backend.client());
        return driver;
      },
      async close() {
        await driver?.close();
      },
    };
  });
}

describe("RedisStoreDriver key layout", () => {
  let redis: Redis;
  let driver: RedisStoreDriver;
  beforeAll(async () => {
    redisServer ??= await startRedis();
    redis = redisClient(redisServer.url);
    driver = new RedisStoreDriver(redisClient(redisServer.url));
  });
  afterAll(async () => {
    await driver.close();
    await Promise.all(redisClients.map((c) => c.quit().catch(() => c.disconnect())));
    await redisServer?.stop();
  });

  async function keysMentioning(fragment: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `*${fragment}*`, "COUNT", 1000);
      found.push(...keys);
      cursor = next;
    } while (cursor !== "0");
    return [...new Set(found)].sort();
  }

  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");

  it("keeps every key of an agent under colony:{<type>/<key>}: so one hash slot holds them all", async () => {
    const key = randomToken(16) as AgentKey;
    const id = agentId("layout-test" as AgentType, key);
    await driver.create(id, bytes("s"));
    const epoch = await claim(driver, id);
    const m = newMessageId();
    await append(driver, id, { messageId: m, idempotencyKey: "k", payload: bytes("p") });
    await append(driver, id, { messageId: newMessageId(), payload: bytes("q") });
    await driver.commit(id, { epoch, snapshot: bytes("s1"), processedSeq: 1, results: [{ messageId: m, payload: bytes("r") }] });

    const keys = await keysMentioning(key);
    const pattern = new RegExp(`^colony:\\{${escape(id)}\\}:[a-z]+$`);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k).toMatch(pattern);
    // The hash tag is the first {...} of the key: Redis Cluster hashes exactly "<type>/<key>".
    for (const k of keys) expect(k.slice(k.indexOf("{") + 1, k.indexOf("}"))).toBe(id);
    expect(keys.map((k) => k.slice(k.lastIndexOf(":") + 1)).sort()).toEqual(["dedup", "epoch", "inbox", "recent", "results", "seq", "snap"]);
    // The same keys, found by their own pattern (no glob characters in an id).
    const tagged: string[] = [];
    let cursor = "0";
    do {
      const [next, ks] = await redis.scan(cursor, "MATCH", `colony:{${id}}:*`, "COUNT", 1000);
      tagged.push(...ks);
      cursor = next;
    } while (cursor !== "0");
    expect([...new Set(tagged)].sort()).toEqual(keys);
    expect(await redis.zscore(AGENT_INDEX_KEY, id)).toBe("0");

    // Deleting leaves only the fence, so a zombie's old epoch stays stale,
    // and for a while the delete's token, so that its resend still reports it.
    await driver.delete(id);
    expect(await keysMentioning(key)).toEqual([`colony:{${id}}:deleted`, `colony:{${id}}:epoch`]);
    expect(await redis.ttl(`colony:{${id}}:deleted`)).toBeGreaterThan(0);
    expect(await redis.zscore(AGENT_INDEX_KEY, id)).toBeNull();
  });
});
