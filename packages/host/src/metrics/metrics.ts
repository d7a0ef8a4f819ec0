import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { DeferredCounts } from "./deferred-counts.ts";
import type { ActivationReason, AgentMetrics, MessageOutcome, ModelMetrics, TokenKind, ToolOutcome } from "@colony/actors";

/** Turns run from milliseconds (scripted model) to minutes (tool-heavy model turns). */
const TURN_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Snapshot writes take tens of microseconds to a few milliseconds. */
const SNAPSHOT_WRITE_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5];
/** Model calls take from a few hundred milliseconds to minutes (long streamed answers). */
const LLM_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300];
/** Snapshots from a few hundred bytes (new agent) to megabytes (long context). */
const SNAPSHOT_BYTES_BUCKETS = [256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304];

/**
 * Every Colony metric, defined in one place (their names and labels are a
 * contract: dashboards and alerts in deploy/ rely on them). Each host owns its own registry so that several hosts can live
 * in one test process.
 */
export class ColonyMetrics implements AgentMetrics, ModelMetrics {
  readonly registry = new Registry();

  private activeSource: () => ReadonlyMap<string, number> = () => new Map();

  // Read from the activation table at scrape time, so the gauge cannot drift.
  readonly agentsActive = new Gauge({
    name: "colony_agents_active",
    help: "Agents with a live activation on this host.",
    labelNames: ["type"] as const,
    registers: [this.registry],
    collect: () => {
      this.agentsActive.reset();
      for (const [type, n] of this.activeSource()) this.agentsActive.set({ type }, n);
    },
  });
  readonly activations = new Counter({
    name: "colony_agent_activations_total",
    help: "Agent activations on this host, by why they happened (new, restore, failover).",
    labelNames: ["type", "reason"] as const,
    registers: [this.registry],
  });
  readonly passivations = new Counter({
    name: "colony_agent_passivations_total",
    help: "Agent activations ended on this host (idle passivation or drain).",
    labelNames: ["type"] as const,
    registers: [this.registry],
  });
  /** Counted per message (twice), added to `messages` when it is read. */
  private readonly messageCounts = new DeferredCounts<"type" | "outcome">(["type", "outcome"]);
  readonly messages: Counter<"type" | "outcome"> = new Counter({
    name: "colony_messages_total",
    help: "Messages handled by agents on this host, by outcome (accepted, duplicate, completed, failed, rejected).",
    labelNames: ["type", "outcome"] as const,
    registers: [this.registry],
    collect: (): void => this.messageCounts.flushInto(this.messages),
  });
  readonly turnDuration = new Histogram({
    name: "colony_turn_duration_seconds",
    help: "Time from a turn's start to its committed result.",
    labelNames: ["type"] as const,
    buckets: TURN_BUCKETS,
    registers: [this.registry],
  });
  readonly snapshotWriteDuration = new Histogram({
    name: "colony_snapshot_write_duration_seconds",
    help: "Time to encode and durably write one agent snapshot (fenced commit).",
    buckets: SNAPSHOT_WRITE_BUCKETS,
    registers: [this.registry],
  });
  readonly snapshotBytes = new Histogram({
    name: "colony_snapshot_bytes",
    help: "Size of agent snapshots written, in bytes.",
    buckets: SNAPSHOT_BYTES_BUCKETS,
    registers: [this.registry],
  });

  readonly transportMessages = new Counter({
    name: "colony_transport_messages_total",
    help: "Envelopes this process sent (out) and received (in) over the transport.",
    labelNames: ["direction"] as const,
    registers: [this.registry],
  });
  /** Counted per lookup (every message), added to `directoryLookups` when it is read. */
  private readonly lookupCounts = new DeferredCounts<"result">(["result"]);
  readonly directoryLookups: Counter<"result"> = new Counter({
    name: "colony_directory_lookups_total",
    help: "Placement lookups by this host: hit (cached), miss (asked the directory), error.",
    labelNames: ["result"] as const,
    registers: [this.registry],
    collect: (): void => this.lookupCounts.flushInto(this.directoryLookups),
  });

  readonly llmRequests = new Counter({
    name: "colony_llm_requests_total",
    help: "Model API requests, by model and status (ok, or the error: 429, 529, 5xx, stream_error, timeout, circuit_open...).",
    labelNames: ["model", "status"] as const,
    registers: [this.registry],
  });
  readonly llmTokenCounter = new Counter({
    name: "colony_llm_tokens_total",
    help: "Tokens billed by the model API, by model and kind (input, output, cache_read, cache_write).",
    labelNames: ["model", "kind"] as const,
    registers: [this.registry],
  });
  readonly llmRequestDuration = new Histogram({
    name: "colony_llm_request_duration_seconds",
    help: "Time from sending a model request to its complete (streamed) response, retries included.",
    labelNames: ["model"] as const,
    buckets: LLM_BUCKETS,
    registers: [this.registry],
  });
  readonly llmCostCounter = new Counter({
    name: "colony_llm_cost_usd_total",
    help: "Spend on model calls in US dollars, from the configured price table.",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });
  readonly toolCalls = new Counter({
    name: "colony_tool_calls_total",
    help: "Tool calls by tool and outcome (ok, error, invalid, denied, rate_limited).",
    labelNames: ["tool", "outcome"] as const,
    registers: [this.registry],
  });
  readonly circuitBreakerTrips = new Counter({
    name: "colony_circuit_breaker_trips_total",
    help: "Agents suspended because their circuit opened (a loop of identical tool calls, a budget blown).",
    labelNames: ["type"] as const,
    registers: [this.registry],
  });
  readonly escalations = new Counter({
    name: "colony_escalations_total",
    help: "Escalations to a person (suspended agents, repeated worker failures).",
    labelNames: ["type"] as const,
    registers: [this.registry],
  });

  readonly deadLetters = new Counter({
    name: "colony_dead_letters_total",
    help: "Messages moved to their agent's dead-letter list (their turn kept failing, or a budget was spent).",
    labelNames: ["type"] as const,
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Where `colony_agents_active` reads its counts from at scrape time. */
  trackActive(source: () => ReadonlyMap<string, number>): void {
    this.activeSource = source;
  }

  activated(type: string, reason: ActivationReason): void {
    this.activations.inc({ type, reason });
  }
  passivated(type: string): void {
    this.passivations.inc({ type });
  }
  message(type: string, outcome: MessageOutcome): void {
    this.messageCounts.add(type, outcome);
  }
  /** A placement lookup by this host (hit, miss or error). */
  directoryLookup(result: string): void {
    this.lookupCounts.add(result);
  }
  turnFinished(type: string, seconds: number): void {
    this.turnDuration.observe({ type }, seconds);
  }
  toolCall(tool: string, outcome: ToolOutcome): void {
    this.toolCalls.inc({ tool, outcome });
  }
  circuitBreakerTripped(type: string): void {
    this.circuitBreakerTrips.inc({ type });
  }
  escalated(type: string): void {
    this.escalations.inc({ type });
  }
  deadLettered(type: string): void {
    this.deadLetters.inc({ type });
  }
  llmRequest(model: string, status: string, seconds: number): void {
    this.llmRequests.inc({ model, status });
    this.llmRequestDuration.observe({ model }, seconds);
  }
  llmTokens(model: string, kind: TokenKind, tokens: number): void {
    this.llmTokenCounter.inc({ model, kind }, tokens);
  }
  llmCost(model: string, usd: number): void {
    this.llmCostCounter.inc({ model }, usd);
  }
  snapshotWritten(seconds: number, bytes: number): void {
    this.snapshotWriteDuration.observe(seconds);
    this.snapshotBytes.observe(bytes);
  }
}
