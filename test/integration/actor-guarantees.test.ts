/**
 * The actor's guarantees under faults (issue 11, cases 1, 2, 5 and 9), on
 * real Redis: a lost append reply, Redis refusing writes, a fence arriving
 * while requests wait, a message queued behind an approval.
 */
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ContentBlock, ModelProvider, ModelRequest, ModelResponse } from "@colony/actors";
import { AgentNotHereError, RedisStoreDriver, zeroUsage } from "@colony/actors";
import { RedisTraceStore } from "@colony/host";
import { startRedis } from "../harness/servers.ts";
import type { RedisServer } from "../harness/servers.ts";
import { waitFor } from "../harness/wait.ts";
import type { Kit } from "./activation-kit.ts";
import { CountingModel, agentKit, gate, replyDroppingProxy, within } from "./activation-kit.ts";

let redis: RedisServer;
let admin: Redis;
const kits: Kit[] = [];
const kit = async (...args: Parameters<typeof agentKit>) => {
  const k = await agentKit(...args);
  kits.push(k);
  return k;
};
beforeAll(async () => {
  redis = await startRedis({ useEnv: false });
  admin = new Redis(redis.url);
});
afterEach(async () => {
  await acceptWrites();
  await Promise.all(kits.splice(0).map((k) => k.close()));
});
afterAll(async () => {
  await admin?.quit();
  await redis?.stop();
});

/** Redis refuses every write with an OOM error reply (as under noeviction when full). */
async function refuseWrites(): Promise<void> {
  await admin.config("SET", "maxmemory-policy", "noeviction");
  await admin.config("SET", "maxmemory", "1");
}
async function acceptWrites(): Promise<void> {
  await admin.config("SET", "maxmemory", "0");
}
const userTexts = (k: Kit) => async () => ((await k.store.readState(k.id))?.messages ?? []).flatMap((m) => (m.role === "user" ? m.content.flatMap((b) => (b.type === "text" ? [b.text] : [])) : []));

describe("an append whose reply was lost", () => {
  it("is queued when its resend answers duplicate, and runs exactly once, before the message after it", async () => {
    const k = await kit(redis.url);
    const a = await k.start();
    const first = k.message("first");
    // The append ran in Redis; its reply never came back; ioredis resends it.
    expect((await k.store.append(k.id, a.epoch, first)).kind).toBe("accepted");
    expect(await a.accept(first)).toMatchObject({ kind: "duplicate", messageId: first.messageId });
    const second = k.message("second");
    await a.accept(second);
    await waitFor(() => k.store.result(k.id, second.messageId), { timeoutMs: 15_000, message: "the second message's result" });
    await waitFor(() => k.store.result(k.id, first.messageId), { timeoutMs: 15_000, message: "the first message's result (it must not be lost)" });
    expect(await userTexts(k)()).toEqual(["first", "second"]);
    expect(k.model.calls).toBe(2);
    expect((await k.store.load(k.id))!.pending).toEqual([]);
  });

  it("through a proxy that cuts the connection right after forwarding the append: acknowledged once, run once", async () => {
    const proxy = await replyDroppingProxy({ host: redis.host, port: redis.port });
    try {
      const k = await kit(proxy.url);
      const a = await k.start();
      const first = k.message("first");
      proxy.dropReplyTo(first.messageId);
      const out = await within(a.accept(first), 15_000, "the append's resend");
      expect(proxy.drops).toBe(1);
      // The resend found its own first run: the same message id, so not a client duplicate (local.ts).
      expect(out).toMatchObject({ kind: "duplicate", messageId: first.messageId });
      const second = k.message("second");
      await a.accept(second);
      await waitFor(() => k.store.result(k.id, second.messageId), { timeoutMs: 15_000, message: "the second message's result" });
      await waitFor(() => k.store.result(k.id, first.messageId), { timeoutMs: 15_000, message: "the first message's result (it must not be lost)" });
      expect(await userTexts(k)()).toEqual(["first", "second"]);
      expect(k.model.calls).toBe(2);
    } finally {
      await proxy.close();
    }
  });
});

describe("an entry queued late, ahead of a turn waiting for approval", () => {
  it("runs after that turn, which goes on where it paused (not restarted, its decision kept)", async () => {
    const k = await kit(redis.url, { config: { permissions: { remember: "approval" } } });
    const a = await k.start();
    // Appended first, but its reply was lost: the activation does not know it yet.
    const early = k.message("hello");
    expect((await k.store.append(k.id, a.epoch, early)).kind).toBe("accepted");
    const paused = k.message("remember tea = green");
    await a.accept(paused);
    await waitFor(() => a.view().status === "awaiting_approval", { timeoutMs: 15_000, message: "the turn to pause" });
    const callId = a.view().turn!.awaiting[0]!.callId;
    expect(await a.accept(early)).toMatchObject({ kind: "duplicate", messageId: early.messageId }); // the resend
    await a.decide(callId, true);
    expect((await within(a.result(paused.messageId), 15_000, "the paused turn"))?.status).toBe("completed");
    expect((await within(a.result(early.messageId), 15_000, "the early message's turn"))?.status).toBe("completed");
    expect(await userTexts(k)()).toEqual(["remember tea = green", "hello"]);
    expect(a.view().memory).toEqual({ tea: "green" });
    expect(k.model.calls).toBe(3);
  });
});

describe("Redis refusing writes", () => {
  it("a finished turn whose commit fails is committed once Redis accepts writes: the model is not called again", async () => {
    const k = await kit(redis.url);
    const held = gate();
    k.model.hold = () => held.promise;
    const a = await k.start();
    const m = k.message("hello");
    await a.accept(m);
    await waitFor(() => k.model.calls === 1, { timeoutMs: 15_000, message: "the model call" });
    await refuseWrites();
    held.open();
    await waitFor(() => k.logger.errors.length >= 3, { timeoutMs: 15_000, message: "three failed commit attempts" });
    expect(k.model.calls).toBe(1);
    await acceptWrites();
    const result = await within(a.result(m.messageId), 15_000, "the turn's result");
    expect(result?.status).toBe("completed");
    expect(k.model.calls).toBe(1);
    expect(await userTexts(k)()).toEqual(["hello"]);
    const stored = (await k.store.load(k.id))!;
    expect(stored.pending).toEqual([]);
    expect(stored.state.turns).toBe(1);
  });

  it("a decision whose commit fails is not half-applied: retried, it is taken and the turn resumes", async () => {
    const k = await kit(redis.url, { config: { permissions: { remember: "approval" } } });
    const a = await k.start();
    const m = k.message("remember tea = green");
    await a.accept(m);
    await waitFor(() => a.view().status === "awaiting_approval", { timeoutMs: 15_000, message: "the turn to pause" });
    const callId = a.view().turn!.awaiting[0]!.callId;
    await refuseWrites();
    await expect(a.decide(callId, true)).rejects.toThrow(/OOM/);
    await acceptWrites();
    await a.decide(callId, true);
    const result = await within(a.result(m.messageId), 15_000, "the turn's result");
    expect(result?.status).toBe("completed");
    expect(a.view().memory).toEqual({ tea: "green" });
  });
});

/** Calls the same tool with the same arguments for as long as the turn's message is "loop"; answers "ok" otherwise. */
class LoopModel implements ModelProvider {
  readonly name = "loop";
  private n = 0;
  async complete(req: ModelRequest): Promise<ModelResponse> {
    const asked = [...req.messages].reverse().find((m) => m.role === "user" && m.content.some((b) => b.type === "text"));
    const loop = asked?.content.some((b) => b.type === "text" && b.text === "loop");
    const content: ContentBlock[] = loop ? [{ type: "tool_use", id: `toolu_${++this.n}`, name: "remember", input: { key: "a", value: "b" } }] : [{ type: "text", text: "ok" }];
    return { content, stopReason: loop ? "tool_use" : "end_turn", usage: zeroUsage(), model: req.model };
  }
}

describe("Redis refusing writes around a suspension", () => {
  it("the suspending turn's commit is retried, a refused resume can be retried, and the message queued behind runs", async () => {
    const k = await kit(redis.url, { model: new CountingModel(new LoopModel()) });
    const held = gate();
    k.model.hold = (_r, n) => (n === 4 ? held.promise : undefined);
    const a = await k.start();
    const looping = k.message("loop");
    await a.accept(looping);
    const after = k.message("after");
    await a.accept(after);
    await waitFor(() => k.model.calls === 4, { timeoutMs: 15_000, message: "the fourth identical call" });
    await refuseWrites();
    held.open();
    await waitFor(() => k.logger.errors.length >= 2, { timeoutMs: 15_000, message: "failed commits of the suspended turn" });
    await acceptWrites();
    expect((await within(a.result(looping.messageId), 15_000, "the suspended turn's result"))?.error?.code).toBe("loop_detected");
    expect((await k.store.readState(k.id))?.status).toBe("suspended");
    await refuseWrites();
    await expect(a.resume()).rejects.toThrow(/OOM/);
    expect(a.view().status).toBe("suspended");
    await acceptWrites();
    await a.resume();
    expect((await within(a.result(after.messageId), 15_000, "the message queued behind the suspension"))?.reply).toBe("ok");
    expect(k.model.calls).toBe(5);
  });
});

describe("requests handed to the actor", () => {
  it("stop() and decide() settle when the activation is fenced while they wait behind a running turn", async () => {
    const k = await kit(redis.url);
    const held = gate();
    k.model.hold = () => held.promise;
    const a = await k.start();
    await a.accept(k.message("hello"));
    await waitFor(() => k.model.calls === 1, { timeoutMs: 15_000, message: "the model call" });
    const stopping = a.stop();
    const deciding = a.decide("toolu_none", true);
    a.fence(new AgentNotHereError(k.id, "h1"));
    held.open();
    await within(stopping, 10_000, "stop()");
    await expect(within(deciding, 10_000, "decide()")).rejects.toThrow(AgentNotHereError);
  });
});

describe("a message queued behind an approval", () => {
  it("runs once the approval is given, without another message to wake it", async () => {
    const k = await kit(redis.url, { config: { permissions: { remember: "approval" } } });
    const a = await k.start();
    const first = k.message("remember tea = green");
    await a.accept(first);
    await waitFor(() => a.view().status === "awaiting_approval", { timeoutMs: 15_000, message: "the turn to pause" });
    const second = k.message("hello");
    await a.accept(second);
    const secondResult = a.result(second.messageId);
    await a.decide(a.view().turn!.awaiting[0]!.callId, true);
    expect((await within(a.result(first.messageId), 15_000, "the first turn"))?.status).toBe("completed");
    expect((await within(secondResult, 15_000, "the second turn (queued behind the approval)"))?.status).toBe("completed");
    expect(a.view().turns).toBe(2);
    expect(a.pendingCount()).toBe(0);
  });
});

describe("store writes whose reply is lost (resent by ioredis through a reply-dropping proxy)", () => {
  it("create and delete report what they did; a trace batch is read once", async () => {
    const proxy = await replyDroppingProxy({ host: redis.host, port: redis.port });
    const viaProxy = new Redis(proxy.url);
    const direct = new Redis(redis.url);
    try {
      const driver = new RedisStoreDriver(viaProxy, false);
      const id = `assistant/resend${Math.random().toString(36).slice(2, 8)}`;
      const snapshot = Buffer.from(`snapshot of ${id}`);
      proxy.dropReplyTo(`snapshot of ${id}`);
      expect(await within(driver.create(id, snapshot), 15_000, "create")).toBe(true);
      proxy.dropReplyTo(`${id}}:deleted`);
      expect(await within(driver.delete(id), 15_000, "delete")).toBe(true);
      expect(proxy.drops).toBe(2);

      const traces = new RedisTraceStore(viaProxy);
      const record = { agent: id, at: Date.now(), turn: 1, host: "h1", event: { kind: "status" as const, status: "idle" as const, reason: "marker-trace" } };
      proxy.dropReplyTo("marker-trace");
      await within(traces.append([record]), 15_000, "trace append");
      expect(proxy.drops).toBe(3);
      const stored = await direct.xlen(`colony:{${id}}:trace`);
      expect(stored).toBe(2); // the batch did land twice...
      expect((await new RedisTraceStore(direct).read(id, { limit: 10 })).entries).toHaveLength(1); // ...and is read once
    } finally {
      viaProxy.disconnect();
      direct.disconnect();
      await proxy.close();
    }
  });
});
