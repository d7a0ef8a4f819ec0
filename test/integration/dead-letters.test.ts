/**
 * Dead letters end to end: the real Anthropic SDK against the fake Messages
 * API, in-process hosts over a real redis-server. A message whose turn
 * fails 3 times in a row lands in the agent's dead-letter list with the
 * reason, the queue moves on, a replay runs it once (even when the replay
 * request is sent twice), a discard removes it, the metric counts it, and a
 * host going away mid-turn neither counts as a failure nor loses or
 * duplicates the dead letter.
 */
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { AgentId } from "@colony/actors";
import { AgentStore, AnthropicModel, RedisApprovalIndex, RedisStoreDriver } from "@colony/actors";
import { RedisTraceStore } from "@colony/host";
import { FAKE_ANTHROPIC_API_KEY, fakeSteps, startFakeAnthropic } from "@colony/actors/testing";
import type { FakeAnthropic, FakeRequest, FakeStep } from "@colony/actors/testing";
import { RedisPlacementRegistry } from "@colony/directory";
import { call, startTestCluster } from "@colony/host/testing";
import type { HostNode } from "@colony/host";
import { startRedis } from "../harness/servers.ts";
import type { RedisServer } from "../harness/servers.ts";
import { waitFor } from "../harness/wait.ts";

const MODEL = "claude-haiku-4-5";
let redis: RedisServer;
let fake: FakeAnthropic;
const clients: Redis[] = [];
const client = () => {
  const r = new Redis(redis.url);
  clients.push(r);
  return r;
};
const storage = () => ({
  driver: new RedisStoreDriver(client(), false),
  registry: new RedisPlacementRegistry(client(), false),
  approvals: new RedisApprovalIndex(client()),
  traces: new RedisTraceStore(client()),
});
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit()));
  await redis?.stop();
});
afterEach(async () => {
  await fake?.close();
});

/** The text of the request's last message: the turn's user message, or a retry of it. */
function lastText(req: FakeRequest): string {
  const last = req.body.messages?.at(-1);
  if (!last) return "";
  if (typeof last.content === "string") return last.content;
  return (last.content as { type: string; text?: string }[]).map((b) => b.text ?? "").join("");
}

/** A model that answers "ok: <text>", except for POISON messages, which `poison` decides. */
async function startModel(poison: (n: number) => FakeStep) {
  fake = await startFakeAnthropic();
  const counts = { poison: 0 };
  fake.respond((req) => {
    const text = lastText(req);
    if (text.includes("POISON")) return poison(++counts.poison);
    return fakeSteps.text(`ok: ${text}`);
  });
  // No SDK retries and a breaker that stays closed: each failure is one attempt of the turn.
  const model = new AnthropicModel({ apiKey: FAKE_ANTHROPIC_API_KEY, baseURL: fake.url, retryBaseMs: 1, maxRetries: 0, midStreamRetries: 0, circuitBreaker: { failureThreshold: 1000, openMs: 1000 } });
  return { model, counts };
}

const boom = () => fakeSteps.httpError(500, { message: "upstream exploded", headers: { "x-should-retry": "false" } });
const key = (p: string) => `${p}${Math.random().toString(36).slice(2, 10)}`;

async function deadLetterMetric(host: HostNode): Promise<number> {
  const text = (await call(host, "GET", "/metrics")).text;
  const line = text.split("\n").find((l) => l.startsWith('colony_dead_letters_total{type="assistant"}'));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

describe("dead letters", () => {
  it("a turn failing 3 times lands in the list with its reason, the queue moves on, replay runs it once, discard removes it", async () => {
    let healed = false;
    const { model, counts } = await startModel(() => (healed ? fakeSteps.text("poison handled") : boom()));
    await using c = await startTestCluster({ storage: storage(), model });
    const host = c.hosts[0]!;
    const k = key("dl");
    const path = `/v1/agents/assistant/${k}`;
    expect((await call(host, "POST", "/v1/agents", { type: "assistant", key: k, config: { model: MODEL, deadLetter: { afterFailures: 3, retryDelayMs: 10 } } })).status).toBe(201);

    // The poison message first, then one behind it in the queue.
    const accepted = await call(host, "POST", `${path}/messages`, { content: "POISON pill", idempotencyKey: "k-poison", wait: false });
    expect(accepted.status).toBe(202);
    const poisonId: string = accepted.body.messageId;
    const [waited, next] = await Promise.all([
      // The same key with wait: a sender waiting on the message.
      call(host, "POST", `${path}/messages`, { content: "POISON pill", idempotencyKey: "k-poison" }),
      call(host, "POST", `${path}/messages`, { content: "next one" }),
    ]);
    expect(waited.status).toBe(200);
    expect(waited.body).toMatchObject({
      messageId: poisonId,
      status: "failed",
      error: { code: "model_failed" },
      deadLetter: { id: poisonId, reason: { code: "model_failed" }, attempts: 3 },
    });
    expect(waited.body.reply).toContain(`/dead-letters/${poisonId}/replay`);
    expect(next.body).toMatchObject({ status: "completed", reply: "ok: next one" });
    expect(counts.poison).toBe(3);

    const list = await call(host, "GET", `${path}/dead-letters`);
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ nextCursor: null, dropped: 0 });
    expect(list.body.deadLetters).toHaveLength(1);
    const dead = list.body.deadLetters[0];
    expect(dead).toMatchObject({ id: poisonId, attempts: 3, reason: { code: "model_failed" }, message: { messageId: poisonId, content: "POISON pill", idempotencyKey: "k-poison" } });
    expect(dead.reason.message).toContain("upstream exploded");
    expect(dead.message.traceparent).toMatch(/^00-/);
    expect(dead.deadLetteredAt).toBeGreaterThanOrEqual(dead.firstFailedAt);
    expect(await deadLetterMetric(host)).toBe(1);
    const trace = (await call(host, "GET", `${path}/trace`)).body.entries;
    expect(trace.filter((e: { event: { kind: string } }) => e.event.kind === "dead_lettered")).toEqual([
      expect.objectContaining({ messageId: poisonId, event: expect.objectContaining({ id: poisonId, code: "model_failed", attempts: 3 }) }),
    ]);
    // The original key still answers with the dead-lettered outcome; it does not run again.
    expect((await call(host, "POST", `${path}/messages`, { content: "POISON pill", idempotencyKey: "k-poison" })).body).toMatchObject({ duplicate: true, deadLetter: { id: poisonId } });
    expect(counts.poison).toBe(3);

    // The model is fixed; the replay request is sent twice at once (a client's retry): it runs once.
    healed = true;
    const replays = await Promise.all([1, 2].map(() => call(host, "POST", `${path}/dead-letters/${poisonId}/replay`)));
    for (const r of replays) expect(r.status).toBe(202);
    expect(replays[0]!.body.messageId).toBe(replays[1]!.body.messageId);
    expect(replays.map((r) => r.body.duplicate).sort()).toEqual([false, true]);
    expect(replays[0]!.body).toMatchObject({ status: "accepted", replayOf: poisonId });
    expect(replays[0]!.body.messageId).not.toBe(poisonId);
    // A message behind the replay finishing means the replay's turn finished too.
    expect((await call(host, "POST", `${path}/messages`, { content: "after" })).body.reply).toBe("ok: after");
    expect(counts.poison).toBe(4);
    expect((await call(host, "GET", path)).body.turns).toBe(4);
    expect((await call(host, "GET", `${path}/dead-letters`)).body.deadLetters).toEqual([]);
    expect((await call(host, "POST", `${path}/dead-letters/${poisonId}/replay`)).status).toBe(404);

    // Another one, discarded.
    healed = false;
    const second = await call(host, "POST", `${path}/messages`, { content: "POISON again" });
    expect(second.body.deadLetter.attempts).toBe(3);
    expect(await deadLetterMetric(host)).toBe(2);
    expect((await call(host, "DELETE", `${path}/dead-letters/${second.body.messageId}`)).status).toBe(204);
    expect((await call(host, "GET", `${path}/dead-letters`)).body.deadLetters).toEqual([]);
    expect((await call(host, "DELETE", `${path}/dead-letters/${second.body.messageId}`)).status).toBe(404);
    expect((await call(host, "POST", `${path}/dead-letters/${second.body.messageId}/replay`)).status).toBe(404);
    expect((await call(host, "GET", `/v1/agents/assistant/nosuch${k}/dead-letters`)).status).toBe(404);
    expect((await call(host, "GET", `${path}/dead-letters?cursor=x`)).status).toBe(400);
  }, 60_000);

  it("counts failures in a row: a model call that succeeds in between starts the count again", async () => {
    // Fail, fail, a tool call, fail, fail, the answer: never 3 failures in a row.
    const { model } = await startModel(() => boom());
    let n = 0;
    fake.respond(() => {
      n++;
      if (n === 3) return fakeSteps.toolUse("remember", { key: "k", value: "v" }, { id: "toolu_mid" });
      if (n === 6) return fakeSteps.text("made it");
      return boom();
    });
    await using c = await startTestCluster({ storage: storage(), model });
    const host = c.hosts[0]!;
    const k = key("row");
    const path = `/v1/agents/assistant/${k}`;
    await call(host, "POST", "/v1/agents", { type: "assistant", key: k, config: { model: MODEL, tools: ["remember"], deadLetter: { afterFailures: 3, retryDelayMs: 10 } } });
    const res = await call(host, "POST", `${path}/messages`, { content: "keep trying" });
    expect(res.body).toMatchObject({ status: "completed", reply: "made it" });
    expect(n).toBe(6);
    expect((await call(host, "GET", `${path}/dead-letters`)).body.deadLetters).toEqual([]);
  }, 30_000);

  it("a spent budget dead-letters at once: retrying cannot help", async () => {
    const { model } = await startModel(() => boom());
    await using c = await startTestCluster({ storage: storage(), model });
    const host = c.hosts[0]!;
    const k = key("bud");
    const path = `/v1/agents/assistant/${k}`;
    await call(host, "POST", "/v1/agents", { type: "assistant", key: k, config: { model: MODEL, limits: { tokenBudget: 1 } } });
    expect((await call(host, "POST", `${path}/messages`, { content: "first" })).body.status).toBe("completed");
    const res = await call(host, "POST", `${path}/messages`, { content: "second" });
    expect(res.body).toMatchObject({ status: "failed", error: { code: "token_budget_exhausted" }, deadLetter: { attempts: 1, reason: { code: "token_budget_exhausted" } } });
    expect(fake.requests).toHaveLength(1);
    const list = (await call(host, "GET", `${path}/dead-letters`)).body.deadLetters;
    expect(list.map((d: { message: { content: string } }) => d.message.content)).toEqual(["second"]);
  }, 30_000);

  it("a host going away mid-attempt is not a failure of the message; the dead letter is written once", async () => {
    // Attempts 1-2 fail, attempt 3 hangs until its host goes away, the rest fail.
    const { model, counts } = await startModel((n) => (n === 3 ? fakeSteps.stall("thinking") : boom()));
    const k = key("crash");
    const id = `assistant/${k}` as AgentId;
    const path = `/v1/agents/${id}`;
    const store = new AgentStore(new RedisStoreDriver(client(), false));
    {
      await using a = await startTestCluster({ storage: storage(), model, config: { drainMs: 300 } });
      const host = a.hosts[0]!;
      await call(host, "POST", "/v1/agents", { type: "assistant", key: k, config: { model: MODEL, deadLetter: { afterFailures: 3, retryDelayMs: 10 } } });
      expect((await call(host, "POST", `${path}/messages`, { content: "POISON slow", wait: false })).status).toBe(202);
      await waitFor(() => counts.poison === 3 && fake.inFlight === 1, { message: "the third attempt to be in flight", timeoutMs: 15_000 });
      expect((await store.readState(id))!.turn).toMatchObject({ failures: 2 });
    }
    // The host went away mid-attempt: still 2 failures, the message still in the inbox.
    const stored = (await store.load(id))!;
    expect(stored.state.turn).toMatchObject({ failures: 2 });
    expect(stored.pending.map((p) => p.message.content)).toEqual(["POISON slow"]);
    expect((await store.deadLetters(id, { limit: 10 })).deadLetters).toEqual([]);

    {
      await using b = await startTestCluster({ storage: storage(), model });
      const host = b.hosts[0]!;
      // Activating the agent resumes the poison message first: one more failure is its third.
      expect((await call(host, "POST", `${path}/messages`, { content: "next one" })).body.reply).toBe("ok: next one");
      expect(counts.poison).toBe(4);
      const list = (await call(host, "GET", `${path}/dead-letters`)).body.deadLetters;
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ attempts: 3, message: { content: "POISON slow" } });
    }
    {
      // Once more from scratch: nothing left to run, nothing written twice.
      await using again = await startTestCluster({ storage: storage(), model });
      const host = again.hosts[0]!;
      expect((await call(host, "POST", `${path}/messages`, { content: "still there?" })).body.reply).toBe("ok: still there?");
      expect(counts.poison).toBe(4);
      expect((await call(host, "GET", `${path}/dead-letters`)).body.deadLetters).toHaveLength(1);
      expect((await store.load(id))!.pending).toEqual([]);
    }
  }, 60_000);
});
