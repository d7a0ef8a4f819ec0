import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "@colony/actors/testing";
import type { HostNode } from "../src/index.ts";
import { call, conversation, eventually, startTestHost } from "../src/testing/index.ts";

let host: HostNode & AsyncDisposable;
afterEach(async () => {
  await host?.shutdown();
});


const userTexts = (messages: any[]): string[] =>
  messages.filter((m: any) => m.role === "user" && m.content[0].type === "text").map((m: any) => m.content[0].text);

describe("per-agent FIFO", () => {
  it("runs concurrent senders' messages one turn at a time, in acceptance order, each exactly once", async () => {
    host = await startTestHost();
    await call(host, "POST", "/v1/agents", { type: "assistant", key: "fifo" });
    const senders = 8;
    const perSender = 25;
    const accepted: { content: string; messageId: string }[] = [];
    await Promise.all(
      Array.from({ length: senders }, async (_, s) => {
        for (let i = 0; i < perSender; i++) {
          const content = `s${s}-m${i}`;
          const res = await call(host, "POST", "/v1/agents/assistant/fifo/messages", { content, wait: false });
          expect(res.status).toBe(202);
          accepted.push({ content, messageId: res.body.messageId });
        }
      }),
    );
    const state = await eventually(async () => {
      const s = (await call(host, "GET", "/v1/agents/assistant/fifo")).body;
      expect(s.turns).toBe(senders * perSender);
      return s;
    });
    const messages = await conversation(host, "assistant/fifo");
    expect(state.messageCount).toBe(messages.length);
    const texts = userTexts(messages);
    expect(texts).toHaveLength(senders * perSender);
    expect(new Set(texts).size).toBe(texts.length);
    // A sender sends its next message only after the previous one was accepted,
    // so acceptance order within a sender is known: the agent must keep it.
    for (let s = 0; s < senders; s++) {
      const mine = texts.filter((t) => t.startsWith(`s${s}-`));
      expect(mine).toEqual(Array.from({ length: perSender }, (_, i) => `s${s}-m${i}`));
    }
    expect(new Set(texts)).toEqual(new Set(accepted.map((a) => a.content)));
    // Turns never interleave: every user message is followed by its assistant reply.
    for (let i = 0; i < messages.length; i += 2) {
      expect(messages[i].role).toBe("user");
      expect(messages[i + 1].role).toBe("assistant");
    }
  });
});

describe("reading state", () => {
  it("never waits for a running turn", async () => {
    host = await startTestHost();
    await call(host, "POST", "/v1/agents", { type: "assistant", key: "reader" });
    const turn = call(host, "POST", "/v1/agents/assistant/reader/messages", { content: "slow 1500 finally" });
    const running = await eventually(async () => {
      const t0 = performance.now();
      const s = (await call(host, "GET", "/v1/agents/assistant/reader")).body;
      expect(s.status).toBe("running");
      return performance.now() - t0;
    });
    expect(running).toBeLessThan(200);
    expect((await turn).body.reply).toBe("finally");
    expect((await call(host, "GET", "/v1/agents/assistant/reader")).body.status).toBe("idle");
  });
});

describe("passivation", () => {
  it("checkpoints and stops an idle agent; the next message reactivates it with identical context", async () => {
    const clock = new ManualClock();
    host = await startTestHost({ clock, config: { idleMs: 10_000 } });
    await call(host, "POST", "/v1/agents", { type: "assistant", key: "sleepy", config: { tools: ["remember", "recall"] } });
    await call(host, "POST", "/v1/agents/assistant/sleepy/messages", { content: "remember pet = cat" });
    await call(host, "POST", "/v1/agents/assistant/sleepy/messages", { content: "hello" });
    const before = (await call(host, "GET", "/v1/agents/assistant/sleepy")).body;
    const messagesBefore = await conversation(host, "assistant/sleepy");
    expect(before.host).toBe(host.service.hostId);

    clock.advance(9_000);
    expect(host.catalog.activeCount()).toBe(1);
    clock.advance(2_000);
    await eventually(async () => expect(host.catalog.activeCount()).toBe(0));
    const passive = (await call(host, "GET", "/v1/agents/assistant/sleepy")).body;
    expect(passive.host).toBeNull();
    const { host: _h1, ...beforeRest } = before;
    const { host: _h2, ...passiveRest } = passive;
    expect(passiveRest).toEqual(beforeRest);
    expect(await conversation(host, "assistant/sleepy")).toEqual(messagesBefore);

    const reply = await call(host, "POST", "/v1/agents/assistant/sleepy/messages", { content: "what is pet?" });
    expect(reply.body.reply).toBe("pet is cat.");
    const after = (await call(host, "GET", "/v1/agents/assistant/sleepy")).body;
    expect((await conversation(host, "assistant/sleepy")).slice(0, messagesBefore.length)).toEqual(messagesBefore);
    expect(after.turns).toBe(before.turns + 1);
    const metrics = await (await host.app.request("/metrics")).text();
    expect(metrics).toContain('colony_agent_passivations_total{type="assistant"} 1');
    expect(metrics).toContain('colony_agent_activations_total{type="assistant",reason="restore"} 1');
  });

  it("honours a per-agent idleMs over the host default", async () => {
    const clock = new ManualClock();
    host = await startTestHost({ clock, config: { idleMs: 1_000_000 } });
    await call(host, "POST", "/v1/agents", { type: "assistant", key: "quick", config: { idleMs: 2_000 } });
    await call(host, "POST", "/v1/agents", { type: "assistant", key: "slow" });
    await call(host, "POST", "/v1/agents/assistant/quick/messages", { content: "hi" });
    await call(host, "POST", "/v1/agents/assistant/slow/messages", { content: "hi" });
    clock.advance(3_000);
    await eventually(async () => expect(host.catalog.activeCount()).toBe(1));
    expect(host.catalog.get("assistant/slow" as never)).toBeDefined();
  });

  it("does not passivate an agent while its turn runs", async () => {
    const clock = new ManualClock();
    host = await startTestHost({ clock, config: { idleMs: 1_000 } });
    await call(host, "POST", "/v1/agents", { type: "assistant", key: "busy" });
    const turn = call(host, "POST", "/v1/agents/assistant/busy/messages", { content: "slow 300 ok" });
    await eventually(async () => expect((await call(host, "GET", "/v1/agents/assistant/busy")).body.status).toBe("running"));
    clock.advance(5_000);
    expect(host.catalog.activeCount()).toBe(1);
    expect((await turn).body.reply).toBe("ok");
  });
});
