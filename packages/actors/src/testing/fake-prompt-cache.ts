import { createHash } from "node:crypto";
import type { FakeRequestBody } from "./fake-request.ts";

/**
 * The prompt cache of the fake Messages API, modelled on Anthropic's rules
 * closely enough for a test to see what caching saves:
 * - the prompt is read as blocks in the order tools → system → messages;
 * - a block marked `cache_control` is a breakpoint: once a request is served,
 *   the prefix up to each of its breakpoints is in the cache (if it reaches
 *   `minTokens`);
 * - a request reads the longest cached prefix it starts with, looking back at
 *   most `lookback` blocks from each of its breakpoints;
 * - usage: `cache_read_input_tokens` for the prefix read, `cache_creation_input_tokens`
 *   for what lies between it and the last breakpoint written, `input_tokens`
 *   for the rest.
 * Tokens are estimated as characters / 4 of each block's JSON (without its
 * `cache_control`). Entries are per model and never expire (tests are far
 * shorter than the API's 5-minute lifetime).
 */

/** Anthropic's limits: breakpoints per request, blocks looked back for a hit. */
export const FAKE_MAX_CACHE_BREAKPOINTS = 4;
export const FAKE_CACHE_LOOKBACK_BLOCKS = 20;

export interface FakePromptCacheOptions {
  /** Shortest prefix (in tokens) the cache keeps: 1,024 for Sonnet and Opus 4, 4,096 for Opus 4.5 and Haiku 4.5. Default 1024. */
  minTokens?: number;
}

export interface FakeCacheUsage {
  input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
}

interface PromptBlock {
  tokens: number;
  marked: boolean;
  /** Hash of the model and every block up to and including this one. */
  prefix: string;
}

/** Estimated tokens of a text: characters / 4, rounded up. */
export const estimateFakeTokens = (text: string): number => Math.ceil(text.length / 4);

export class FakePromptCache {
  private readonly minTokens: number;
  private readonly entries = new Set<string>();

  constructor(opts: FakePromptCacheOptions = {}) {
    this.minTokens = opts.minTokens ?? 1024;
  }

  /** Prefixes cached so far. */
  get size(): number {
    return this.entries.size;
  }

  /** Serves a request: what its input costs, and its breakpoints' prefixes cached. */
  account(body: FakeRequestBody): FakeCacheUsage {
    const blocks = promptBlocks(body);
    const starts: number[] = [];
    let total = 0;
    for (const b of blocks) {
      starts.push(total);
      total += b.tokens;
    }
    const upTo = (i: number) => (i < 0 ? 0 : starts[i]! + blocks[i]!.tokens);
    const breakpoints = blocks.flatMap((b, i) => (b.marked ? [i] : []));

    let hit = -1;
    for (const bp of breakpoints) {
      for (let i = bp; i > hit && i > bp - FAKE_CACHE_LOOKBACK_BLOCKS; i--) {
        if (this.entries.has(blocks[i]!.prefix)) {
          hit = i;
          break;
        }
      }
    }
    let written = hit;
    for (const bp of breakpoints) {
      if (bp <= hit || upTo(bp) < this.minTokens) continue;
      this.entries.add(blocks[bp]!.prefix);
      written = bp;
    }
    const read = upTo(hit);
    const creation = upTo(written) - read;
    return { input_tokens: total - read - creation, cache_read_input_tokens: read, cache_creation_input_tokens: creation };
  }
}

/**
 * Why the API would refuse the request's `cache_control` markers (more than
 * four, or one on an empty text block), or undefined. Checked on every
 * request, caching modelled or not.
 */
export function cacheControlProblem(body: FakeRequestBody): string | undefined {
  let found = 0;
  for (const block of rawBlocks(body)) {
    if (!isObject(block) || block.cache_control === undefined || block.cache_control === null) continue;
    found++;
    if (block.type === "text" && typeof block.text === "string" && block.text.trim() === "") return "cache_control cannot be set for empty text blocks";
  }
  if (found > FAKE_MAX_CACHE_BREAKPOINTS) return `A maximum of ${FAKE_MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found ${found}.`;
  return undefined;
}

/** Every block of the prompt in cache order, as sent: tools, system, then each message's content. */
function* rawBlocks(body: FakeRequestBody): Generator<unknown> {
  for (const tool of body.tools ?? []) yield tool;
  if (Array.isArray(body.system)) yield* body.system;
  for (const m of body.messages ?? []) if (Array.isArray(m.content)) yield* m.content;
}

function promptBlocks(body: FakeRequestBody): PromptBlock[] {
  const hash = createHash("sha256").update(`model:${body.model ?? ""}\n`);
  const out: PromptBlock[] = [];
  const push = (where: string, block: unknown) => {
    const { cache_control, ...rest } = isObject(block) ? block : { text: block, cache_control: undefined };
    const json = JSON.stringify(rest);
    hash.update(`${where}\n${json}\n`);
    out.push({ tokens: estimateFakeTokens(json), marked: cache_control !== undefined && cache_control !== null, prefix: hash.copy().digest("hex") });
  };
  for (const tool of body.tools ?? []) push("tool", tool);
  if (typeof body.system === "string") push("system", { type: "text", text: body.system });
  else if (Array.isArray(body.system)) for (const b of body.system) push("system", b);
  body.messages?.forEach((m, i) => {
    const where = `message ${i} ${m.role}`;
    if (typeof m.content === "string") push(where, { type: "text", text: m.content });
    else if (Array.isArray(m.content)) for (const b of m.content) push(where, b);
  });
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
