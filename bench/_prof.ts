import type { AgentId } from "@colony/actors";
import { startTestHost } from "@colony/host/testing";
const N = Number(process.env.N ?? 20000), C = 32, A = 100;
const host = await startTestHost({ config: { idleMs: 600_000 } });
const ids: AgentId[] = [];
for (let i = 0; i < A; i++) ids.push((await host.service.spawn({ type: "assistant", key: `bench${i}` })).id as AgentId);
await Promise.all(ids.map((id) => host.service.send(id, { content: "warm up" })));
for (let round = 0; round < 2; round++) {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: C }, async () => {
    while (next < N) { const i = next++; const out = await host.service.send(ids[i % A]!, { content: `message ${i}` }); if (out.kind !== "completed") throw new Error("x"); }
  }));
  const dt = performance.now() - t0; const cpu = process.cpuUsage(cpu0);
  console.log(`round ${round}: ${(N / (dt / 1000)).toFixed(0)}/s, cpu/msg ${((cpu.user + cpu.system) / N).toFixed(0)} µs`);
}
await host.shutdown();
