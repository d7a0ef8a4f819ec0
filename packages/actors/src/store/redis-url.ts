import { z } from "zod";

/** One `host:port` of a Redis Cluster seed list or a Sentinel set. */
export interface RedisNode {
  host: string;
  port: number;
}

/**
 * What REDIS_URL names: one redis-server (`redis://`, `rediss://`, handed to
 * ioredis as is), a Redis Cluster (`redis+cluster://[user:pass@]h1:p1,h2:p2`,
 * `rediss+cluster://` for TLS; any reachable node is enough to find the
 * others), or a master found through Sentinel
 * (`redis+sentinel://[user:pass@]h1:p1,h2:p2[/db]?name=mymaster`; the
 * credentials are the master's; `sentinelPassword=` in the query if the
 * sentinels want one).
 */
export type RedisTarget =
  | { kind: "single"; url: string }
  | { kind: "cluster"; nodes: RedisNode[]; username?: string; password?: string; tls: boolean }
  | { kind: "sentinel"; sentinels: RedisNode[]; name: string; db: number; username?: string; password?: string; sentinelPassword?: string; tls: boolean };

const MULTI = /^(rediss?)\+(cluster|sentinel):\/\/(?:([^@/]*)@)?([^/?#]+)\/?([^?#]*)(?:\?([^#]*))?$/;
const NODE = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/;

const portSchema = z.coerce.number().int().min(1).max(65535);

function parseNodes(list: string, ctx: z.RefinementCtx): RedisNode[] {
  const nodes: RedisNode[] = [];
  for (const part of list.split(",").map((s) => s.trim())) {
    const m = NODE.exec(part);
    const port = portSchema.safeParse(m?.[3]);
    if (!m || !port.success) {
      ctx.addIssue({ code: "custom", message: `"${part}" is not host:port` });
      return [];
    }
    nodes.push({ host: m[1] ?? m[2]!, port: port.data });
  }
  return nodes;
}

/** `user:pass` of the URL, percent-decoded; either may be absent. */
function credentials(info: string | undefined): { username?: string; password?: string } {
  if (info === undefined || info === "") return {};
  const colon = info.indexOf(":");
  const user = decodeURIComponent(colon < 0 ? info : info.slice(0, colon));
  const out: { username?: string; password?: string } = {};
  if (user !== "") out.username = user;
  if (colon >= 0) out.password = decodeURIComponent(info.slice(colon + 1));
  return out;
}

function parseSingle(value: string, ctx: z.RefinementCtx): RedisTarget {
  let ok = false;
  try {
    ok = ["redis:", "rediss:"].includes(new URL(value).protocol);
  } catch {
    // not a URL
  }
  if (!ok) ctx.addIssue({ code: "custom", message: "must be a redis:// or rediss:// URL (or redis+cluster://, rediss+cluster://, redis+sentinel://, rediss+sentinel://), e.g. redis://127.0.0.1:6379" });
  return { kind: "single", url: value };
}

/** REDIS_URL parsed into what `connectRedis` builds; the issue messages say what is wrong. */
export const redisTargetSchema = z.string().transform((value, ctx): RedisTarget => {
  const m = MULTI.exec(value.trim());
  if (!m) return parseSingle(value, ctx);
  const [, scheme, kind, info, hosts, path, query] = m;
  const nodes = parseNodes(hosts!, ctx);
  const tls = scheme === "rediss";
  const creds = credentials(info);
  const params = new URLSearchParams(query ?? "");
  if (kind === "cluster") {
    if (path) ctx.addIssue({ code: "custom", message: "a Redis Cluster has no database number (only db 0)" });
    return { kind: "cluster", nodes, tls, ...creds };
  }
  const name = params.get("name");
  if (!name) ctx.addIssue({ code: "custom", message: "a Sentinel URL needs ?name=<master name>, e.g. redis+sentinel://h1:26379,h2:26379/?name=mymaster" });
  const db = z.coerce.number().int().min(0).max(15).safeParse(path === "" ? 0 : path);
  if (!db.success) ctx.addIssue({ code: "custom", message: `"${path}" is not a database number` });
  const target: RedisTarget = { kind: "sentinel", sentinels: nodes, name: name ?? "", db: db.success ? db.data : 0, tls, ...creds };
  const sentinelPassword = params.get("sentinelPassword");
  if (sentinelPassword) target.sentinelPassword = sentinelPassword;
  return target;
});

/** Parses REDIS_URL; throws a ZodError naming what is wrong. */
export function parseRedisUrl(value: string): RedisTarget {
  return redisTargetSchema.parse(value);
}
