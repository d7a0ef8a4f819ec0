import type { RedisClient } from "@colony/actors";
import { agentKeys } from "@colony/actors";
import type { Placement, PlacementRegistry, RegisterOutcome } from "./registry.ts";
import { hostAgentsKey } from "./redis-keys.ts";
import { GET, REGISTER, UNREGISTER } from "./redis-scripts.ts";

type Reply = (string | number)[];

interface ScriptCommands {
  colonyPlacementRegister(placement: string, epoch: string, snap: string, host: string, now: string, replaceHost: string, replaceEpoch: string): Promise<Reply>;
  colonyPlacementUnregister(placement: string, fence: string, epoch: number): Promise<string | null>;
  colonyPlacementGet(placement: string, epoch: string): Promise<Reply | null>;
}

function placementOf(agent: string, reply: Reply | null | undefined): Placement | null {
  if (!reply) return null;
  return { agent, host: String(reply[0]), epoch: Number(reply[1]), since: Number(reply[2]) };
}

/**
 * The placement registry on Redis. The compare-and-set is one Lua script
 * over the agent's hash-tagged keys (placement, epoch, snap): it answers
 * `missing` without a snapshot, returns a live placement that does not match
 * `replace` as `existing`, and otherwise INCRs the agent's fence (the epoch
 * key the store's commits and appends check) and writes the placement.
 * Unregister deletes only a placement that still has the given epoch, and
 * advances the fence past it: a released epoch is dead for good.
 * A placement is live only while its epoch is the agent's fence: one voided
 * by anything else advancing the fence (a `claim()` outside the registry, as tests do;
 * deletion, whose script also drops the placement) reads as null and is
 * replaced by the next register, as in MemoryPlacementRegistry.
 *
 * The per-host set `hostAgentsKey(host)` is an index, not the truth: it
 * lives in another hash slot, so it is updated by separate commands after
 * each script (SADD on placed, SREM on unregister and on a move away).
 * Removals re-read the placement afterwards and re-add an agent that was
 * placed on that host again meanwhile, so a racing register is never
 * dropped from it; a crash between a script and its SADD can still leave
 * an agent out of the index until it is placed again. `agentsOn` verifies
 * every entry against the placements (read together) and prunes stale ones,
 * such as agents deleted through the store while placed.
 *
 * On a Redis Cluster: each script names one agent's keys (one slot), and the
 * host index is one global key per host, touched only by single-key
 * commands (SADD, SREM, SMEMBERS), so every command has one slot. Reads of
 * many placements are separate commands sent together (not a MULTI or one
 * pipeline, which would have to share a slot).
 */
export class RedisPlacementRegistry implements PlacementRegistry {
  private readonly redis: RedisClient & ScriptCommands;

  /** @param redis a connected client (one server or a Cluster); the registry defines its scripts on it and closes it on `close()` if `owns`. */
  constructor(redis: RedisClient, private readonly owns = true) {
    redis.defineCommand("colonyPlacementRegister", { numberOfKeys: 3, lua: REGISTER });
    redis.defineCommand("colonyPlacementUnregister", { numberOfKeys: 2, lua: UNREGISTER });
    redis.defineCommand("colonyPlacementGet", { numberOfKeys: 2, lua: GET });
    this.redis = redis as RedisClient & ScriptCommands;
  }

  async get(agent: string): Promise<Placement | null> {
    const k = agentKeys(agent);
    return placementOf(agent, await this.redis.colonyPlacementGet(k.placement, k.epoch));
  }

  async getMany(agents: readonly string[]): Promise<(Placement | null)[]> {
    // Sent without waiting for each other: one round trip's worth, whatever slots the agents live in.
    return Promise.all(agents.map((agent) => this.get(agent)));
  }

  async register(agent: string, host: string, opts: { replace?: { host: string; epoch: number }; now: number }): Promise<RegisterOutcome> {
    const k = agentKeys(agent);
    const { replace } = opts;
    const reply = await this.redis.colonyPlacementRegister(
      k.placement,
      k.epoch,
      k.snap,
      host,
      String(opts.now),
      replace?.host ?? "",
      replace === undefined ? "" : String(replace.epoch),
    );
    switch (String(reply[0])) {
      case "missing":
        return { kind: "missing" };
      case "existing": {
        const placement = placementOf(agent, reply.slice(1))!;
        // Maybe our own earlier attempt, run before its reply was lost: its SADD never happened.
        await this.redis.sadd(hostAgentsKey(placement.host), agent);
        return { kind: "existing", placement };
      }
      default: {
        const previous = String(reply[2]);
        await this.redis.sadd(hostAgentsKey(host), agent);
        if (previous !== "" && previous !== host) await this.unindex(previous, [agent]);
        return { kind: "placed", placement: { agent, host, epoch: Number(reply[1]), since: opts.now } };
      }
    }
  }

  async unregister(agent: string, epoch: number): Promise<boolean> {
    const k = agentKeys(agent);
    const host = await this.redis.colonyPlacementUnregister(k.placement, k.epoch, epoch);
    if (host === null) return false;
    await this.unindex(String(host), [agent]);
    return true;
  }

  async agentsOn(host: string): Promise<string[]> {
    const members = (await this.redis.smembers(hostAgentsKey(host))).sort();
    const placements = await this.getMany(members);
    const stale = members.filter((_, i) => placements[i]?.host !== host);
    if (stale.length > 0) await this.unindex(host, stale);
    return members.filter((_, i) => placements[i]?.host === host);
  }

  async close(): Promise<void> {
    if (this.owns) await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /**
   * Removes agents from a host's index, then re-adds any that a concurrent
   * register placed there meanwhile.
   */
  private async unindex(host: string, agents: string[]): Promise<void> {
    const key = hostAgentsKey(host);
    // The SREM first, then the re-reads: a register that lands after its re-read SADDs after it.
    await this.redis.srem(key, ...agents);
    const placements = await this.getMany(agents);
    const back = agents.filter((_, i) => placements[i]?.host === host);
    if (back.length > 0) await this.redis.sadd(key, ...back);
  }
}
