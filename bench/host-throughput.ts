import * as nact from "nact";
import type { AgentId } from "@colony/actors";
import { startTestHost } from "@colony/host/testing";
import type { Row } from "./stats.ts";
import { fmt } from "./stats.ts";

/**
 * Messages per second through one host (scripted model, memory store), each
 * a full Colony message: durable append, a turn, a fenced snapshot commit,
 * the reply. Next to it, raw nact tell throughput in the same process.
 */
export async function hostThroughput(opts: { agents: number; messages: number; warmup: number; concurrency: number }): Promise<Row[]> {
  const host = await startTestHost({ config: { idleMs: 600_000 } });
  try {
    const ids: AgentId[] = [];
    for (let i = 0; i < opts.agents; i++) ids.push((await host.service.spawn({ type: "assistant", key: `bench${i}` })).id as AgentId);
    const pump = async (count: number, tag: string) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: opts.concurrency }, async () => {
          while (next < count) {
            const i = next++;
            const out = await host.service.send(ids[i % ids.length]!, { content: `${tag} ${i}` });
            if (out.kind !== "completed") throw new Error("a bench message did not complete");
          }
        }),
      );
    };
    // Activate every agent, then let V8 optimize the message path (see warm-up.ts).
    await Promise.all(ids.map((id) => host.service.send(id, { content: "warm up" })));
    await pump(opts.warmup, "warm up");

    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await pump(opts.messages, "message");
    const colonyRate = opts.messages / ((performance.now() - t0) / 1000);
    const cpu = process.cpuUsage(cpu0);
    const cpuPerMessage = (cpu.user + cpu.system) / opts.messages;
    const nactRate = await rawNactTell(opts.messages * 20, opts.agents);
    return [
      {
        what: `messages/s, 1 host, ${opts.agents} agents, ${opts.concurrency} in flight (wait=true)`,
        colony: `${fmt(colonyRate, 0)}/s`,
        baseline: `${fmt(nactRate, 0)}/s nact tell`,
        ratio: `${fmt(colonyRate / nactRate, 4)}×`,
      },
      // The whole process: the host and the callers driving it (a caller here is a function call, not a socket).
      { what: "CPU per message (process CPU time / messages, host and callers)", colony: `${fmt(cpuPerMessage, 0)} µs`, baseline: "goal ≤ 100 µs", ratio: "" },
    ];
  } finally {
    await host.shutdown();
  }
}

/** Raw nact: tells spread over `actors` actors, timed until the last is handled. */
async function rawNactTell(messages: number, actors: number): Promise<number> {
  const system = nact.start();
  let handled = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const refs = Array.from({ length: actors }, (_, i) =>
    nact.spawn(system, (state: number, _msg: number) => {
      if (++handled === messages) done();
      return state + 1;
    }, `raw${i}`, { initialState: 0 } as never),
  );
  const t0 = performance.now();
  for (let i = 0; i < messages; i++) nact.dispatch(refs[i % actors]!, i);
  await finished;
  const rate = messages / ((performance.now() - t0) / 1000);
  nact.stop(system);
  return rate;
}
