import type { RedisClient } from "@colony/actors";
import type { RecordStore } from "../records/record-store.ts";
import { MemoryRecordStore, RedisRecordStore } from "../records/record-store.ts";
import type { HttpToolDeclaration } from "./http-tool-declaration.ts";
import { httpToolDeclarationSchema } from "./http-tool-declaration.ts";

/**
 * Where every host finds the HTTP tools operators declared (PUT /v1/tools):
 * one record per name, replaced whole. Holds secret references, never values.
 */
export type ToolDeclarationStore = RecordStore<HttpToolDeclaration>;

export class MemoryToolDeclarationStore extends MemoryRecordStore<HttpToolDeclaration> {
  constructor() {
    super((d) => d.name);
  }
}

/** One Redis hash, `colony:tools`, field `<name>` → JSON. */
export class RedisToolDeclarationStore extends RedisRecordStore<HttpToolDeclaration> {
  static readonly KEY = "colony:tools";

  constructor(redis: RedisClient) {
    super(redis, RedisToolDeclarationStore.KEY, httpToolDeclarationSchema, (d) => d.name);
  }
}
