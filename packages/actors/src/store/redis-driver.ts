import { randomUUID } from "node:crypto";
import { Cluster } from "ioredis";
import type { ChainableCommander } from "ioredis";
import { errorMessage } from "../errors.ts";
import { StaleEpochError } from "../errors.ts";
import type { AppendOutcome, AppendRequest, CommitRequest, DeadLetterRecords, ListOptions, StoreDriver, StoredAgent } from "./driver.ts";
import { DEAD_LETTER_LIMIT, DEDUP_WINDOW, LogMismatchError } from "./driver.ts";
import type { RedisClient } from "./redis-client.ts";
import { NotReplicatedError } from "./redis-client.ts";
import { AGENT_INDEX_KEY, agentKeys } from "./redis-keys.ts";
import { APPEND, COMMIT, CREATE, DELETE, DISCARD_DEAD_LETTER } from "./redis-scripts.ts";

/** A Cluster's redirection: the slot has another master now. */
const REDIRECTED = /^(MOVED|ASK) /;

type Reply = [string | Buffer, ...(string | number | Buffer)[]];
type Arg = string | number | Buffer;
/** The scripts whose writes an acknowledgement promises: with `waitReplicas`, each is followed by WAIT. */
type WriteScript = "colonyAppend" | "colonyCommit" | "colonyDelete" | "colonyCreate";
type ScriptPipeline = ChainableCommander & Record<WriteScript, (...args: Arg[]) => ChainableCommander>;

/**
 * Redis replicates asynchronously: a write its master acknowledged can be
 * lost if the master dies before a replica has it. With this, every agent
 * write (create, append, commit, delete) is followed by `WAIT replicas
 * timeoutMs` on the same connection (so the same master in a Cluster), and
 * fewer confirmations than `replicas` fail the call as NotReplicatedError
 * (503, nothing acknowledged).
 */
export interface WaitReplicas {
  replicas: number;
  timeoutMs: number;
}

interface ScriptCommands {
  colonyAppend(snap: string, inbox: string, seq: string, dedup: string, epoch: string, ...argv: (string | number | Buffer)[]): Promise<Reply>;
  colonyCommit(...keysAndArgs: (string | Buffer | number)[]): Promise<Reply>;
  colonyDelete(...keysAndToken: string[]): Promise<number>;
  colonyCreate(snap: string, log: string, snapshot: Buffer, ...entries: Buffer[]): Promise<number>;
  colonyDiscardDeadLetter(dead: string, deadIndex: string, id: string): Promise<number>;
}

/**
 * The Redis store driver (ioredis). It owns neither encoding nor policy:
 * bytes in, bytes out, with fencing and dedup in Lua scripts.
 *
 * ioredis resends a command whose reply was lost to a dropped connection,
 * so every write here is safe to run twice: appends answer a duplicate with
 * the entry's seq, commits delete exactly one entry and record each result
 * once, create and delete recognise their own earlier run.
 */
export class RedisStoreDriver implements StoreDriver {
  private readonly redis: RedisClient & ScriptCommands;

  /**
   * @param redis a connected client (one server or a Cluster); the driver defines its scripts on it and closes it on `close()` if `owns`.
   * @param waitReplicas when set, no write is acknowledged before that many replicas have it (see WaitReplicas).
   */
  constructor(
    redis: RedisClient,
    private readonly owns = true,
    private readonly waitReplicas?: WaitReplicas,
  ) {
    redis.defineCommand("colonyAppend", { numberOfKeys: 5, lua: APPEND });
    redis.defineCommand("colonyCommit", { numberOfKeys: 10, lua: COMMIT });
    redis.defineCommand("colonyDelete", { numberOfKeys: 14, lua: DELETE });
    redis.defineCommand("colonyDiscardDeadLetter", { numberOfKeys: 2, lua: DISCARD_DEAD_LETTER });
    redis.defineCommand("colonyCreate", { numberOfKeys: 2, lua: CREATE });
    this.redis = redis as RedisClient & ScriptCommands;
  }

  /**
   * Runs a write script, then, with `waitReplicas`, WAIT in the same
   * pipeline: ioredis sends a pipeline to the node owning its keys' slot, so
   * WAIT counts the replicas of the master that took the write. A Cluster
   * does not retry a pipeline redirected (MOVED, after a failover) once its
   * WAIT ran, so the driver re-reads the slots and sends it again, once.
   */
  private async write<T>(script: WriteScript, ...args: Arg[]): Promise<T> {
    const wait = this.waitReplicas;
    if (!wait) return (this.redis[script] as (...a: Arg[]) => Promise<T>)(...args);
    try {
      return await this.writeAndWait<T>(wait, script, args);
    } catch (e) {
      const redis = this.redis;
      if (!(redis instanceof Cluster) || !REDIRECTED.test(errorMessage(e))) throw e;
      await new Promise<void>((resolve) => redis.refreshSlotsCache(() => resolve()));
      return this.writeAndWait<T>(wait, script, args);
    }
  }

  private async writeAndWait<T>(wait: WaitReplicas, script: WriteScript, args: Arg[]): Promise<T> {
    const pipeline = this.redis.pipeline() as ScriptPipeline;
    pipeline[script](...args).wait(wait.replicas, wait.timeoutMs);
    const res = await pipeline.exec();
    if (!res) throw new Error(`redis pipeline for ${script} was aborted`);
    for (const [err] of res) if (err) throw err;
    const acked = Number(res[1]![1]);
    if (acked < wait.replicas) throw new NotReplicatedError(wait.replicas, acked);
    return res[0]![1] as T;
  }

  async create(agent: string, snapshot: Uint8Array, log: Uint8Array[] = []): Promise<boolean> {
    // Index first: a crash between the two leaves an index entry without a
    // snapshot (skipped when listing), never an agent missing from the list.
    await this.redis.zadd(AGENT_INDEX_KEY, 0, agent);
    const k = agentKeys(agent);
    return (await this.write<number>("colonyCreate", k.snap, k.log, Buffer.from(snapshot), ...log.map((e) => Buffer.from(e)))) === 1;
  }

  /** The connection, for tools that work on the keys directly (the testing helpers' `claim`). */
  get client(): RedisClient {
    return this.redis;
  }

  async epoch(agent: string): Promise<number> {
    return Number((await this.redis.get(agentKeys(agent).epoch)) ?? 0);
  }

  async load(agent: string): Promise<StoredAgent | null> {
    const k = agentKeys(agent);
    const res = await this.redis.multi().getBuffer(k.snap).get(k.epoch).xrangeBuffer(k.inbox, "-", "+").lrangeBuffer(k.log, 0, -1).exec();
    if (!res) throw new Error("redis MULTI for load was aborted");
    for (const [err] of res) if (err) throw err;
    const snapshot = res[0]![1] as Buffer | null;
    if (!snapshot) return null;
    const entries = res[2]![1] as [Buffer, Buffer[]][];
    return {
      snapshot,
      log: res[3]![1] as Buffer[],
      epoch: Number(res[1]![1] ?? 0),
      inbox: entries.map(([id, fields]) => ({ seq: Number(id.toString().split("-")[1]), payload: fields[1]! })),
    };
  }

  async readSnapshot(agent: string): Promise<Uint8Array | null> {
    return this.redis.getBuffer(agentKeys(agent).snap);
  }

  async readAgent(agent: string): Promise<{ snapshot: Uint8Array; log: Uint8Array[] } | null> {
    const k = agentKeys(agent);
    const res = await this.redis.multi().getBuffer(k.snap).lrangeBuffer(k.log, 0, -1).exec();
    if (!res) throw new Error("redis MULTI for read was aborted");
    for (const [err] of res) if (err) throw err;
    const snapshot = res[0]![1] as Buffer | null;
    return snapshot ? { snapshot, log: res[1]![1] as Buffer[] } : null;
  }

  async append(agent: string, entry: AppendRequest): Promise<AppendOutcome> {
    const k = agentKeys(agent);
    const reply = await this.write<Reply>("colonyAppend", k.snap, k.inbox, k.seq, k.dedup, k.epoch, entry.epoch, entry.messageId, entry.idempotencyKey ?? "", Buffer.from(entry.payload));
    switch (String(reply[0])) {
      case "accepted":
        return { kind: "accepted", seq: Number(reply[1]) };
      case "duplicate": {
        const seq = reply[2] === undefined || String(reply[2]) === "" ? undefined : Number(reply[2]);
        return seq === undefined ? { kind: "duplicate", messageId: String(reply[1]) } : { kind: "duplicate", messageId: String(reply[1]), seq };
      }
      case "stale":
        return { kind: "stale", current: Number(reply[1]) };
      default:
        return { kind: "missing" };
    }
  }

  async readInbox(agent: string, seq: number): Promise<Uint8Array | null> {
    const entries = await this.redis.xrangeBuffer(agentKeys(agent).inbox, `0-${seq}`, `0-${seq}`);
    return entries[0]?.[1][1] ?? null;
  }

  async commit(agent: string, req: CommitRequest): Promise<void> {
    const k = agentKeys(agent);
    const args: (string | Buffer | number)[] = [k.snap, k.epoch, k.inbox, k.dedup, k.results, k.recent, k.dead, k.deadIndex, k.deadMeta, k.log];
    args.push(req.epoch, Buffer.from(req.snapshot), req.processedSeq === undefined ? "" : req.processedSeq, DEDUP_WINDOW);
    args.push(req.deadLetter?.id ?? "", req.deadLetter ? Buffer.from(req.deadLetter.payload) : "", DEAD_LETTER_LIMIT);
    const log = req.log;
    args.push(log ? (log.replace ? "r" : "a") : "", log?.base ?? 0, log?.entries.length ?? 0);
    for (const e of log?.entries ?? []) args.push(Buffer.from(e.buffer, e.byteOffset, e.byteLength));
    for (const r of req.results ?? []) args.push(r.messageId, Buffer.from(r.payload));
    const reply = await this.write<Reply>("colonyCommit", ...args);
    if (String(reply[0]) === "stale") throw new StaleEpochError(agent, req.epoch, Number(reply[1]));
    if (String(reply[0]) === "log") throw new LogMismatchError(agent, log!.base, Number(reply[1]));
  }

  async result(agent: string, messageId: string): Promise<Uint8Array | null> {
    return this.redis.hgetBuffer(agentKeys(agent).results, messageId);
  }

  async deadLetters(agent: string, { after, limit }: { after?: string; limit: number }): Promise<DeadLetterRecords> {
    const k = agentKeys(agent);
    // One MULTI: the page of ids, their entries and the dropped count agree.
    const ids = await this.redis.zrangebyscore(k.deadIndex, after === undefined ? "-inf" : `(${Number(after)}`, "+inf", "WITHSCORES", "LIMIT", 0, limit);
    const pairs: [string, string][] = [];
    for (let i = 0; i < ids.length; i += 2) pairs.push([ids[i]!, ids[i + 1]!]);
    const p = this.redis.multi().hget(k.deadMeta, "dropped");
    for (const [id] of pairs) p.hgetBuffer(k.dead, id);
    const res = await p.exec();
    if (!res) throw new Error("redis MULTI for dead letters was aborted");
    for (const [err] of res) if (err) throw err;
    const entries: DeadLetterRecords["entries"] = [];
    // An id discarded between the two reads has no entry: skipped.
    pairs.forEach(([id], i) => {
      const payload = res[i + 1]![1] as Buffer | null;
      if (payload) entries.push({ id, payload });
    });
    return { entries, nextCursor: pairs.length === limit ? pairs[pairs.length - 1]![1] : null, dropped: Number(res[0]![1] ?? 0) };
  }

  async deadLetter(agent: string, id: string): Promise<Uint8Array | null> {
    return this.redis.hgetBuffer(agentKeys(agent).dead, id);
  }

  async discardDeadLetter(agent: string, id: string): Promise<boolean> {
    const k = agentKeys(agent);
    return (await this.redis.colonyDiscardDeadLetter(k.dead, k.deadIndex, id)) === 1;
  }

  async delete(agent: string): Promise<boolean> {
    const k = agentKeys(agent);
    const existed = await this.write<number>("colonyDelete", k.snap, k.epoch, k.inbox, k.seq, k.dedup, k.results, k.recent, k.placement, k.trace, k.deleted, k.dead, k.deadIndex, k.deadMeta, k.log, randomUUID());
    await this.redis.zrem(AGENT_INDEX_KEY, agent);
    return existed === 1;
  }

  async list({ type, after, limit }: ListOptions): Promise<string[]> {
    // '0' is the character after '/', so "(type0" bounds exactly the ids "type/…".
    const floor = type !== undefined ? `${type}/` : undefined;
    const min = after !== undefined && (floor === undefined || after >= floor) ? `(${after}` : floor !== undefined ? `[${floor}` : "-";
    const max = type !== undefined ? `(${type}0` : "+";
    return this.redis.zrangebylex(AGENT_INDEX_KEY, min, max, "LIMIT", 0, limit);
  }

  async close(): Promise<void> {
    if (this.owns) await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
