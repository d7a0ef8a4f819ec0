import { http } from "../test/harness/colony-process.ts";
import type { ProcessCluster } from "../test/harness/cluster.ts";
import { KeepAliveClient } from "./http-client.ts";

/** CPU seconds all of a cluster's processes have used (their /metrics process_cpu_seconds_total). */
export async function clusterCpuSeconds(urls: string[]): Promise<number> {
  let total = 0;
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = /^process_cpu_seconds_total (\S+)$/m.exec(text);
    if (m) total += Number(m[1]);
  }
  return total;
}

/** What a burst of durable messages measured: messages/s, and CPU seconds of the cluster's processes per message. */
export interface LoadFigures {
  rate: number;
  cpuPerMessage: number;
}

/**
 * Durable messages (wait=true) from `callers` callers at once to `agents`
 * agents of one cluster, spread over its hosts through keep-alive
 * node:http clients (fetch, i.e. undici, spent more CPU per message than
 * any host: 1.7 ms against 1.3 ms, on the same cores the cluster runs on).
 */
export class DurableLoad {
  private readonly clients: KeepAliveClient[];
  private readonly processes: string[];

  private constructor(
    cluster: ProcessCluster,
    private readonly ids: string[],
    private readonly callers: number,
  ) {
    this.clients = [...cluster.hosts.keys()].map((h) => new KeepAliveClient(cluster.url(h), Math.ceil(callers / cluster.hosts.size)));
    this.processes = [...cluster.hosts.values(), ...cluster.directories].map((p) => p.url);
  }

  /** Creates `agents` agents (`assistant/<prefix>N`) and sends each a first message. */
  static async start(cluster: ProcessCluster, opts: { agents: number; callers: number; prefix: string }): Promise<DurableLoad> {
    const ids = Array.from({ length: opts.agents }, (_, i) => `assistant/${opts.prefix}${i}`);
    for (const id of ids) await http(cluster.url(), "POST", "/v1/agents", { type: "assistant", key: id.split("/")[1] });
    await Promise.all(ids.map((id) => http(cluster.url(), "POST", `/v1/agents/${id}/messages`, { content: "warm up" })));
    return new DurableLoad(cluster, ids, opts.callers);
  }

  /** The agents, as `type/key`. */
  get agents(): readonly string[] {
    return this.ids;
  }

  /** Sends `count` messages (contents tagged `tag`) and times them. */
  async pump(count: number, tag: string): Promise<LoadFigures> {
    const cpuBefore = await clusterCpuSeconds(this.processes);
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: this.callers }, async () => {
        while (next < count) {
          const i = next++;
          const res = await this.clients[i % this.clients.length]!.send("POST", `/v1/agents/${this.ids[i % this.ids.length]}/messages`, { content: `${tag}${i}` });
          if (res.status !== 200) throw new Error(`bench message failed: ${res.status} ${res.text}`);
        }
      }),
    );
    const rate = count / ((performance.now() - t0) / 1000);
    return { rate, cpuPerMessage: ((await clusterCpuSeconds(this.processes)) - cpuBefore) / count };
  }

  close(): void {
    for (const client of this.clients) client.close();
  }
}
