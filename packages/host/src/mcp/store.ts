import type { Redis } from "ioredis";
import { type McpServerRecord, mcpServerRecordSchema } from "./declaration.ts";

/**
 * Where every host finds the declared MCP servers: one record per server,
 * last write wins. Records hold secret references, never resolved values.
 */
export interface McpServerStore {
  put(record: McpServerRecord): Promise<void>;
  get(name: string): Promise<McpServerRecord | null>;
  list(): Promise<McpServerRecord[]>;
  /** True when there was a record to delete. */
  delete(name: string): Promise<boolean>;
}

export class MemoryMcpServerStore implements McpServerStore {
  private readonly records = new Map<string, McpServerRecord>();

  async put(record: McpServerRecord): Promise<void> {
    this.records.set(record.name, structuredClone(record));
  }
  async get(name: string): Promise<McpServerRecord | null> {
    const r = this.records.get(name);
    return r ? structuredClone(r) : null;
  }
  async list(): Promise<McpServerRecord[]> {
    return [...this.records.values()].map((r) => structuredClone(r)).sort((a, b) => a.name.localeCompare(b.name));
  }
  async delete(name: string): Promise<boolean> {
    return this.records.delete(name);
  }
}

/** One Redis hash, `colony:mcp`, field `<server>` → JSON. */
export class RedisMcpServerStore implements McpServerStore {
  static readonly KEY = "colony:mcp";

  constructor(private readonly redis: Redis) {}

  async put(record: McpServerRecord): Promise<void> {
    await this.redis.hset(RedisMcpServerStore.KEY, record.name, JSON.stringify(record));
  }
  async get(name: string): Promise<McpServerRecord | null> {
    const raw = await this.redis.hget(RedisMcpServerStore.KEY, name);
    return raw === null ? null : parse(raw);
  }
  async list(): Promise<McpServerRecord[]> {
    const all = await this.redis.hgetall(RedisMcpServerStore.KEY);
    return Object.values(all)
      .map(parse)
      .filter((r): r is McpServerRecord => r !== null)
      .sort((a, b) => a.name.localeCompare(b.name));
  }
  async delete(name: string): Promise<boolean> {
    return (await this.redis.hdel(RedisMcpServerStore.KEY, name)) > 0;
  }
}

/** Data crossing a boundary: a record that does not parse counts as absent, not trusted. */
function parse(raw: string): McpServerRecord | null {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return null;
  }
  const parsed = mcpServerRecordSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}
