import type Anthropic from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { MAX_CACHE_BREAKPOINTS, markCacheBreakpoints, toParams } from "../src/model/anthropic-wire.ts";
import type { ChatMessage, ContentBlock } from "../src/model/messages.ts";
import type { ModelRequest, ToolSpec } from "../src/model/provider.ts";

// Where the request building puts prompt-cache breakpoints (pure: no server).

const tool = (name: string): ToolSpec => ({ name, description: `the ${name} tool`, inputSchema: { type: "object" } });
const text = (t: string): ContentBlock => ({ type: "text", text: t });
const msg = (role: ChatMessage["role"], ...content: ContentBlock[]): ChatMessage => ({ role, content });
const request = (over: Partial<ModelRequest> = {}): ModelRequest => ({
  model: "claude-sonnet-4-5",
  system: "You are helpful.",
  messages: [msg("user", text("hi"))],
  tools: [tool("a"), tool("b")],
  maxTokens: 100,
  ...over,
});

type Marked = { cache_control?: unknown };
/** Where the breakpoints are, as "tool:<i>", "system:<i>", "message:<i>.<block>". */
function breakpoints(params: Anthropic.MessageCreateParamsNonStreaming): string[] {
  const out: string[] = [];
  params.tools?.forEach((t, i) => (t as Marked).cache_control && out.push(`tool:${i}`));
  if (Array.isArray(params.system)) params.system.forEach((b, i) => b.cache_control && out.push(`system:${i}`));
  params.messages.forEach((m, i) => {
    if (typeof m.content !== "string") m.content.forEach((b, j) => (b as Marked).cache_control && out.push(`message:${i}.${j}`));
  });
  return out;
}

/** A tool-loop step: an assistant asking for `n` tools, the user message with their results. */
const step = (n: number, tag: string): ChatMessage[] => [
  msg("assistant", ...Array.from({ length: n }, (_, i): ContentBlock => ({ type: "tool_use", id: `${tag}${i}`, name: "a", input: { i } }))),
  msg("user", ...Array.from({ length: n }, (_, i): ContentBlock => ({ type: "tool_result", toolUseId: `${tag}${i}`, content: `result ${i}`, isError: false }))),
];

describe("toParams: prompt-cache breakpoints", () => {
  it("first call: the last tool, the system prompt and the only message", () => {
    const params = toParams(request());
    expect(breakpoints(params)).toEqual(["tool:1", "system:0", "message:0.0"]);
    expect(params.system).toEqual([{ type: "text", text: "You are helpful.", cache_control: { type: "ephemeral" } }]);
  });

  it("later calls also mark the user message that ended the previous call, so its cache is read whatever was appended since", () => {
    const messages = [msg("user", text("find things")), ...step(12, "x"), ...step(12, "y")];
    const params = toParams(request({ messages }));
    // messages: 0 user, 1 assistant, 2 user (results x), 3 assistant, 4 user (results y): 24 blocks since the previous breakpoint.
    expect(breakpoints(params)).toEqual(["tool:1", "system:0", "message:2.11", "message:4.11"]);
  });

  it("never more than four, whatever the conversation", () => {
    const shapes: ModelRequest[] = [];
    for (const tools of [[], [tool("a")], [tool("a"), tool("b"), tool("c")]])
      for (const system of ["", "sys"])
        for (let turns = 1; turns <= 6; turns++) {
          const messages: ChatMessage[] = [msg("user", text("go"))];
          for (let t = 1; t < turns; t++) messages.push(...step(t, `t${t}`));
          shapes.push(request({ tools, system, messages }));
        }
    for (const shape of shapes) expect(breakpoints(toParams(shape)).length).toBeLessThanOrEqual(MAX_CACHE_BREAKPOINTS);
    expect(Math.max(...shapes.map((s) => breakpoints(toParams(s)).length))).toBe(MAX_CACHE_BREAKPOINTS);
  });

  it("never on an empty block: blank text and empty tool results are skipped for the block before them", () => {
    const messages: ChatMessage[] = [
      msg("user", text("question"), { type: "tool_result", toolUseId: "t", content: "", isError: false }),
      msg("assistant", text("answer")),
      msg("user", text("more"), text("   ")),
    ];
    const params = toParams(request({ system: "  ", tools: [], messages }));
    expect(breakpoints(params)).toEqual(["message:0.0", "message:2.0"]);
    expect(params.system).toBe("  ");
    // A message whose only block is empty gets the "(empty)" placeholder, which may be marked.
    const onlyEmpty = toParams(request({ messages: [msg("user", text(""))] }));
    expect(onlyEmpty.messages[0]).toEqual({ role: "user", content: [{ type: "text", text: "(empty)", cache_control: { type: "ephemeral" } }] });
    // Nothing cacheable at all in the final message: no breakpoint there, and no error.
    const blank = toParams(request({ messages: [msg("user", { type: "tool_result", toolUseId: "t", content: " ", isError: false })] }));
    expect(breakpoints(blank)).toEqual(["tool:1", "system:0"]);
  });

  it("deterministic: the same conversation gives the same bytes, and the prefix a call marked is unchanged in the next call", () => {
    const first = [msg("user", text("one"))];
    const second = [...first, msg("assistant", text("reply")), msg("user", text("two"))];
    expect(JSON.stringify(toParams(request({ messages: second })))).toBe(JSON.stringify(toParams(request({ messages: second }))));
    // The previous call's last block carries the same marker in both calls: same bytes, same cache entry.
    const a = toParams(request({ messages: first }));
    const b = toParams(request({ messages: second }));
    expect(b.messages[0]).toEqual(a.messages[0]);
    expect(b.tools).toEqual(a.tools);
    expect(b.system).toEqual(a.system);
  });

  it("returns a copy: the params it was given are not changed", () => {
    const params = toParams(request({ messages: [msg("user", text("one")), msg("assistant", text("two")), msg("user", text("three"))] }), { promptCaching: false });
    const copy = structuredClone(params);
    expect(breakpoints(markCacheBreakpoints(params))).toHaveLength(4);
    expect(params).toEqual(copy);
  });

  it("none when caching is off for the provider or for the request", () => {
    expect(breakpoints(toParams(request(), { promptCaching: false }))).toEqual([]);
    expect(toParams(request(), { promptCaching: false }).system).toBe("You are helpful.");
    expect(breakpoints(toParams(request({ cache: false })))).toEqual([]);
  });
});
