import { describe, expect, it } from "vitest";
import type { ChatMessage, ContentBlock } from "../src/model/messages.ts";
import type { ModelEvent, ModelRequest, ToolSpec } from "../src/model/provider.ts";
import { ScriptedModel } from "../src/model/scripted.ts";
import { ToolRegistry } from "../src/tools/registry.ts";
import { recallTool, rememberTool } from "../src/tools/memory-tools.ts";

const model = new ScriptedModel();
const memoryTools: ToolSpec[] = new ToolRegistry([rememberTool, recallTool]).specsFor(["remember", "recall"]);
const echoTool: ToolSpec = { name: "echo", description: "echoes", inputSchema: { type: "object" } };

const user = (text: string): ChatMessage => ({ role: "user", content: [{ type: "text", text }] });
const assistant = (text: string): ChatMessage => ({ role: "assistant", content: [{ type: "text", text }] });

function request(messages: ChatMessage[], tools: ToolSpec[] = []): ModelRequest {
  return { model: "scripted-test", system: "You are a test.", messages, tools, maxTokens: 1024 };
}

function only(content: ContentBlock[]): ContentBlock {
  expect(content).toHaveLength(1);
  return content[0]!;
}

async function toolUseFor(text: string, tools: ToolSpec[] = memoryTools) {
  const res = await model.complete(request([user(text)], tools));
  expect(res.stopReason).toBe("tool_use");
  const block = only(res.content);
  if (block.type !== "tool_use") throw new Error(`expected a tool_use, got ${JSON.stringify(block)}`);
  return block;
}

describe("ScriptedModel: plain replies", () => {
  it("echoes the text with its message number in the conversation", async () => {
    const first = await model.complete(request([user("hello")]));
    expect(first.stopReason).toBe("end_turn");
    expect(first.content).toEqual([{ type: "text", text: 'You said: "hello" (message #1 of this conversation).' }]);

    const third = await model.complete(request([user("a"), assistant("x"), user("b"), assistant("y"), user("  third one  ")]));
    expect(third.content).toEqual([{ type: "text", text: 'You said: "third one" (message #3 of this conversation).' }]);
    expect(third.model).toBe("scripted-test");
  });

  it("does not count tool results as conversation messages", async () => {
    const messages: ChatMessage[] = [
      user("remember a = 1"),
      { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "remember", input: { key: "a", value: "1" } }] },
      { role: "user", content: [{ type: "tool_result", toolUseId: "t1", content: "{}", isError: false }] },
      assistant("ok"),
      user("next"),
    ];
    const res = await model.complete(request(messages, memoryTools));
    expect(res.content).toEqual([{ type: "text", text: 'You said: "next" (message #2 of this conversation).' }]);
  });

  it("streams its text as events", async () => {
    const events: ModelEvent[] = [];
    await model.complete(request([user("hi")]), { onEvent: (e) => events.push(e) });
    expect(events).toEqual([{ kind: "text_delta", text: 'You said: "hi" (message #1 of this conversation).' }]);
  });
});

describe("ScriptedModel: memory commands", () => {
  it.each([
    ["remember color = blue", "color", "blue"],
    ["remember color: deep blue", "color", "deep blue"],
    ["remember color is blue", "color", "blue"],
    ["remember that city is Paris", "city", "Paris"],
    ["Remember pin=1234  ", "pin", "1234"],
  ])("%j calls remember", async (text, key, value) => {
    const block = await toolUseFor(text);
    expect(block.name).toBe("remember");
    expect(block.input).toEqual({ key, value });
    expect(block.id).toMatch(/^toolu_/);
  });

  it.each([
    ["recall color", "color"],
    ["what is color?", "color"],
    ["What is city", "city"],
  ])("%j calls recall", async (text, key) => {
    const block = await toolUseFor(text);
    expect(block.name).toBe("recall");
    expect(block.input).toEqual({ key });
  });

  it("announces the tool call as an event", async () => {
    const events: ModelEvent[] = [];
    const res = await model.complete(request([user("recall color")], memoryTools), { onEvent: (e) => events.push(e) });
    const block = only(res.content);
    expect(events).toEqual([{ kind: "tool_use", id: (block as { id: string }).id, name: "recall" }]);
  });

  it("refuses in plain text when the agent does not have the tool", async () => {
    const withoutTools = await model.complete(request([user("remember color = blue")], []));
    expect(withoutTools.stopReason).toBe("end_turn");
    expect(withoutTools.content).toEqual([{ type: "text", text: "I would use the remember tool, but this agent does not have it." }]);

    const onlyRemember = await model.complete(request([user("recall color")], memoryTools.filter((t) => t.name === "remember")));
    expect(only(onlyRemember.content)).toEqual({ type: "text", text: "I would use the recall tool, but this agent does not have it." });
  });
});

describe("ScriptedModel: `tool <name> <json>`", () => {
  it("calls any offered tool with the parsed JSON arguments", async () => {
    const block = await toolUseFor('tool echo {"text": "hi", "n": [1, 2]}', [echoTool]);
    expect(block.name).toBe("echo");
    expect(block.input).toEqual({ text: "hi", n: [1, 2] });
  });

  it("passes empty arguments as {}", async () => {
    expect((await toolUseFor("tool echo", [echoTool])).input).toEqual({});
  });

  it("passes malformed JSON through as a string, like a model emitting bad JSON", async () => {
    expect((await toolUseFor("tool echo {not json", [echoTool])).input).toBe("{not json");
  });

  it("refuses a tool the agent does not have", async () => {
    const res = await model.complete(request([user('tool delete_everything {"all": true}')], [echoTool]));
    expect(only(res.content)).toEqual({ type: "text", text: "I would use the delete_everything tool, but this agent does not have it." });
  });
});

describe("ScriptedModel: after tool results", () => {
  function afterTool(name: string, input: unknown, content: string, isError = false): ChatMessage[] {
    return [
      user("go"),
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_x", name, input }] },
      { role: "user", content: [{ type: "tool_result", toolUseId: "toolu_x", content, isError }] },
    ];
  }

  async function summary(messages: ChatMessage[]): Promise<string> {
    const res = await model.complete(request(messages, [...memoryTools, echoTool]));
    expect(res.stopReason).toBe("end_turn");
    const block = only(res.content);
    if (block.type !== "text") throw new Error("expected text");
    return block.text;
  }

  it("confirms a remember", async () => {
    expect(await summary(afterTool("remember", { key: "color", value: "blue" }, '{"stored":"color"}'))).toBe(
      "I will remember that color is blue.",
    );
  });

  it("reports a recalled value, or that nothing was remembered", async () => {
    expect(await summary(afterTool("recall", { key: "color" }, JSON.stringify({ key: "color", found: true, value: "blue" })))).toBe(
      "color is blue.",
    );
    expect(await summary(afterTool("recall", { key: "size" }, JSON.stringify({ key: "size", found: false })))).toBe(
      'I have nothing remembered under "size".',
    );
  });

  it("reports a failed call and any other tool's output", async () => {
    expect(await summary(afterTool("echo", {}, "boom", true))).toBe("The echo call failed: boom");
    expect(await summary(afterTool("echo", {}, "hello back"))).toBe("echo returned: hello back");
  });

  it("sums up several results of one response in order", async () => {
    const messages: ChatMessage[] = [
      user("go"),
      {
        role: "assistant",
        content: [
          { type: "tool_use", id: "a", name: "remember", input: { key: "k", value: "v" } },
          { type: "tool_use", id: "b", name: "echo", input: {} },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", toolUseId: "a", content: "{}", isError: false },
          { type: "tool_result", toolUseId: "b", content: "e", isError: false },
        ],
      },
    ];
    expect(await summary(messages)).toBe("I will remember that k is v. echo returned: e");
  });
});

describe("ScriptedModel: `slow <ms> <text>`", () => {
  it("answers the text after the pause", async () => {
    const res = await model.complete(request([user("slow 5 finally")]));
    expect(res.content).toEqual([{ type: "text", text: "finally" }]);
    expect((await model.complete(request([user("slow 1")]))).content).toEqual([{ type: "text", text: "done" }]);
  });

  it("stops waiting when the call is aborted", async () => {
    const ac = new AbortController();
    const pending = model.complete(request([user("slow 60000 never")]), { signal: ac.signal });
    ac.abort(new Error("turn cancelled"));
    await expect(pending).rejects.toThrow("turn cancelled");
    const already = AbortSignal.abort(new Error("was aborted"));
    await expect(model.complete(request([user("slow 60000 never")]), { signal: already })).rejects.toThrow("was aborted");
  });
});

describe("ScriptedModel: usage", () => {
  it("is deterministic, free, and counts about a token per four characters", async () => {
    const req = request([user("hello there"), assistant("hi"), user("x".repeat(10))], memoryTools);
    const a = await model.complete(req);
    const b = await model.complete(req);
    expect(a.usage).toEqual(b.usage);
    expect(a.usage.costUsd).toBe(0);
    expect(a.usage.cacheReadTokens).toBe(0);
    expect(a.usage.cacheWriteTokens).toBe(0);
    expect(a.usage.inputTokens).toBeGreaterThan(0);
    expect(a.usage.outputTokens).toBeGreaterThan(0);
    expect(Number.isInteger(a.usage.inputTokens) && Number.isInteger(a.usage.outputTokens)).toBe(true);

    // 400 more characters of input cost about 100 more input tokens.
    const longer = await model.complete(request([user("hello there"), assistant("hi"), user("x".repeat(410))], memoryTools));
    const extra = longer.usage.inputTokens - a.usage.inputTokens;
    expect(extra).toBeGreaterThanOrEqual(99);
    expect(extra).toBeLessThanOrEqual(101);
    // ...and the echo of them about 100 more output tokens.
    const extraOut = longer.usage.outputTokens - a.usage.outputTokens;
    expect(extraOut).toBeGreaterThanOrEqual(99);
    expect(extraOut).toBeLessThanOrEqual(101);
  });
});
