import type { Redis } from "ioredis";
import type { HttpToolDeclaration } from "./http-tool-declaration.ts";
import { httpToolDeclarationSchema } from "./http-tool-declaration.ts";

/**
 * Where every host finds the HTTP tools operators declared (PUT /v1/tools):
 * one record per name, replaced whole. Holds secret references, never values.
 */
export interface ToolDeclarationStore {
  /** Stores the declaration; true if the name was new. */
  put(decl: HttpToolDeclaration): Promise<boolean>;
  get(name: string): Promise<HttpToolDeclaration | null>;
  list(): Promise<HttpToolDeclaration[]>;
  /** True if there was a declaration to delete. */
  delete(name: string): Promise<boolean>;
}

export class MemoryToolDeclarationStore implements ToolDeclarationStore {
  private readonly entries = new Map<string, HttpToolDeclaration>();

  async put(decl: HttpToolDeclaration): Promise<boolean> {
    const created = !this.entries.has(decl.name);
    this.entries.set(decl.name, structuredClone(decl));
    return created;
  }
  async get(name: string): Promise<HttpToolDeclaration | null> {
    const e = this.entries.get(name);
    return e ? structuredClone(e) : null;
  }
  async list(): Promise<HttpToolDeclaration[]> {
    return [...this.entries.values()].map((e) => structuredClone(e)).sort((a, b) => a.name.localeCompare(b.name));
  }
  async delete(name: string): Promise<boolean> {
    return this.entries.delete(name);
  }
}

/** One Redis hash, `colony:tools`, field `<name>` → JSON. */
export class RedisToolDeclarationStore implements ToolDeclarationStore {
  static readonly KEY = "colony:tools";

  constructor(private readonly redis: Redis) {}

  async put(decl: HttpToolDeclaration): Promise<boolean> {
    // HSET answers how many fields were new: create and replace told apart atomically.
    return (await this.redis.hset(RedisToolDeclarationStore.KEY, decl.name, JSON.stringify(decl))) === 1;
  }
  async get(name: string): Promise<HttpToolDeclaration | null> {
    const raw = await this.redis.hget(RedisToolDeclarationStore.KEY, name);
    return raw === null ? null : parse(raw);
  }
  async list(): Promise<HttpToolDeclaration[]> {
    const all = await this.redis.hgetall(RedisToolDeclarationStore.KEY);
    return Object.values(all)
      .map(parse)
      .filter((e): e is HttpToolDeclaration => e !== null)
      .sort((a, b) => a.name.localeCompare(b.name));
  }
  async delete(name: string): Promise<boolean> {
    return (await this.redis.hdel(RedisToolDeclarationStore.KEY, name)) === 1;
  }
}

/** Data crossing a boundary: an entry that does not parse counts as absent, not trusted. */
function parse(raw: string): HttpToolDeclaration | null {
  try {
    const parsed = httpToolDeclarationSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
