import { z } from "zod";
import { defineTool } from "./tool.ts";

export const MAX_MEMORY_KEY = 256;
export const MAX_MEMORY_VALUE = 16_384;

// Memory is a plain object in the snapshot; "__proto__" would reach its prototype.
const memoryKey = z.string().min(1).max(MAX_MEMORY_KEY).refine((k) => k !== "__proto__", "this key is reserved");

/** `remember {key, value}`: stores a value in the agent's durable memory. */
export const rememberTool = defineTool({
  name: "remember",
  description: "Store a value under a key in your durable memory. It survives restarts and is never compacted away.",
  input: z.strictObject({
    key: memoryKey,
    value: z.string().max(MAX_MEMORY_VALUE),
  }),
  run({ key, value }, ctx) {
    ctx.memory.set(key, value);
    return { content: JSON.stringify({ stored: key }) };
  },
});

/** `recall {key}`: reads a value back from the agent's durable memory. */
export const recallTool = defineTool({
  name: "recall",
  description: "Read the value stored under a key in your durable memory.",
  input: z.strictObject({ key: memoryKey }),
  run({ key }, ctx) {
    const value = ctx.memory.get(key);
    return { content: JSON.stringify(value === undefined ? { key, found: false } : { key, found: true, value }) };
  },
});
