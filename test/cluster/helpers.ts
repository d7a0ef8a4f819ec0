import { conversationOf, http } from "../harness/colony-process.ts";
import type { ProcessCluster } from "../harness/cluster.ts";
import { waitFor } from "../harness/wait.ts";

export type Msg = { role: string; content: { type: string; text?: string }[] };

/** The user texts of an agent's context, in order. */
export const userTexts = (messages: Msg[]): string[] =>
  messages.filter((m) => m.role === "user" && m.content[0]?.type === "text").map((m) => m.content[0]!.text!);

/** Runs `fn` over items with at most `n` in flight. */
export async function pool<T>(items: T[], n: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

/** A POST that reports a transport failure (host down) as status 0 instead of throwing. */
export async function trySend(url: string, id: string, content: string, wait: boolean): Promise<{ status: number; body: any }> {
  try {
    return await http(url, "POST", `/v1/agents/${id}/messages`, { content, wait });
  } catch {
    return { status: 0, body: undefined };
  }
}

export async function spawnAll(c: ProcessCluster, ids: string[]): Promise<void> {
  await pool(ids, 16, async (id) => {
    const [type, key] = id.split("/");
    const res = await http(c.url(), "POST", "/v1/agents", { type, key });
    if (res.status !== 201) throw new Error(`spawn ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  });
}

/** What one agent's context must show: `acked` (in this order, each once); `attempted` may show at most once too. */
export interface Expectation {
  acked: string[];
  /** Sent but not acknowledged (the host died under the request): may or may not have been stored. */
  unacked: Set<string>;
}

export function contextProblem(texts: string[], e: Expectation): string | null {
  if (new Set(texts).size !== texts.length) return `a message appears twice: ${JSON.stringify(texts)}`;
  const stray = texts.filter((t) => !e.unacked.has(t) && !e.acked.includes(t));
  if (stray.length) return `messages nobody sent: ${JSON.stringify(stray)}`;
  const ackedSeen = texts.filter((t) => e.acked.includes(t));
  if (JSON.stringify(ackedSeen) !== JSON.stringify(e.acked)) return `acknowledged ${JSON.stringify(e.acked)} but context has ${JSON.stringify(ackedSeen)}`;
  return null;
}

/**
 * Waits until every agent's context holds each acknowledged message exactly
 * once, in acknowledgement order, and nothing twice.
 */
export async function expectContexts(c: ProcessCluster, expected: Map<string, Expectation>, timeoutMs = 20_000): Promise<void> {
  const pending = new Set(expected.keys());
  let last = "";
  await waitFor(
    async () => {
      await pool([...pending], 16, async (id) => {
        const problem = contextProblem(userTexts(await conversationOf(c.url(), id)), expected.get(id)!);
        if (problem === null) pending.delete(id);
        else last = `${id}: ${problem}`;
      }).catch(() => undefined);
      return pending.size === 0;
    },
    { timeoutMs, intervalMs: 200, message: `every acknowledged message in its agent's context exactly once, in order (${pending.size} left; last: ${last})` },
  );
}

/**
 * Streams numbered messages (`<id> #<n>`) to each of `ids`, one loop per
 * agent, through random live hosts, recording in `expected` what was
 * acknowledged, until `stop()` is called (or no host is left).
 */
export function streamCounters(c: ProcessCluster, ids: string[], expected: Map<string, Expectation>) {
  let running = true;
  let sent = 0;
  const counters = new Map(ids.map((id) => [id, 0]));
  const loops = ids.map(async (id) => {
    while (running) {
      const n = counters.get(id)!;
      counters.set(id, n + 1);
      const content = `${id} #${n}`;
      const live = c.liveHostIds();
      if (live.length === 0) break;
      const url = c.hosts.get(live[Math.floor(Math.random() * live.length)]!)!.url;
      const res = await trySend(url, id, content, n % 3 === 0);
      sent++;
      if (res.status === 200 || res.status === 202) expected.get(id)!.acked.push(content);
      else expected.get(id)!.unacked.add(content);
    }
  });
  return {
    sent: () => sent,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
