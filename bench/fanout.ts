import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { connect } from "nats";
import { http } from "../test/harness/colony-process.ts";
import type { ProcessCluster } from "../test/harness/cluster.ts";
import { KeepAliveClient } from "./http-client.ts";
import type { Row } from "./stats.ts";
import { fmt, latency, timeUs } from "./stats.ts";

/** Fan-outs one active supervisor makes before a new one takes over: its list of workers (read at each delegation) stays ≤ 100. */
const FANOUTS_PER_SUPERVISOR = 10;

const supervisorConfig = { tools: ["delegate"], workers: { w: {} } };

async function fanout(client: KeepAliveClient, key: string, content: string): Promise<void> {
  const res = await client.send("POST", `/v1/agents/assistant/${key}/messages`, { content });
  const status = res.status === 200 ? (JSON.parse(res.text) as { status?: string }).status : undefined;
  if (status !== "completed") throw new Error(`bench fan-out failed: ${res.status} ${res.text}`);
}

/**
 * Creates supervisor `key` through the host at `url` (not timed), then times
 * its first message, a turn delegating 10 subtasks in parallel to 10 new
 * workers (µs), through `client` (a keep-alive client to the same host).
 */
export async function timeNewFanout(url: string, client: KeepAliveClient, key: string): Promise<number> {
  await http(url, "POST", "/v1/agents", { type: "assistant", key, config: supervisorConfig });
  return timeUs(() => fanout(client, key, "fanout 10 w subtask"));
}

/**
 * Fan-out figures on a running cluster, through `host` (scripted model): a
 * supervisor's turn delegating 10 subtasks in parallel. Every delegate call
 * creates its own worker (its id derives from the call), so the workers are
 * always new: each is created, placed, activated from Redis, and runs one
 * durable turn. Measured three ways, interleaved so that all see the same
 * machine: from a new supervisor (placed and activated by this message too),
 * from an active one, and, for the floor without creation, 10 messages in
 * parallel to 10 active agents on that host. The baseline is 10 raw NATS
 * requests in parallel to another process. The timed requests go through
 * keep-alive node:http clients (10 sockets for the floor): ten fetch calls
 * in parallel cost ~6 ms of client CPU on the cores the cluster runs on.
 */
export async function fanoutRows(c: ProcessCluster, host: string, samples: number): Promise<Row[]> {
  const url = c.url(host);
  const client = new KeepAliveClient(url, 10);
  const echo = await natsEcho(c.nats.url);
  const plain = Array.from({ length: 10 }, (_, i) => `fanplain${i}`);
  for (const key of plain) {
    await http(url, "POST", "/v1/agents", { type: "assistant", key });
    await http(url, "POST", `/v1/agents/assistant/${key}/messages`, { content: "warm up" });
  }
  // Fan-outs before the timed ones, so the delegation path runs optimized too (see warm-up.ts).
  for (let i = 0; i < Math.max(1, samples / 2); i++) {
    await http(url, "POST", "/v1/agents", { type: "assistant", key: `fanlead-warm${i}`, config: supervisorConfig });
    await fanout(client, `fanlead-warm${i}`, "fanout 10 w warm up");
  }
  for (let i = 0; i < 20; i++) await echo.batch();
  const fresh: number[] = [], active: number[] = [], floor: number[] = [], raw: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      fresh.push(await timeNewFanout(url, client, `fanlead${i}`));
      const lead = `fanactive${Math.floor(i / FANOUTS_PER_SUPERVISOR)}`;
      if (i % FANOUTS_PER_SUPERVISOR === 0) {
        await http(url, "POST", "/v1/agents", { type: "assistant", key: lead, config: supervisorConfig });
        await fanout(client, lead, "fanout 10 w warm up");
      }
      active.push(await timeUs(() => fanout(client, lead, `fanout 10 w subtask ${i}`)));
      floor.push(
        await timeUs(() =>
          Promise.all(
            plain.map(async (key) => {
              const res = await client.send("POST", `/v1/agents/assistant/${key}/messages`, { content: `m${i}` });
              if (res.status !== 200) throw new Error(`bench floor message failed: ${res.status} ${res.text}`);
            }),
          ),
        ),
      );
      raw.push(await timeUs(echo.batch));
    }
  } finally {
    client.close();
    await echo.close();
  }
  const base = latency(raw).p50;
  const row = (what: string, us: number[]): Row => {
    const p50 = latency(us).p50;
    return { what, colony: `${fmt(p50 / 1000, 1)} ms`, baseline: `${fmt(base / 1000, 2)} ms 10 NATS req`, ratio: `${fmt(p50 / base, 1)}×` };
  };
  return [
    row("fan-out: a turn delegating 10 subtasks in parallel (new supervisor, 10 new workers), p50", fresh),
    row(`fan-out: the same from an active supervisor with 10–${10 * (FANOUTS_PER_SUPERVISOR - 1)} earlier workers (workers are new: one per call), p50`, active),
    row("fan-out floor without creation: 10 messages in parallel to 10 active agents (HTTP), p50", floor),
  ];
}

/** 10 raw NATS requests in parallel to an echo process, as one timed batch. */
async function natsEcho(natsUrl: string): Promise<{ batch: () => Promise<unknown>; close: () => Promise<void> }> {
  const subject = "bench.echo.fan";
  const bytes = new Uint8Array(180);
  const child = spawn(process.execPath, [fileURLToPath(new URL("./nats-echo.mjs", import.meta.url)), natsUrl, subject], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve) => child.stdout!.once("data", () => resolve()));
  const nc = await connect({ servers: natsUrl, noAsyncTraces: true });
  return {
    batch: () => Promise.all(Array.from({ length: 10 }, () => nc.request(subject, bytes, { timeout: 5_000 }))),
    close: async () => {
      await nc.close();
      child.kill("SIGTERM");
    },
  };
}
