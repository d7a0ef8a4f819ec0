import type { AgentId, Envelope, Subscription, Transport } from "@colony/actors";
import { AgentNotHereError, handle, messageTiming, parseAgentId, serveRpcs, subjects } from "@colony/actors";
import type { Heartbeat } from "@colony/directory";
import type { HostStats } from "../metrics/stats.ts";
import type { LocalAgents } from "./local.ts";
import { hostRpcs } from "./wire.ts";

const agentOf = (env: Envelope): AgentId => parseAgentId(env.target, "target");

/**
 * Serves other processes' requests to this host on `colony.host.<id>`: one
 * handler per RPC (hostRpcs), every body parsed by its RPC's schema, every
 * answer about agents active here.
 */
export function serveInbound(o: { hostId: string; transport: Transport; local: LocalAgents; describe: () => Heartbeat; stats: () => Promise<HostStats> }): Subscription {
  const { local } = o;
  return serveRpcs(o.transport, subjects.host(o.hostId), "host", [
    // The directory's liveness probe: answering proves this process runs.
    handle(hostRpcs.ping, () => o.describe()),
    handle(hostRpcs.stats, () => o.stats()),
    handle(hostRpcs.send, async (req, env) => {
      messageTiming.mark(env.id, "recv");
      const out = await local.send(agentOf(env), req.epoch, req.message, req.waitMs, req.untilPause ?? false);
      return messageTiming.enabled ? { ...out, timing: messageTiming.take(env.id) } : out;
    }),
    handle(hostRpcs.view, (_req, env) => {
      const id = agentOf(env);
      const view = local.view(id);
      if (!view) throw new AgentNotHereError(id, o.hostId);
      return { view };
    }),
    handle(hostRpcs.messages, (req, env) => {
      const id = agentOf(env);
      const page = local.messages(id, req.page.cursor, req.page.limit);
      if (!page) throw new AgentNotHereError(id, o.hostId);
      return { page };
    }),
    handle(hostRpcs.activate, async (req, env) => {
      await local.activate(agentOf(env), req.epoch, req.reason);
      return { ok: true as const };
    }),
    handle(hostRpcs.evict, (_req, env) => {
      local.evict(agentOf(env));
      return { ok: true as const };
    }),
    handle(hostRpcs.decide, async (req, env) => {
      await local.decide(agentOf(env), req.epoch, req.callId, req.approve, req.reason);
      return { ok: true as const };
    }),
    handle(hostRpcs.resume, async (req, env) => ({ view: await local.resume(agentOf(env), req.epoch) })),
  ]);
}
