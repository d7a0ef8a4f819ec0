import type { Redis } from "ioredis";
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
  async list(): Promise<PendingApproval[]> {
    return [...this.entries.values()].map((e) => structuredClone(e)).sort((a, b) => a.requestedAt - b.requestedAt);
  }
}

/** One Redis hash, `colony:approvals`, field `<agent>|<callId>` → JSON. */
export class RedisApprovalIndex implements ApprovalIndex {
  static readonly KEY = "colony:approvals";

  constructor(private readonly redis: Redis) {}

  async add(entry: PendingApproval): Promise<void> {
    await this.redis.hset(RedisApprovalIndex.KEY, field(entry.agent, entry.callId), JSON.stringify(entry));
  }
  async remove(agent: string, callId: string): Promise<void> {
    await this.redis.hdel(RedisApprovalIndex.KEY, field(agent, callId));
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

