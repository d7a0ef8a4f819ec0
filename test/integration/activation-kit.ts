/**
 * One agent's activation on real Redis, with a model that counts its calls
 * and can be held at a chosen call: the pieces the actor-guarantee tests share.
 */
import net from "node:net";
import { Redis } from "ioredis";
import type { AgentId, AgentKey, AgentType, HostId, InboxMessage, Logger, ModelCallOptions, ModelProvider, ModelRequest, ModelResponse } from "@colony/actors";
import {
  Activation,
  AgentStore,
  COMPACTION_SYSTEM_PROMPT,
  MemoryApprovalIndex,
  NactRuntime,
  RedisStoreDriver,
  ScriptedModel,
  ToolRegistry,
  initialState,
  newMessageId,
  noopMetrics,
  rememberTool,
  resolveConfig,
  silentLogger,
  systemClock,
} from "@colony/actors";
import type { AgentConfigInput, AgentState } from "@colony/actors";
import { claim } from "@colony/actors/testing";

/** The scripted model, counting calls; `hold` may return a promise the call waits on first. */
export class CountingModel implements ModelProvider {
  readonly name = "counting";
  calls = 0;
  compactions = 0;
  hold: ((req: ModelRequest, n: number) => Promise<void> | undefined) | undefined;
  constructor(private readonly inner: ModelProvider = new ScriptedModel()) {}
  async complete(req: ModelRequest, opts?: ModelCallOptions): Promise<ModelResponse> {
    const n = ++this.calls;
    if (req.system === COMPACTION_SYSTEM_PROMPT) this.compactions++;
    await this.hold?.(req, n);
    return this.inner.complete(req, opts);
  }
}

/** A promise with its resolver outside. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** A logger keeping the messages of error lines (what the activation reports when a commit fails). */
export function recordingLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  const logger: Logger & { errors: string[] } = {
    errors,
    debug() {},
    info() {},
    warn() {},
    error(_f, msg) {
      errors.push(msg);
    },
    child: () => logger,
  };
  return logger;
}

export interface Kit {
  id: AgentId;
  store: AgentStore;
  model: CountingModel;
  runtime: NactRuntime;
  logger: ReturnType<typeof recordingLogger>;
  start(epoch?: number): Promise<Activation>;
  message(content: string, idempotencyKey?: string): InboxMessage;
  close(): Promise<void>;
}

/** Creates a fresh agent in Redis at `url` (or through a proxy's url) and what it takes to activate it. */
export async function agentKit(
  url: string,
  o: { config?: AgentConfigInput; tools?: ConstructorParameters<typeof ToolRegistry>[0]; model?: CountingModel; prepare?: (s: AgentState) => AgentState } = {},
): Promise<Kit> {
  const redis = new Redis(url);
  const store = new AgentStore(new RedisStoreDriver(redis));
  const key = `k${Math.random().toString(36).slice(2, 10)}`;
  const id = `assistant/${key}` as AgentId;
  const config = resolveConfig({ tools: ["remember", "recall"] }, o.config);
  const state = initialState(id, "assistant" as AgentType, key as AgentKey, config, Date.now());
  await store.create(o.prepare ? o.prepare(state) : state);
  const model = o.model ?? new CountingModel();
  const runtime = new NactRuntime();
  const logger = recordingLogger();
  const tools = new ToolRegistry([rememberTool, ...(o.tools ?? [])]);
  return {
    id,
    store,
    model,
    runtime,
    logger,
    async start(epoch) {
      const deps = { hostId: "h1" as HostId, store, model, tools, runtime, clock: systemClock, metrics: noopMetrics, logger, approvals: new MemoryApprovalIndex() };
      return (await Activation.start(id, epoch ?? (await claim(store, id)), "restore", deps))!;
    },
    message: (content, idempotencyKey) => ({ messageId: newMessageId(), content, acceptedAt: Date.now(), ...(idempotencyKey ? { idempotencyKey } : {}) }),
    async close() {
      runtime.close();
      await store.close();
    },
  };
}

/** Rejects if `p` has not settled within `ms`: a hang becomes a failure that says what hung. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms))),
  ]);
}

/**
 * A minimal TCP proxy to Redis that, on command, lets one request through
 * and then cuts the connection before its reply reaches the client: the
 * server ran the command, the client never heard back (ioredis resends it
 * on reconnect). Armed per marker: the next client chunk containing it.
 */
export async function replyDroppingProxy(target: { host: string; port: number }): Promise<{ url: string; dropReplyTo(marker: string): void; drops: number; close(): Promise<void> }> {
  let marker: string | undefined;
  const sockets = new Set<net.Socket>();
  const state = { drops: 0 };
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let cutOnReply = false;
    client.on("data", (chunk) => {
      if (marker !== undefined && chunk.includes(marker)) {
        marker = undefined;
        cutOnReply = true;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (!cutOnReply) return void client.write(chunk);
      state.drops++;
      client.destroy();
      upstream.destroy();
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    dropReplyTo: (m) => (marker = m),
    get drops() {
      return state.drops;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
