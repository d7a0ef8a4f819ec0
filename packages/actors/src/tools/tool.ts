import type { z } from "zod";
import type { AgentState } from "../agent/state.ts";
import type { AgentId, MessageId } from "../ids.ts";
import type { Usage } from "../model/messages.ts";
import type { ToolRateLimit } from "./rate-limit.ts";

/** `auto` runs at once; `approval` waits for a person; `deny` never runs. */
export type PermissionTier = "auto" | "approval" | "deny";

/** The agent's own durable key-value memory, as a tool sees it. */
export interface MemoryAccess {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

export interface ToolContext {
  agentId: AgentId;
  messageId: MessageId;
  toolUseId: string;
  /** Stable across redeliveries of the same call: (agent id, message id, tool-use id). */
  idempotencyKey: string;
  memory: MemoryAccess;
  signal: AbortSignal;
  /** The calling agent's state as of the call (read-only): its config, children, depth. */
  agent: Readonly<AgentState>;
  /** W3C trace context of the message being handled, for calls that reach other agents. */
  traceparent?: string;
  /** Calls to the same tool earlier in the same model response (they run in parallel with this one). */
  siblingsBefore?: number;
  /** Records a child agent in the caller's state at once (visible while the call still runs). */
  reportChild?: (id: string) => void;
}

/** What a tool call changed in the calling agent besides its result. */
export interface ToolEffects {
  /** Agents the call created as this agent's children (delegation). */
  children?: string[];
  /** Children found deleted: they leave the agent's `children`. */
  removedChildren?: string[];
  /** Spend incurred on this agent's behalf (a worker's usage counts against its supervisor's budget). */
  usage?: Usage;
  /** Something a person should look at. */
  escalation?: { code: string; reason: string };
}

/** A tool's answer; `isError` results go back to the model as errors, never crash the turn. */
export interface ToolOutput {
  content: string;
  isError?: boolean;
  effects?: ToolEffects;
  /** What the execution trace records about the call besides its result (an HTTP tool's status, attempts). Never secrets. */
  details?: Record<string, string | number | boolean>;
}

/**
 * A tool an agent may call. Its input is a zod schema: arguments are parsed
 * before `run` is called, and invalid ones go back to the model as an error.
 */
export interface ToolDefinition<I = unknown> {
  name: string;
  description: string;
  input: z.ZodType<I>;
  /**
   * The JSON Schema the model sees, when the tool was declared in JSON
   * Schema (an HTTP or MCP tool): given as written instead of regenerated
   * from `input`. `input` still validates every call.
   */
  inputSchema?: Record<string, unknown>;
  permission?: PermissionTier;
  timeoutMs?: number;
  /** Calls per minute, per agent and per host; calls over it get a rate-limited error result. */
  rateLimit?: ToolRateLimit;
  run(input: I, ctx: ToolContext): Promise<ToolOutput> | ToolOutput;
}

/** Identity helper that keeps the input type of `run` tied to the schema. */
export function defineTool<I>(tool: ToolDefinition<I>): ToolDefinition<I> {
  return tool;
}
