import type { AgentId, Envelope, Subscription, Transport } from "@colony/actors";
import { AgentNotHereError, NotFoundError, messageTiming, parseAgentId, subjects } from "@colony/actors";
import { z } from "zod";
import type { Heartbeat } from "@colony/directory";
import { HOST, activateRequestSchema, decideRequestSchema } from "@colony/directory";
import type { LocalAgents } from "./local.ts";
import { commandSchema, getRequestSchema, sendRequestSchema } from "./wire.ts";

/**
 * Serves other processes' requests to this host on `colony.host.<id>`: every
 * body parsed with zod, every answer about agents active here.
 */
export function serveInbound(o: { hostId: string; transport: Transport; local: LocalAgents; describe: () => Heartbeat }): Subscription {
  return o.transport.subscribe(subjects.host(o.hostId), async (env: Envelope) => {
    // The directory's liveness probe: answering proves this process runs.
    if (env.kind === HOST.ping) return o.describe();
    const id: AgentId = parseAgentId(env.target, "target");
    switch (env.kind) {
      case HOST.send: {
        messageTiming.mark(env.id, "recv");
        const req = sendRequestSchema.parse(env.body);
        const out = await o.local.send(id, req.epoch, req.message as never, req.waitMs, req.untilPause ?? false);
        return messageTiming.enabled ? { ...out, timing: messageTiming.take(env.id) } : out;
      }
      case HOST.get: {
        const { page } = getRequestSchema.parse(env.body ?? {});
        const found = page ? o.local.messages(id, page.cursor, page.limit) : o.local.view(id);
        if (!found) throw new AgentNotHereError(id, o.hostId);
        return page ? { page: found } : { view: found };
      }
      case HOST.activate: {
        const req = activateRequestSchema.parse(env.body);
        await o.local.activate(id, req.epoch, req.reason);
        return { ok: true };
      }
      case HOST.evict:
        o.local.evict(id);
        return { ok: true };
      case HOST.decide: {
        const req = commandSchema(decideRequestSchema).parse(env.body);
        await o.local.decide(id, req.epoch, req.callId, req.approve, req.reason);
        return { ok: true };
      }
      case HOST.resume: {
        const req = commandSchema(z.object({})).parse(env.body);
        return { view: await o.local.resume(id, req.epoch) };
      }
      default:
        throw new NotFoundError(`unknown host request "${env.kind}"`);
    }
  });
}
