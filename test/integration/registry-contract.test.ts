/**
 * The PlacementRegistry contract, held against both registries: the
 * in-memory one (sharing MemoryStoreDriver's fences) and the Redis one (a
 * Lua compare-and-set over the agent's hash-tagged keys, against a real
 * redis-server and a real Redis Cluster started by the harness). Agents are created through the
 * matching store driver, so the registry's epochs are checked against the
 * very fences the store's commits and appends use.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentKey, AgentType, StoreDriver } from "@colony/actors";
import { MemoryStoreDriver, RedisStoreDriver, StaleEpochError, agentId, agentKeys, newMessageId, randomToken } from "@colony/actors";
import { MemoryPlacementRegistry } from "../../packages/directory/src/registry/memory-registry.ts";
import { RedisPlacementRegistry } from "../../packages/directory/src/registry/redis-registry.ts";
import { hostAgentsKey } from "../../packages/directory/src/registry/redis-keys.ts";
import { REGISTER } from "../../packages/directory/src/registry/redis-scripts.ts";
import type { Placement, PlacementRegistry, RegisterOutcome } from "../../packages/directory/src/registry/registry.ts";
import { type RedisServer, startRedis } from "../harness/servers.ts";
import { claim } from "@colony/actors/testing";
import { redisBackends, stopRedisBackends } from "../harness/redis-backends.ts";

// ---------------------------------------------------------------- helpers

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const freshId = (): string => agentId("registry-contract" as AgentType, randomToken(12) as AgentKey);
const freshHost = (tag = "h"): string => `${tag}-${randomToken(8)}`;
const NOW = 1_700_000_000_000;

function placed(out: RegisterOutcome): Placement {
  if (out.kind !== "placed") throw new Error(`expected "placed", got ${JSON.stringify(out)}`);
  return out.placement;
}

function existing(out: RegisterOutcome): Placement {
  if (out.kind !== "existing") throw new Error(`expected "existing", got ${JSON.stringify(out)}`);
  return out.placement;
}

async function expectStaleCommit(store: StoreDriver, agent: string, epoch: number, current: number): Promise<void> {
  const err = await store.commit(agent, { epoch, snapshot: bytes("zombie write") }).then(
    () => new Error(`commit at epoch ${epoch} succeeded but the fence is ${current}`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StaleEpochError);
  expect((err as StaleEpochError).details).toMatchObject({ epoch, current });
}

// ---------------------------------------------------------------- the contract

interface Backend {
  store: StoreDriver;
  registry: PlacementRegistry;
  /** Independent callers over the same backing (their own connections where there are connections). */
  callers: PlacementRegistry[];
}

interface ContractTarget {
  open(): Promise<Backend>;
  /** Ends every connection the target opened. */
  close(): Promise<void>;
}

function registryContract(name: string, makeTarget: () => ContractTarget): void {
  describe(`PlacementRegistry contract: ${name}`, () => {
    const target = makeTarget();
    let store: StoreDriver;
    let registry: PlacementRegistry;
    let callers: PlacementRegistry[];
    beforeAll(async () => {
      ({ store, registry, callers } = await target.open());
    });
    afterAll(() => target.close());

    /** A new agent with a snapshot and, optionally, a fence already advanced `claims` times. */
    async function newAgent(claims = 0): Promise<string> {
      const id = freshId();
      expect(await store.create(id, bytes("snapshot"))).toBe(true);
      for (let i = 0; i < claims; i++) await claim(store, id);
      return id;
    }

    /** N callers registering `agent` at once, each for its own host (or `replace`). */
    async function race(agent: string, n: number, replace?: { host: string; epoch: number }) {
      const hosts = Array.from({ length: n }, (_, i) => freshHost(`racer${i}`));
      const outs = await Promise.all(
        hosts.map((h, i) => callers[i % callers.length]!.register(agent, h, { ...(replace ? { replace } : {}), now: NOW + i })),
      );
      const winners = outs.filter((o) => o.kind === "placed").map(placed);
      const losers = outs.filter((o) => o.kind !== "placed");
      return { outs, winners, losers, hosts };
    }

    describe("register", () => {
      it("places an unplaced agent at the previous fence + 1, fencing the old epoch out of commits and appends", async () => {
        const agent = await newAgent(1);
        const old = await store.epoch(agent);
        expect(old).toBe(1);
        await store.commit(agent, { epoch: old, snapshot: bytes("before") });
        const host = freshHost();

        const p = placed(await registry.register(agent, host, { now: NOW }));
        expect(p).toEqual({ agent, host, epoch: old + 1, since: NOW });
        expect(await store.epoch(agent)).toBe(old + 1);
        expect(await registry.get(agent)).toEqual(p);

        await expectStaleCommit(store, agent, old, p.epoch);
        expect(await store.append(agent, { epoch: old, messageId: newMessageId(), payload: bytes("zombie") })).toEqual({ kind: "stale", current: p.epoch });
        await store.commit(agent, { epoch: p.epoch, snapshot: bytes("after") });
        expect(Buffer.from((await store.readSnapshot(agent))!).toString()).toBe("after");
        expect((await store.append(agent, { epoch: p.epoch, messageId: newMessageId(), payload: bytes("m") })).kind).toBe("accepted");
      });

      it("places a never-claimed agent at epoch 1", async () => {
        const agent = await newAgent();
        expect(placed(await registry.register(agent, freshHost(), { now: NOW })).epoch).toBe(1);
      });

      it("returns the first winner to a second register, for another host or the same one, without moving the fence", async () => {
        const agent = await newAgent();
        const first = placed(await registry.register(agent, "host-a", { now: NOW }));
        expect(existing(await registry.register(agent, "host-b", { now: NOW + 1 }))).toEqual(first);
        expect(existing(await registry.register(agent, "host-a", { now: NOW + 2 }))).toEqual(first);
        expect(await store.epoch(agent)).toBe(first.epoch);
        expect(await registry.get(agent)).toEqual(first);
      });

      it("lets exactly one of many concurrent callers win; every other one is told the same winner", async () => {
        const agent = await newAgent(2);
        const { winners, losers, outs } = await race(agent, 24);
        expect(winners).toHaveLength(1);
        const winner = winners[0]!;
        expect(winner.epoch).toBe(3);
        expect(losers).toHaveLength(outs.length - 1);
        for (const o of losers) expect(existing(o)).toEqual(winner);
        expect(await registry.get(agent)).toEqual(winner);
        expect(await store.epoch(agent)).toBe(winner.epoch);
      });

      it("keeps single activation across many agents raced at once", async () => {
        const agents = await Promise.all(Array.from({ length: 20 }, () => newAgent()));
        const results = await Promise.all(agents.map((a) => race(a, 6)));
        for (const [i, r] of results.entries()) {
          expect(r.winners).toHaveLength(1);
          expect(await registry.get(agents[i]!)).toEqual(r.winners[0]);
        }
      });

      it("replaces the exact current placement with a new one at epoch + 1", async () => {
        const agent = await newAgent();
        const first = placed(await registry.register(agent, "host-a", { now: NOW }));
        const second = placed(await registry.register(agent, "host-b", { replace: { host: "host-a", epoch: first.epoch }, now: NOW + 5 }));
        expect(second).toEqual({ agent, host: "host-b", epoch: first.epoch + 1, since: NOW + 5 });
        expect(await registry.get(agent)).toEqual(second);
        await expectStaleCommit(store, agent, first.epoch, second.epoch);
        await store.commit(agent, { epoch: second.epoch, snapshot: bytes("new host") });
      });

      it("may replace a placement with one on the same host (a restart there), at a new epoch", async () => {
        const agent = await newAgent();
        const first = placed(await registry.register(agent, "host-a", { now: NOW }));
        const again = placed(await registry.register(agent, "host-a", { replace: { host: "host-a", epoch: first.epoch }, now: NOW + 1 }));
        expect(again.epoch).toBe(first.epoch + 1);
      });

      it("refuses a stale or mismatched replace and returns the placement that stands", async () => {
        const agent = await newAgent();
        const first = placed(await registry.register(agent, "host-a", { now: NOW }));
        const current = placed(await registry.register(agent, "host-b", { replace: { host: "host-a", epoch: first.epoch }, now: NOW + 1 }));
        // The same stale view again (a second replica failing over late), a wrong host, a wrong epoch.
        for (const replace of [
          { host: "host-a", epoch: first.epoch },
          { host: "host-a", epoch: current.epoch },
          { host: "host-b", epoch: first.epoch },
          { host: "host-b", epoch: current.epoch + 1 },
        ]) {
          expect(existing(await registry.register(agent, "host-c", { replace, now: NOW + 2 }))).toEqual(current);
        }
        expect(await store.epoch(agent)).toBe(current.epoch);
      });

      it("lets exactly one of many concurrent replacers of the same dead placement win", async () => {
        const agent = await newAgent();
        const dead = placed(await registry.register(agent, "host-dead", { now: NOW }));
        const { winners, losers } = await race(agent, 16, { host: dead.host, epoch: dead.epoch });
        expect(winners).toHaveLength(1);
        expect(winners[0]!.epoch).toBe(dead.epoch + 1);
        for (const o of losers) expect(existing(o)).toEqual(winners[0]);
      });

      it("treats replace on an unplaced agent as a plain register", async () => {
        const agent = await newAgent();
        const p = placed(await registry.register(agent, "host-a", { replace: { host: "host-x", epoch: 7 }, now: NOW }));
        expect(p.epoch).toBe(1);
      });

      it("reports a missing agent as missing, registering nothing and leaving its fence alone", async () => {
        const agent = freshId();
        expect(await registry.register(agent, freshHost(), { now: NOW })).toEqual({ kind: "missing" });
        expect(await registry.register(agent, freshHost(), { replace: { host: "x", epoch: 0 }, now: NOW })).toEqual({ kind: "missing" });
        expect(await store.epoch(agent)).toBe(0);
        expect(await registry.get(agent)).toBeNull();
        const { outs } = await race(agent, 8);
        expect(outs.every((o) => o.kind === "missing")).toBe(true);
        expect(await store.epoch(agent)).toBe(0);
      });
    });

    describe("unregister", () => {
      it("keeps the placement when the epoch is wrong, removes it when it is right, and only once", async () => {
        const agent = await newAgent();
        const p = placed(await registry.register(agent, "host-a", { now: NOW }));
        expect(await registry.unregister(agent, p.epoch - 1)).toBe(false);
        expect(await registry.unregister(agent, p.epoch + 1)).toBe(false);
        expect(await registry.get(agent)).toEqual(p);
        expect(await registry.unregister(agent, p.epoch)).toBe(true);
        expect(await registry.get(agent)).toBeNull();
        expect(await registry.unregister(agent, p.epoch)).toBe(false);
        // The release advanced the fence; the next registration moves past that.
        expect(await store.epoch(agent)).toBe(p.epoch + 1);
        expect(placed(await registry.register(agent, "host-b", { now: NOW + 1 })).epoch).toBe(p.epoch + 2);
      });

      it("fences the released epoch: nothing can append or commit at it, so a cached route to it cannot start a second activation", async () => {
        const agent = await newAgent();
        const p = placed(await registry.register(agent, "host-a", { now: NOW }));
        expect(await registry.unregister(agent, p.epoch)).toBe(true);
        // What an activation starting at the released epoch would check: the fence is no longer its epoch.
        expect(await store.epoch(agent)).not.toBe(p.epoch);
        expect(await store.append(agent, { epoch: p.epoch, messageId: newMessageId(), payload: bytes("late") })).toEqual({ kind: "stale", current: p.epoch + 1 });
        await expectStaleCommit(store, agent, p.epoch, p.epoch + 1);
        const next = placed(await registry.register(agent, "host-b", { now: NOW + 1 }));
        expect(next.epoch).toBeGreaterThan(p.epoch + 1);
        expect(await registry.get(agent)).toEqual(next);
      });

      it("is safe to run twice (a resend after a lost reply), even after a new placement", async () => {
        const agent = await newAgent();
        const p = placed(await registry.register(agent, "host-a", { now: NOW }));
        expect(await registry.unregister(agent, p.epoch)).toBe(true);
        const next = placed(await registry.register(agent, "host-b", { now: NOW + 1 }));
        expect(await registry.unregister(agent, p.epoch)).toBe(false);
        expect(await registry.get(agent)).toEqual(next);
        expect(await store.epoch(agent)).toBe(next.epoch);
        expect(await registry.agentsOn("host-b")).toContain(agent);
      });

      it("leaves a fence that moved on alone when releasing a void placement", async () => {
        const agent = await newAgent();
        const p = placed(await registry.register(agent, "host-a", { now: NOW }));
        const claimed = await claim(store, agent);
        await registry.unregister(agent, p.epoch);
        expect(await store.epoch(agent)).toBe(claimed);
      });

      it("never lets a late unregister remove a newer activation", async () => {
        const agent = await newAgent();
        const old = placed(await registry.register(agent, "host-a", { now: NOW }));
        const newer = placed(await registry.register(agent, "host-b", { replace: { host: "host-a", epoch: old.epoch }, now: NOW + 1 }));
        expect(await registry.unregister(agent, old.epoch)).toBe(false);
        expect(await registry.get(agent)).toEqual(newer);
        expect(await registry.agentsOn("host-b")).toContain(agent);
      });

      it("is false for an agent that was never placed or does not exist", async () => {
        expect(await registry.unregister(await newAgent(), 1)).toBe(false);
        expect(await registry.unregister(freshId(), 1)).toBe(false);
      });
    });

    describe("reads", () => {
      it("lists the agents on each host as placements come, move and go", async () => {
        const [h1, h2, h3] = [freshHost(), freshHost(), freshHost()];
        const agents = await Promise.all(Array.from({ length: 5 }, () => newAgent()));
        const ps = await Promise.all(agents.map((a, i) => registry.register(a, i < 3 ? h1 : h2, { now: NOW }).then(placed)));
        expect(await registry.agentsOn(h1)).toEqual(agents.slice(0, 3).sort());
        expect(await registry.agentsOn(h2)).toEqual(agents.slice(3).sort());
        expect(await registry.agentsOn(h3)).toEqual([]);

        placed(await registry.register(agents[0]!, h3, { replace: { host: h1, epoch: ps[0]!.epoch }, now: NOW + 1 }));
        expect(await registry.unregister(agents[3]!, ps[3]!.epoch)).toBe(true);
        expect(await registry.agentsOn(h1)).toEqual(agents.slice(1, 3).sort());
        expect(await registry.agentsOn(h2)).toEqual([agents[4]]);
        expect(await registry.agentsOn(h3)).toEqual([agents[0]]);
      });

      it("reads many placements in input order, with null for unplaced and missing agents", async () => {
        const a = await newAgent();
        const b = await newAgent();
        const unplaced = await newAgent();
        const missing = freshId();
        const pa = placed(await registry.register(a, "host-a", { now: NOW }));
        const pb = placed(await registry.register(b, "host-b", { now: NOW + 1 }));
        expect(await registry.getMany([b, missing, a, unplaced, b])).toEqual([pb, null, pa, null, pb]);
        expect(await registry.getMany([])).toEqual([]);
        expect(await registry.get(unplaced)).toBeNull();
      });

      it("hands out copies: changing a returned placement changes nothing stored", async () => {
        const agent = await newAgent();
        const p = placed(await registry.register(agent, "host-a", { now: NOW }));
        p.host = "host-evil";
        const got = (await registry.get(agent))!;
        got.epoch = 999;
        expect(await registry.get(agent)).toMatchObject({ host: "host-a", epoch: 1 });
      });
    });

    describe("fences moved outside the registry", () => {
      it("drops the placement of an agent deleted through the store", async () => {
        const agent = await newAgent();
        const host = freshHost();
        const p = placed(await registry.register(agent, host, { now: NOW }));
        expect(await store.delete(agent)).toBe(true);
        expect(await registry.get(agent)).toBeNull();
        expect(await registry.getMany([agent])).toEqual([null]);
        expect(await registry.agentsOn(host)).toEqual([]);
        expect(await registry.register(agent, host, { now: NOW + 1 })).toEqual({ kind: "missing" });
        expect(await registry.unregister(agent, p.epoch)).toBe(false);
      });

      it("does not resurrect a deleted agent's placement when it is re-created", async () => {
        const agent = await newAgent();
        const p = placed(await registry.register(agent, "host-a", { now: NOW }));
        await store.delete(agent);
        expect(await store.create(agent, bytes("again"))).toBe(true);
        expect(await registry.get(agent)).toBeNull();
        const fence = await store.epoch(agent);
        expect(fence).toBeGreaterThan(p.epoch);
        const q = placed(await registry.register(agent, "host-b", { now: NOW + 1 }));
        expect(q.epoch).toBe(fence + 1);
        expect(await registry.agentsOn("host-a")).not.toContain(agent);
      });

      it("treats a placement fenced out by a claim outside the registry as void, and races on it keep single activation", async () => {
        const agent = await newAgent();
        const p = placed(await registry.register(agent, "host-a", { now: NOW }));
        const claimed = await claim(store, agent);
        expect(await registry.get(agent)).toBeNull();
        const { winners, losers } = await race(agent, 12);
        expect(winners).toHaveLength(1);
        expect(winners[0]!.epoch).toBe(claimed + 1);
        for (const o of losers) expect(existing(o)).toEqual(winners[0]);
        expect(await registry.unregister(agent, p.epoch)).toBe(false);
      });
    });
  });
}

// ---------------------------------------------------------------- the registries

registryContract("MemoryPlacementRegistry", () => {
  const store = new MemoryStoreDriver();
  const registry = new MemoryPlacementRegistry(store);
  return {
    open: async () => ({ store, registry, callers: [registry] }),
    close: async () => {
      await registry.close();
      await store.close();
    },
  };
});

let redisServer: RedisServer | undefined;
const redisClients: Redis[] = [];

function redisClient(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 2 });
  redisClients.push(client);
  return client;
}

afterAll(async () => {
  await Promise.all(redisClients.map((c) => c.quit().catch(() => c.disconnect())));
  await redisServer?.stop();
});

afterAll(() => stopRedisBackends());
for (const backend of redisBackends()) {
  registryContract(`RedisPlacementRegistry (${backend.name})`, () => {
    const closables: { close(): Promise<void> }[] = [];
    return {
      async open() {
        const store = new RedisStoreDriver(await backend.client(), false);
        const registry = new RedisPlacementRegistry(await backend.client(), false);
        const callers = [registry];
        for (let i = 0; i < 3; i++) callers.push(new RedisPlacementRegistry(await backend.client(), false));
        closables.push(store, ...callers);
        return { store, registry, callers };
      },
      async close() {
        await Promise.all(closables.map((c) => c.close()));
      },
    };
  });
}

describe("RedisPlacementRegistry on the wire", () => {
  let redis: Redis;
  let store: RedisStoreDriver;
  let registry: RedisPlacementRegistry;
  beforeAll(async () => {
    redisServer ??= await startRedis();
    redis = redisClient(redisServer.url);
    store = new RedisStoreDriver(redisClient(redisServer.url), false);
    registry = new RedisPlacementRegistry(redisClient(redisServer.url), false);
  });

  it("keeps the placement as a hash {host, epoch, since} under the agent's hash tag, and the host index beside it", async () => {
    const agent = freshId();
    await store.create(agent, bytes("s"));
    const host = freshHost();
    const p = placed(await registry.register(agent, host, { now: NOW }));
    expect(agentKeys(agent).placement).toBe(`colony:{${agent}}:placement`);
    expect(await redis.hgetall(agentKeys(agent).placement)).toEqual({ host, epoch: String(p.epoch), since: String(NOW) });
    expect(await redis.get(agentKeys(agent).epoch)).toBe(String(p.epoch));
    expect(await redis.smembers(hostAgentsKey(host))).toEqual([agent]);
    await registry.unregister(agent, p.epoch);
    expect(await redis.exists(agentKeys(agent).placement)).toBe(0);
    expect(await redis.smembers(hostAgentsKey(host))).toEqual([]);
  });

  it("prunes index entries that no longer match a live placement when listing a host", async () => {
    const host = freshHost();
    const kept = freshId();
    const deleted = freshId();
    for (const a of [kept, deleted]) {
      await store.create(a, bytes("s"));
      placed(await registry.register(a, host, { now: NOW }));
    }
    await store.delete(deleted); // the store's DELETE script drops the placement, not the index entry
    await redis.sadd(hostAgentsKey(host), "registry-contract/never-placed");
    expect((await redis.smembers(hostAgentsKey(host))).sort()).toEqual([kept, deleted, "registry-contract/never-placed"].sort());
    expect(await registry.agentsOn(host)).toEqual([kept]);
    expect(await redis.smembers(hostAgentsKey(host))).toEqual([kept]);
  });

  it("indexes the placement on a resent register whose first run's reply was lost", async () => {
    const agent = freshId();
    await store.create(agent, bytes("s"));
    const host = freshHost();
    const k = agentKeys(agent);
    // The first attempt ran in Redis; its reply (and so the SADD after it) never came.
    const [kind, epoch] = (await redis.eval(REGISTER, 3, k.placement, k.epoch, k.snap, host, String(NOW), "", "")) as [string, number];
    expect(kind).toBe("placed");
    expect(existing(await registry.register(agent, host, { now: NOW }))).toEqual({ agent, host, epoch, since: NOW });
    expect(await registry.agentsOn(host)).toEqual([agent]);
  });

  it("serves getMany from a pipeline on a connection that has not loaded the scripts yet", async () => {
    const agent = freshId();
    await store.create(agent, bytes("s"));
    const p = placed(await registry.register(agent, "host-a", { now: NOW }));
    await redis.script("FLUSH");
    const fresh = new RedisPlacementRegistry(redisClient(redisServer!.url), false);
    expect(await fresh.getMany([agent, freshId()])).toEqual([p, null]);
    expect(existing(await fresh.register(agent, "host-b", { now: NOW }))).toEqual(p);
  });
});
