import type { RedisClient } from "@colony/actors";
import { agentConfigSchema } from "@colony/actors";
import { z } from "zod";
import type { RecordStore } from "./record-store.ts";
import { MemoryRecordStore, RedisRecordStore } from "./record-store.ts";

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
export type TypeStore = RecordStore<TypeDefaults>;

export class MemoryTypeStore extends MemoryRecordStore<TypeDefaults> {
  constructor() {
    super((e) => e.type);
  }
}

/** One Redis hash, `colony:types`, field `<type>` → JSON. */
export class RedisTypeStore extends RedisRecordStore<TypeDefaults> {
  static readonly KEY = "colony:types";

  constructor(redis: RedisClient) {
    super(redis, RedisTypeStore.KEY, typeDefaultsSchema, (e) => e.type);
  }
}
