import type { Clock, ModelProvider, ToolRegistry } from "@colony/actors";
import type { AgentTypeRegistry } from "@colony/actors";
import { ScriptedModel, silentLogger } from "@colony/actors";
import { WaitTimeoutError, waitFor } from "@colony/actors/testing";
import type { HostConfig } from "../config.ts";
import { EmbeddedCluster } from "../embedded.ts";
import type { EmbeddedOptions } from "../embedded.ts";
import type { HostNode } from "../node.ts";

export interface TestClusterOptions {
  hosts?: number;
  model?: ModelProvider;
  clock?: Clock;
  config?: Partial<HostConfig>;
  types?: AgentTypeRegistry;
  tools?: ToolRegistry;
  storage?: EmbeddedOptions["storage"];
  /** The first host's metrics; pass the same instance to a model built outside (AnthropicModel's `metrics`) to see its counts in /metrics. */
  metrics?: EmbeddedOptions["metrics"];
  /** Values behind `{{secret:NAME}}` in declared HTTP tools. */
  secrets?: EmbeddedOptions["secrets"];
  logger?: EmbeddedOptions["logger"];
}

export function testConfig(overrides: Partial<HostConfig> = {}): HostConfig {
  return {
    httpHost: "127.0.0.1",
    httpPort: 0,
    hostId: `test-${Math.random().toString(36).slice(2, 8)}`,
    idleMs: 60_000,
    drainMs: 5_000,
    waitTimeoutMs: 10_000,
    logLevel: "silent",
    heartbeatMs: 50,
    failureTimeoutMs: 400,
    placement: "least-loaded",
    stallFence: false,
    modelConcurrency: 8,
    connectTimeoutMs: 10_000,
    ...overrides,
  };
}

/**
 * A whole cluster in this process (directory + N hosts, in-memory bus and
 * store, scripted model). `await using c = await startTestCluster({hosts: 3})`.
 */
export async function startTestCluster(opts: TestClusterOptions = {}): Promise<EmbeddedCluster & AsyncDisposable> {
  const cluster = await EmbeddedCluster.start({
    config: testConfig(opts.config),
    model: opts.model ?? new ScriptedModel(),
    logger: opts.logger ?? silentLogger,
    hosts: opts.hosts ?? 1,
    defaultMetrics: false,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.types ? { types: opts.types } : {}),
    ...(opts.tools ? { tools: opts.tools } : {}),
    ...(opts.storage ? { storage: opts.storage } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.secrets ? { secrets: opts.secrets } : {}),
  });
  return Object.assign(cluster, { [Symbol.asyncDispose]: () => cluster.shutdown() });
}

/** One in-process host (with its embedded directory); shutting it down stops both. */
export async function startTestHost(opts: Omit<TestClusterOptions, "hosts"> = {}): Promise<HostNode & AsyncDisposable> {
  const cluster = await startTestCluster(opts);
  const host = cluster.hosts[0]!;
  const stopHost = host.shutdown.bind(host);
  const shutdown = async () => {
    await stopHost();
    await cluster.directory.shutdown();
  };
  return Object.assign(host, { shutdown, [Symbol.asyncDispose]: shutdown });
}

/**
 * Retries an assertion until it passes or the deadline ends the test with
 * its last failure: waiting on conditions, never on fixed sleeps (the same
 * loop as `waitFor` of @colony/actors/testing, for checks that throw).
 */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5000): Promise<T> {
  try {
    return (await waitFor(async () => ({ value: await check() }), { timeoutMs, intervalMs: 5 })).value;
  } catch (e) {
    throw e instanceof WaitTimeoutError && e.lastError !== undefined ? e.lastError : e;
  }
}

/** JSON request helper against a host's fetch handler (no socket). */
export async function call(node: HostNode, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, headers: { "content-type": "application/json", ...headers } };
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  const res = await node.app.request(path, init);
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, body: json, text, headers: res.headers };
}


/** An agent's whole conversation, read page by page through GET …/messages. */
export async function conversation(node: HostNode, id: string): Promise<any> {
  const out: any[] = [];
  for (let cursor: string | null = "0"; cursor !== null; ) {
    const res = await call(node, "GET", `/v1/agents/${id}/messages?cursor=${cursor}`);
    if (res.status !== 200) throw new Error(`GET /v1/agents/${id}/messages: ${res.status} ${res.text}`);
    out.push(...res.body.messages);
    cursor = res.body.nextCursor;
  }
  return out;
}
