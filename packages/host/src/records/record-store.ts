import type { RedisClient } from "@colony/actors";
import { parseJsonOrUndefined } from "@colony/actors";
import type { z } from "zod";

/**
 * Records operators declare through the API and every host reads (agent
 * type defaults, HTTP tools, MCP servers): one record per name, replaced
 * whole, last write wins. In memory for `colony dev`, a Redis hash in a
 * cluster; one contract suite per kind of record runs against both.
 */
export interface RecordStore<T> {
  /** Stores the record; true if its name was new. */
  put(record: T): Promise<boolean>;
  get(name: string): Promise<T | null>;
  /** Every record, by name. */
  list(): Promise<T[]>;
  /** True if there was a record to delete. */
  delete(name: string): Promise<boolean>;
}

export class MemoryRecordStore<T> implements RecordStore<T> {
  private readonly records = new Map<string, T>();

  constructor(private readonly nameOf: (record: T) => string) {}

  async put(record: T): Promise<boolean> {
    const name = this.nameOf(record);
    const created = !this.records.has(name);
    this.records.set(name, structuredClone(record));
    return created;
  }
  async get(name: string): Promise<T | null> {
    const r = this.records.get(name);
    return r === undefined ? null : structuredClone(r);
  }
  async list(): Promise<T[]> {
    return [...this.records.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, r]) => structuredClone(r));
  }
  async delete(name: string): Promise<boolean> {
    return this.records.delete(name);
  }
}

/** One Redis hash, field `<name>` → JSON; a field that does not parse counts as absent, not trusted. */
export class RedisRecordStore<T> implements RecordStore<T> {
  constructor(
    private readonly redis: RedisClient,
    readonly key: string,
    private readonly schema: z.ZodType<T>,
    private readonly nameOf: (record: T) => string,
  ) {}

  async put(record: T): Promise<boolean> {
    // HSET answers how many fields were new: create and replace told apart atomically.
    return (await this.redis.hset(this.key, this.nameOf(record), JSON.stringify(record))) === 1;
  }
  async get(name: string): Promise<T | null> {
    const raw = await this.redis.hget(this.key, name);
    return raw === null ? null : this.parse(raw);
  }
  async list(): Promise<T[]> {
    const all = await this.redis.hgetall(this.key);
    return Object.keys(all)
      .sort((a, b) => a.localeCompare(b))
      .map((name) => this.parse(all[name]!))
      .filter((r): r is T => r !== null);
  }
  async delete(name: string): Promise<boolean> {
    return (await this.redis.hdel(this.key, name)) === 1;
  }

  private parse(raw: string): T | null {
    const parsed = this.schema.safeParse(parseJsonOrUndefined(raw));
    return parsed.success ? parsed.data : null;
  }
}
