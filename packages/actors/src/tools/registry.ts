import { z } from "zod";
import type { Clock } from "../clock.ts";
import { systemClock } from "../clock.ts";
import { TimeoutError, ValidationError, errorMessage } from "../errors.ts";
import { WindowCounter } from "./rate-limit.ts";
import type { ToolSpec } from "../model/provider.ts";
import type { ToolOutcome } from "../metrics.ts";
import type { PermissionTier, ToolDefinition, ToolContext, ToolOutput } from "./tool.ts";

/** A tool's answer with how the call ended, for the metrics. */
export type ToolCallResult = ToolOutput & { outcome: ToolOutcome };

export const DEFAULT_TOOL_TIMEOUT_MS = 30_000;

/**
 * Tools that come and go while the host runs (declared through the API,
 * discovered on MCP servers). Lookups are synchronous because they sit on
 * every turn's path: a source keeps its own in-memory view current.
 */
export interface ToolSource {
  get(name: string): ToolDefinition<unknown> | undefined;
  names(): string[];
  /** Re-reads where the tools are declared (a spawn naming a tool this host has not heard of yet). */
  refresh?(): Promise<void>;
}

type Windows = { perAgent?: WindowCounter; perHost?: WindowCounter };

/**
 * The tools a host offers; an agent sees only those its config lists.
 * Tools registered in code come first; then each source, in the order added.
 */
export class ToolRegistry {
  private readonly tools = new Map<string, ToolDefinition<unknown>>();
  private readonly specs = new Map<string, ToolSpec>();
  private readonly limits = new Map<string, Windows>();
  private readonly sources: ToolSource[] = [];
  private readonly clock: Clock;

  /** @param opts.clock the clock rate-limit windows run on (tests pass a ManualClock). */
  constructor(tools: readonly ToolDefinition<any>[] = [], opts: { clock?: Clock } = {}) {
    this.clock = opts.clock ?? systemClock;
    for (const t of tools) this.register(t);
  }

  register(tool: ToolDefinition<any>): void {
    if (this.tools.has(tool.name)) throw new Error(`tool ${tool.name} is registered twice`);
    this.tools.set(tool.name, tool);
    this.specs.set(tool.name, specOf(tool));
  }

  /** Adds tools that change at runtime; a code-registered tool of the same name wins. */
  addSource(source: ToolSource): void {
    this.sources.push(source);
  }

  /** The tool an agent's call of `name` reaches now, wherever it comes from. */
  private lookup(name: string): ToolDefinition<unknown> | undefined {
    const own = this.tools.get(name);
    if (own) return own;
    for (const source of this.sources) {
      const tool = source.get(name);
      if (tool) return tool;
    }
    return undefined;
  }

  has(name: string): boolean {
    return this.lookup(name) !== undefined;
  }

  /** Whether `name` is registered in code (built in): runtime sources cannot shadow it. */
  isRegistered(name: string): boolean {
    return this.tools.has(name);
  }

  /**
   * If any of `names` is unknown here, asks every source to re-read its
   * declarations once, so a tool declared through another host a moment ago
   * is known before a spawn naming it is refused.
   */
  async refreshUnknown(names: readonly string[]): Promise<void> {
    if (names.every((n) => this.has(n))) return;
    await Promise.all(this.sources.map((s) => s.refresh?.()));
  }

  names(): string[] {
    return [...new Set([...this.tools.keys(), ...this.sources.flatMap((s) => s.names())])];
  }

  /** Throws a ValidationError naming `field[i]` for the first unknown tool. */
  assertKnown(names: readonly string[], field: string): void {
    names.forEach((name, i) => {
      if (!this.has(name)) {
        throw new ValidationError(`${field}[${i}]: unknown tool "${name}"; this host offers: ${this.names().join(", ") || "none"}`, {
          field: `${field}[${i}]`,
        });
      }
    });
  }

  /** Takes a slot from the tool's windows; the refusal message if one is full. */
  private overLimit(tool: ToolDefinition<unknown>, agent: string): string | null {
    const l = this.windowsOf(tool);
    if (!l) return null;
    if (l.perAgent && !l.perAgent.take(agent)) {
      return `rate limited: ${tool.name} allows ${tool.rateLimit!.perAgentPerMinute} calls per minute per agent; try again later`;
    }
    if (l.perHost && !l.perHost.take("")) return `rate limited: ${tool.name} allows ${tool.rateLimit!.perHostPerMinute} calls per minute on this host; try again later`;
    return null;
  }

  /**
   * The tool's rate windows. A runtime tool's windows are keyed by its
   * limits too, so redeclaring it with other limits starts new windows.
   */
  private windowsOf(tool: ToolDefinition<unknown>): Windows | undefined {
    const rl = tool.rateLimit;
    if (!rl || (!rl.perAgentPerMinute && !rl.perHostPerMinute)) return undefined;
    const key = `${tool.name}\u0000${rl.perAgentPerMinute ?? 0}\u0000${rl.perHostPerMinute ?? 0}`;
    let w = this.limits.get(key);
    if (!w) {
      w = {
        ...(rl.perAgentPerMinute ? { perAgent: new WindowCounter(rl.perAgentPerMinute, this.clock) } : {}),
        ...(rl.perHostPerMinute ? { perHost: new WindowCounter(rl.perHostPerMinute, this.clock) } : {}),
      };
      this.limits.set(key, w);
    }
    return w;
  }

  /** The tool's own permission tier (an agent's config may override it). */
  permissionOf(name: string): PermissionTier {
    return this.lookup(name)?.permission ?? "auto";
  }

  /**
   * The arguments the tool would run with (its schema's output), or the raw
   * input when they are invalid (the call will be refused as invalid anyway):
   * argument policies decide on exactly what the tool gets.
   */
  argsFor(name: string, rawInput: unknown): unknown {
    const tool = this.tools.get(name);
    if (!tool || !isJsonObject(rawInput)) return rawInput;
    const parsed = tool.input.safeParse(rawInput);
    return parsed.success ? parsed.data : rawInput;
  }

  /** JSON-Schema specs for the model, limited to what the agent may call. */
  specsFor(allowed: readonly string[]): ToolSpec[] {
    // A loop, not flatMap: called for every model call, and flatMap made an array per tool.
    const specs: ToolSpec[] = [];
    for (const n of allowed) {
      const own = this.specs.get(n);
      if (own) specs.push(own);
      else {
        const tool = this.lookup(n);
        if (tool) specs.push(specOf(tool));
      }
    }
    return specs;
  }

  /**
   * Runs one call. Every failure (tool not allowed, invalid arguments, a
   * throw, a timeout) becomes an error result for the model, never a crash.
   */
  async call(name: string, rawInput: unknown, allowed: readonly string[], ctx: ToolContext): Promise<ToolCallResult> {
    const tool = this.lookup(name);
    if (!tool || !allowed.includes(name)) {
      return { isError: true, content: `tool "${name}" is not available to this agent`, outcome: "denied" };
    }
    if (tool.permission === "deny") return { isError: true, content: `tool "${name}" is denied by policy`, outcome: "denied" };
    // The Messages API promises an object; anything else (a string of broken
    // JSON, an array, null) is refused here, whatever the tool's own schema
    // would let through, so a permissive schema never receives it.
    if (!isJsonObject(rawInput)) {
      const got = rawInput === null ? "null" : Array.isArray(rawInput) ? "an array" : typeof rawInput;
      return { isError: true, content: `invalid arguments for ${name}: input: expected a JSON object, got ${got}`, outcome: "invalid" };
    }
    const parsed = tool.input.safeParse(rawInput);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`).join("; ");
      return { isError: true, content: `invalid arguments for ${name}: ${issues}`, outcome: "invalid" };
    }
    const limited = this.overLimit(tool, ctx.agentId);
    if (limited) return { isError: true, content: limited, outcome: "rate_limited" };
    const timeoutMs = tool.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
    // The tool gets its own signal, aborted with the caller's and on timeout,
    // so a call whose result nobody waits for any more can stop working.
    // The caller's cancellation (a drain's deadline, a delete) ends the call
    // at once, whether or not the tool itself listens to its signal.
    const controller = new AbortController();
    let cancelled!: (r: ToolCallResult) => void;
    const cancel = new Promise<ToolCallResult>((resolve) => (cancelled = resolve));
    const onAbort = () => {
      cancelled({ isError: true, content: `${name} cancelled: ${errorMessage(ctx.signal.reason)}`, outcome: "error" });
      controller.abort(ctx.signal.reason);
    };
    if (ctx.signal?.aborted) onAbort();
    else ctx.signal?.addEventListener("abort", onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<ToolCallResult>((resolve) => {
      timer = setTimeout(() => {
        const message = `${name} timed out after ${timeoutMs} ms`;
        resolve({ isError: true, content: message, outcome: "error" }); // first, so the race reports the timeout
        controller.abort(new TimeoutError(message));
      }, timeoutMs);
    });
    try {
      const out = await Promise.race([Promise.resolve(tool.run(parsed.data, { ...ctx, signal: controller.signal })), timeout, cancel]);
      // A result the snapshot schema would reject must not reach the conversation.
      if (typeof out !== "object" || out === null || typeof out.content !== "string") {
        return { isError: true, content: `${name} returned an invalid result (expected {content: string})`, outcome: "error" };
      }
      if ("outcome" in out) return out as ToolCallResult;
      const isError = Boolean((out as ToolOutput).isError);
      const { effects, details } = out as ToolOutput;
      const base: ToolCallResult = (out as ToolOutput).isError === undefined ? { content: out.content, outcome: "ok" } : { content: out.content, isError, outcome: isError ? "error" : "ok" };
      return { ...base, ...(effects ? { effects } : {}), ...(details ? { details } : {}) };
    } catch (e) {
      return { isError: true, content: `${name} failed: ${errorMessage(e)}`, outcome: "error" };
    } finally {
      clearTimeout(timer);
      ctx.signal?.removeEventListener("abort", onAbort);
    }
  }
}

/** What the model is told about a tool: the JSON Schema it was declared with, or its zod schema's. */
function specOf(tool: ToolDefinition<unknown>): ToolSpec {
  if (tool.inputSchema) return { name: tool.name, description: tool.description, inputSchema: tool.inputSchema };
  const { $schema: _ignored, ...inputSchema } = z.toJSONSchema(tool.input, { io: "input" }) as Record<string, unknown>;
  return { name: tool.name, description: tool.description, inputSchema };
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
