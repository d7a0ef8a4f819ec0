import type { RedisClient } from "./redis-client.ts";
import { z } from "zod";
import { approvalRequestSchema } from "../agent/state.ts";
import { parseJsonOrUndefined } from "../json.ts";

/** A tool call waiting for a person, as GET /v1/approvals lists it. */
export const pendingApprovalSchema = approvalRequestSchema.extend({ agent: z.string() });
export type PendingApproval = z.infer<typeof pendingApprovalSchema>;

/**
 * Where every host finds the tool calls waiting for a person. The agent's
 * snapshot is the truth (its turn's `awaiting` list); this is an index an
 * activation keeps in step, and rebuilds when it starts.
 */
export interface ApprovalIndex {
  add(entry: PendingApproval): Promise<void>;
  remove(agent: string, callId: string): Promise<void>;
  list(): Promise<PendingApproval[]>;
  /** Drops every entry of the agent (it was deleted). */
  removeAgent(agent: string): Promise<void>;
}

const field = (agent: string, callId: string) => `${agent}|${callId}`;

export class MemoryApprovalIndex implements ApprovalIndex {
  private readonly entries = new Map<string, PendingApproval>();

  async add(entry: PendingApproval): Promise<void> {
    this.entries.set(field(entry.agent, entry.callId), structuredClone(entry));
  }
  async remove(agent: string, callId: string): Promise<void> {
    this.entries.delete(field(agent, callId));
  }
  async removeAgent(agent: string): Promise<void> {
    for (const [k, e] of this.entries) if (e.agent === agent) this.entries.delete(k);
  }
  async list(): Promise<PendingApproval[]> {
    return [...this.entries.values()].map((e) => structuredClone(e)).sort((a, b) => a.requestedAt - b.requestedAt);
  }
}

/**
 * One Redis hash, `colony:approvals`, field `<agent>|<callId>` → JSON: a
 * global key touched by single-key commands only (HSET, HDEL, HSCAN,
 * HGETALL), so it works as is on a Redis Cluster (one shard holds it).
 */
export class RedisApprovalIndex implements ApprovalIndex {
  static readonly KEY = "colony:approvals";

  constructor(private readonly redis: RedisClient) {}

  async add(entry: PendingApproval): Promise<void> {
    await this.redis.hset(RedisApprovalIndex.KEY, field(entry.agent, entry.callId), JSON.stringify(entry));
  }
  async remove(agent: string, callId: string): Promise<void> {
    await this.redis.hdel(RedisApprovalIndex.KEY, field(agent, callId));
  }
  async removeAgent(agent: string): Promise<void> {
    // Agent ids never hold a glob character (ids.ts), so the prefix matches literally.
    let cursor = "0";
    do {
      const [next, flat] = await this.redis.hscan(RedisApprovalIndex.KEY, cursor, "MATCH", `${agent}|*`, "COUNT", 500);
      const fields = flat.filter((_, i) => i % 2 === 0);
      if (fields.length) await this.redis.hdel(RedisApprovalIndex.KEY, ...fields);
      cursor = next;
    } while (cursor !== "0");
  }
  async list(): Promise<PendingApproval[]> {
    const all = await this.redis.hgetall(RedisApprovalIndex.KEY);
    const out: PendingApproval[] = [];
    for (const raw of Object.values(all)) {
      // Data crossing a boundary: an entry that does not parse is skipped, not trusted.
      const parsed = pendingApprovalSchema.safeParse(parseJsonOrUndefined(raw));
      if (parsed.success) out.push(parsed.data);
    }
    return out.sort((a, b) => a.requestedAt - b.requestedAt);
  }
}


/**
 * After an activation was fenced: if the agent is gone (deleted while its
 * host could not be told), its waiting calls leave the index; if a newer
 * activation owns it, that one keeps the index and nothing is touched.
 */
export async function forgetApprovalsIfDeleted(agent: string, deps: { store: { driver: { readSnapshot(agent: string): Promise<Uint8Array | null> } }; approvals: ApprovalIndex }): Promise<void> {
  if ((await deps.store.driver.readSnapshot(agent)) === null) await deps.approvals.removeAgent(agent);
}
