import type { ChatMessage, ContentBlock, ToolUseBlock } from "./messages.ts";
import { textOf } from "./messages.ts";
import { contentChars, contextTotals } from "./context-size.ts";
import type { ModelCallOptions, ModelProvider, ModelRequest, ModelResponse } from "./provider.ts";
import { CLAUDE_MODEL_PATTERN } from "./provider.ts";
import { COMPACTION_SYSTEM_PROMPT } from "../agent/compaction.ts";
import { parseJsonOrUndefined } from "../json.ts";
import { sleep } from "../clock.ts";

/** Longest pause the `slow` command accepts, so a typo cannot hang a turn. */
export const SCRIPTED_MAX_DELAY_MS = 60_000;

/**
 * The offline model: deterministic replies from a few commands, so that a
 * reply, a tool call and memory can be shown and tested without a network.
 *
 * | the user says                        | the model                                    |
 * |--------------------------------------|----------------------------------------------|
 * | `remember <key> = <value>` (or `:`, `is`) | calls `remember {key, value}`           |
 * | `recall <key>` / `what is <key>?`    | calls `recall {key}`                         |
 * | `tool <name> <json>`                 | calls any tool with those arguments          |
 * | `delegate <profile> <task>`          | calls `delegate {worker, task}`              |
 * | `fanout N p1,p2 <task>`              | N `delegate` calls at once, profiles in turn |
 * | `slow <ms> <text>`                   | waits ms (≤ 60 s), then answers `<text>`     |
 * | anything else                        | `You said: "<text>" (message #N of this conversation).` |
 *
 * A tool command is only followed when the agent has that tool; otherwise
 * the model says so in plain text. After tool results it sums them up.
 * Token usage is counted as characters / 4; the scripted model costs nothing.
 */
export class ScriptedModel implements ModelProvider {
  readonly name = "scripted";

  /** Stands in, offline, for the Claude models (and names starting with `scripted`); nothing else. */
  refuses(model: string): string | null {
    if (CLAUDE_MODEL_PATTERN.test(model) || model.startsWith("scripted")) return null;
    return `this host runs the offline scripted model (ANTHROPIC_API_KEY is unset), which stands in for claude-* models only, not "${model}"`;
  }

  async complete(request: ModelRequest, options: ModelCallOptions = {}): Promise<ModelResponse> {
    const last = request.messages[request.messages.length - 1];
    let content: ContentBlock[];
    if (request.system === COMPACTION_SYSTEM_PROMPT) {
      content = [{ type: "text", text: summarizeTranscript(last ? textOf(last.content) : "") }];
    } else if (last && last.content.some((b) => b.type === "tool_result")) {
      content = [{ type: "text", text: summarizeToolResults(request.messages) }];
    } else {
      const text = last ? textOf(last.content).trim() : "";
      content = await this.respondTo(text, request, options);
    }
    for (const block of content) {
      if (block.type === "text") options.onEvent?.({ kind: "text_delta", text: block.text });
      if (block.type === "tool_use") options.onEvent?.({ kind: "tool_use", id: block.id, name: block.name });
    }
    const inputChars = request.system.length + contextTotals(request.messages).chars;
    const outputChars = contentChars(content);
    return {
      content,
      stopReason: content.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn",
      usage: {
        inputTokens: Math.ceil(inputChars / 4),
        outputTokens: Math.ceil(outputChars / 4),
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        costUsd: 0,
      },
      model: request.model,
    };
  }

  private async respondTo(text: string, request: ModelRequest, options: ModelCallOptions): Promise<ContentBlock[]> {
    const turnNo = contextTotals(request.messages).userTurns;
    const toolUse = (name: string, input: unknown): ContentBlock[] => {
      if (!request.tools.some((t) => t.name === name)) {
        return [{ type: "text", text: `I would use the ${name} tool, but this agent does not have it.` }];
      }
      return [{ type: "tool_use", id: `toolu_s${turnNo}_${name}`, name, input }];
    };

    let m = /^remember\s+(?:that\s+)?([^\s=:]+)\s*(?:=|:|\s+is\s+)\s*(.+)$/is.exec(text);
    if (m) return toolUse("remember", { key: m[1], value: m[2]!.trim() });
    m = /^(?:recall\s+([^\s?]+)|what\s+is\s+([^\s?]+)\s*\??)$/i.exec(text);
    if (m) return toolUse("recall", { key: m[1] ?? m[2] });
    m = /^tool\s+([a-zA-Z0-9_-]+)\s*(.*)$/s.exec(text);
    if (m) return toolUse(m[1]!, parseArgs(m[2]!));
    m = /^delegate\s+([a-z][a-z0-9-]*)\s+(.+)$/s.exec(text);
    if (m) return toolUse("delegate", { worker: m[1], task: m[2] });
    m = /^fanout\s+(\d+)\s+([a-z0-9,-]+)\s+(.+)$/s.exec(text);
    if (m && request.tools.some((t) => t.name === "delegate")) {
      const n = Math.min(Number(m[1]), 50);
      const profiles = m[2]!.split(",");
      return Array.from({ length: n }, (_, i): ContentBlock => ({
        type: "tool_use",
        id: `toolu_s${turnNo}_fan${i}`,
        name: "delegate",
        input: { worker: profiles[i % profiles.length], task: `${m![3]} (part ${i + 1} of ${n})` },
      }));
    }
    m = /^slow\s+(\d+)\s*(.*)$/s.exec(text);
    if (m) {
      await sleep(Math.min(Number(m[1]), SCRIPTED_MAX_DELAY_MS), options.signal ? { signal: options.signal } : {});
      return [{ type: "text", text: m[2] || "done" }];
    }
    return [{ type: "text", text: `You said: "${text}" (message #${turnNo} of this conversation).` }];
  }
}

function parseArgs(raw: string): unknown {
  if (raw.trim() === "") return {};
  try {
    return JSON.parse(raw);
  } catch {
    // Malformed arguments are passed on as they are, like a model that emits bad JSON.
    return raw;
  }
}

function summarizeToolResults(messages: readonly ChatMessage[]): string {
  const results = messages[messages.length - 1]!.content;
  const uses = new Map<string, ToolUseBlock>();
  for (const m of messages) for (const b of m.content) if (b.type === "tool_use") uses.set(b.id, b);
  const parts: string[] = [];
  for (const r of results) {
    if (r.type !== "tool_result") continue;
    const use = uses.get(r.toolUseId);
    const input = (use?.input ?? {}) as Record<string, unknown>;
    if (r.isError) parts.push(`The ${use?.name ?? "tool"} call failed: ${r.content}`);
    else if (use?.name === "remember") parts.push(`I will remember that ${String(input.key)} is ${String(input.value)}.`);
    else if (use?.name === "delegate") parts.push(`[${String(input.worker)}] ${r.content}`);
    else if (use?.name === "recall") {
      const found = parseJsonOrUndefined(r.content) as { found?: boolean; value?: string } | undefined;
      parts.push(found?.found ? `${String(input.key)} is ${found.value}.` : `I have nothing remembered under "${String(input.key)}".`);
    } else parts.push(`${use?.name ?? "tool"} returned: ${r.content}`);
  }
  return parts.join(" ");
}

/**
 * The scripted summary: what the user said, in order, carrying over any
 * earlier summary (a deterministic stand-in for a model's summary).
 */
function summarizeTranscript(transcript: string): string {
  const said: string[] = [];
  for (const line of transcript.split("\n")) {
    if (line.startsWith("user: ") && !line.startsWith("user: [Summary")) said.push(JSON.stringify(line.slice(6)));
    else if (line.startsWith(EARLIER)) said.push(line.slice(EARLIER.length).replace(/\.$/, ""));
  }
  return `${EARLIER}${said.join(", ")}.`;
}

const EARLIER = "Earlier, the user said: ";

