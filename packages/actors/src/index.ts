/**
 * @colony/actors: the agent actor, its context and turn loop, model
 * providers, tools, and the snapshot codec and stores.
 */
export * from "./ids.ts";
export * from "./errors.ts";
export { redactUrls } from "./redact.ts";
export { parseJsonOrUndefined } from "./json.ts";
export { messageTiming, serverTiming } from "./message-timing.ts";
export type { Stages } from "./message-timing.ts";
export * from "./clock.ts";
export * from "./logger.ts";
export * from "./metrics.ts";
export * from "./config/agent-config.ts";
export * from "./agent/state.ts";
export * from "./agent/define.ts";
export * from "./agent/turn.ts";
export { COMPACTION_SYSTEM_PROMPT, DEFAULT_COMPACTION, SUMMARY_PREFIX, compact, estimateTokens } from "./agent/compaction.ts";
export * from "./agent/activation.ts";
export * from "./model/messages.ts";
export * from "./model/provider.ts";
export { ScriptedModel } from "./model/scripted.ts";
export * from "./tools/tool.ts";
export { ToolRegistry, DEFAULT_TOOL_TIMEOUT_MS } from "./tools/registry.ts";
export type { ToolSource } from "./tools/registry.ts";
export type { ToolCallResult } from "./tools/registry.ts";
export { WindowCounter } from "./tools/rate-limit.ts";
export type { ToolRateLimit } from "./tools/rate-limit.ts";
export { rememberTool, recallTool } from "./tools/memory-tools.ts";
export { decideTier, policyRuleSchema, policyRulesSchema, POLICY_OPS } from "./tools/policy.ts";
export type { PolicyRule, PolicyCondition, PolicyDecision, PolicyOp } from "./tools/policy.ts";
export { codec, SNAPSHOT_VERSION } from "./snapshot/codec.ts";
export type { AgentHead } from "./snapshot/codec.ts";
export * from "./store/driver.ts";
export { MemoryStoreDriver } from "./store/memory-driver.ts";
export { RedisStoreDriver } from "./store/redis-driver.ts";
export { REDIS_RETRY_AFTER_MS, asRedisUnavailable, clusterOptions, connectRedis, isRedisUnreachable, redisOptions } from "./store/redis-client.ts";
export type { RedisClient } from "./store/redis-client.ts";
export { parseRedisUrl, redisTargetSchema } from "./store/redis-url.ts";
export type { RedisNode, RedisTarget } from "./store/redis-url.ts";
export { agentKeys, AGENT_INDEX_KEY } from "./store/redis-keys.ts";
export { AgentStore } from "./store/agent-store.ts";
export type { LogCursor } from "./store/agent-store.ts";
export { MemoryApprovalIndex, RedisApprovalIndex, pendingApprovalSchema } from "./store/approval-index.ts";
export type { ApprovalIndex, PendingApproval } from "./store/approval-index.ts";
export type { LoadedState, CommitOptions, DeadLetterPage } from "./store/agent-store.ts";
export type { ActorRef, ActorRuntime } from "./runtime/actor-runtime.ts";
export { DEFAULT_PARK_AFTER_MS, NactRuntime, type NactRuntimeOptions } from "./runtime/nact-runtime.ts";
export { AnthropicModel } from "./model/anthropic.ts";
export type { AnthropicModelOptions } from "./model/anthropic.ts";
export { DEFAULT_PRICES, costOf, priceOf } from "./model/pricing.ts";
export type { ModelPrice } from "./model/pricing.ts";
export * from "./transport/envelope.ts";
export * from "./transport/transport.ts";
export { subjects } from "./transport/subjects.ts";
export { encodeEnvelope, decodeEnvelope, newEnvelope, InvalidEnvelopeError } from "./transport/envelope-codec.ts";
export type { NewEnvelope } from "./transport/envelope-codec.ts";
export { call, defineRpc, handle, rpcHandler, serveRpcs } from "./transport/rpc.ts";
export type { CallOptions, Rpc, RpcHandler, RpcReply, RpcRequest, RpcRoute } from "./transport/rpc.ts";
export { newTraceparent, childTraceparent, parseTraceparent, isTraceparent, toolCallTraceparent, toolCallSpanId } from "./transport/traceparent.ts";
export type { TraceContext } from "./transport/traceparent.ts";
// The wire's error envelopes and subject checks stay inside the transport; a
// caller sees only the ColonyError a remote side threw, rebuilt.
export { RemoteError } from "./transport/errors-wire.ts";
export { DEFAULT_DRAIN_TIMEOUT_MS } from "./transport/shared.ts";
export type { MessageDirection, TransportOptions } from "./transport/shared.ts";
export { MemoryBus, MemoryTransport } from "./transport/memory-transport.ts";
export { NatsTransport, fromNatsError, DEFAULT_RECONNECT_TIME_WAIT_MS, DEFAULT_PING_INTERVAL_MS } from "./transport/nats-transport.ts";
export type { NatsTransportOptions } from "./transport/nats-transport.ts";
export {
  ANTHROPIC_DEFAULT_BASE_URL,
  DEFAULT_SDK_MAX_RETRIES,
  DEFAULT_MODEL_TIMEOUT_MS,
  DEFAULT_MID_STREAM_RETRIES,
  DEFAULT_RETRY_BASE_MS,
  DEFAULT_RETRY_MAX_MS,
} from "./model/anthropic.ts";
export { listPrice, mergePrices } from "./model/pricing.ts";
export type { PriceTable } from "./model/pricing.ts";
export { ModelCallLimiter, DEFAULT_MAX_CONCURRENT_MODEL_CALLS } from "./model/limiter.ts";
export type { ModelCallLimiterOptions, ReleaseSlot } from "./model/limiter.ts";
export { CircuitBreaker, DEFAULT_CIRCUIT_FAILURE_THRESHOLD, DEFAULT_CIRCUIT_OPEN_MS, CIRCUIT_TRIAL_BUSY_RETRY_MS } from "./model/circuit-breaker.ts";
export type { CallOutcome, CircuitBreakerOptions, CircuitPermit, CircuitSnapshot, CircuitState } from "./model/circuit-breaker.ts";
export * from "./agent/events.ts";
