import { AgentStore } from "../store/agent-store.ts";
import type { StoreDriver } from "../store/driver.ts";
import { MemoryStoreDriver } from "../store/memory-driver.ts";
import { RedisStoreDriver } from "../store/redis-driver.ts";
import { agentKeys } from "../store/redis-keys.ts";

/**
 * Advances the agent's fence and returns it, outside any placement registry:
 * writers holding older epochs are now rejected. Tests use it to start an
 * activation by hand or to make a running one a zombie; in production only
 * the registry advances the fence (with its grant, atomically), and delete.
 */
export async function claim(target: StoreDriver | AgentStore, agent: string): Promise<number> {
  const driver = target instanceof AgentStore ? target.driver : target;
  if (driver instanceof MemoryStoreDriver) return driver.advanceFence(agent);
  // The Redis registry's scripts advance the same key (INCR is atomic: concurrent claimers get distinct epochs).
  if (driver instanceof RedisStoreDriver) return driver.client.incr(agentKeys(agent).epoch);
  throw new Error(`claim: no way to advance the fence of a ${driver.constructor.name}`);
}
