import type { AgentId, Clock, ModelProvider, StoreDriver } from "@colony/actors";
import { AgentTypeRegistry, MemoryStoreDriver, ScriptedModel, silentLogger } from "@colony/actors";
import type { HostConfig } from "../config.ts";
import { HostNode } from "../node.ts";
import type { ToolRegistry } from "@colony/actors";

export interface TestHostOptions {
  driver?: StoreDriver;
  model?: ModelProvider;
  clock?: Clock;
  config?: Partial<HostConfig>;
  types?: AgentTypeRegistry;
  tools?: ToolRegistry;
  claim?: (id: AgentId) => Promise<number>;
}

/**
 * An in-process host on a free loopback port with a memory store, the
 * scripted model and no default process metrics, unless told otherwise.
 * `await using host = await startTestHost()` shuts it down at scope end.
 */
export async function startTestHost(opts: TestHostOptions = {}): Promise<HostNode & AsyncDisposable> {
  const config: HostConfig = {
    httpHost: "127.0.0.1",
    httpPort: 0,
    hostId: `test-${Math.random().toString(36).slice(2, 8)}`,
    idleMs: 60_000,
    drainMs: 5_000,
    waitTimeoutMs: 10_000,
    logLevel: "silent",
    ...opts.config,
  };
  const node = await HostNode.start({
    config,
    driver: opts.driver ?? new MemoryStoreDriver(),
    model: opts.model ?? new ScriptedModel(),
    logger: silentLogger,
    defaultMetrics: false,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.types ? { types: opts.types } : {}),
    ...(opts.tools ? { tools: opts.tools } : {}),
    ...(opts.claim ? { claim: opts.claim } : {}),
  });
  return Object.assign(node, { [Symbol.asyncDispose]: () => node.shutdown() });
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

export { AgentTypeRegistry };
