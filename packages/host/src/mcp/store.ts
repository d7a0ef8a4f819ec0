import type { RedisClient } from "@colony/actors";
import type { RecordStore } from "../records/record-store.ts";
import { MemoryRecordStore, RedisRecordStore } from "../records/record-store.ts";
import { type McpServerRecord, mcpServerRecordSchema } from "./declaration.ts";

/**
 * Where every host finds the declared MCP servers: one record per server,
 * last write wins. Records hold secret references, never resolved values.
 */
export type McpServerStore = RecordStore<McpServerRecord>;

export class MemoryMcpServerStore extends MemoryRecordStore<McpServerRecord> {
  constructor() {
    super((r) => r.name);
  }
}

/** One Redis hash, `colony:mcp`, field `<server>` → JSON. */
export class RedisMcpServerStore extends RedisRecordStore<McpServerRecord> {
  static readonly KEY = "colony:mcp";

  constructor(redis: RedisClient) {
    super(redis, RedisMcpServerStore.KEY, mcpServerRecordSchema, (r) => r.name);
  }
}
