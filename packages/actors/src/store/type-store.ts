import type { Redis } from "ioredis";
import { z } from "zod";
import { agentConfigSchema } from "../config/agent-config.ts";
import { parseJsonOrUndefined } from "../json.ts";

/** Defaults an operator gave an agent type through the API (PUT /v1/types/{type}). */
export const typeDefaultsSchema = z.object({
  type: z.string(),
  config: agentConfigSchema,
  updatedAt: z.number(),
});
export type TypeDefaults = z.infer<typeof typeDefaultsSchema>;

/**
 * Where every host finds the operators' type defaults: one record per type,
 * last write wins (a type's defaults are replaced whole, not merged).
 */
export interface TypeStore {
  put(entry: TypeDefaults): Promise<void>;
  get(type: string): Promise<TypeDefaults | null>;
  list(): Promise<TypeDefaults[]>;
}

export class MemoryTypeStore implements TypeStore {
  private readonly entries = new Map<string, TypeDefaults>();

  async put(entry: TypeDefaults): Promise<void> {
    this.entries.set(entry.type, structuredClone(entry));
  }
  async get(type: string): Promise<TypeDefaults | null> {
    const e = this.entries.get(type);
    return e ? structuredClone(e) : null;
  }
  async list(): Promise<TypeDefaults[]> {
    return [...this.entries.values()].map((e) => structuredClone(e)).sort((a, b) => a.type.localeCompare(b.type));
  }
}

/** One Redis hash, `colony:types`, field `<type>` → JSON. */
export class RedisTypeStore implements TypeStore {
  static readonly KEY = "colony:types";

  constructor(private readonly redis: Redis) {}

  async put(entry: TypeDefaults): Promise<void> {
    await this.redis.hset(RedisTypeStore.KEY, entry.type, JSON.stringify(entry));
  }
  async get(type: string): Promise<TypeDefaults | null> {
    const raw = await this.redis.hget(RedisTypeStore.KEY, type);
    return raw === null ? null : parse(raw);
  }
  async list(): Promise<TypeDefaults[]> {
    const all = await this.redis.hgetall(RedisTypeStore.KEY);
    return Object.values(all)
      .map(parse)
      .filter((e): e is TypeDefaults => e !== null)
      .sort((a, b) => a.type.localeCompare(b.type));
  }
}

/** Data crossing a boundary: an entry that does not parse counts as absent, not trusted. */
function parse(raw: string): TypeDefaults | null {
  const parsed = typeDefaultsSchema.safeParse(parseJsonOrUndefined(raw));
  return parsed.success ? parsed.data : null;
}
