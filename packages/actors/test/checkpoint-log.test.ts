import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { AgentTypeRegistry } from "../src/agent/define.ts";
import type { AgentState } from "../src/agent/state.ts";
import { initialState } from "../src/agent/state.ts";
import { parseAgentId, splitAgentId } from "../src/ids.ts";
import type { ChatMessage } from "../src/model/messages.ts";
import { AgentStore } from "../src/store/agent-store.ts";
import type { CommitRequest } from "../src/store/driver.ts";
import { MemoryStoreDriver } from "../src/store/memory-driver.ts";
import { claim } from "../src/testing/claim.ts";

/** A memory driver that remembers what each commit asked to write to the log. */
class RecordingDriver extends MemoryStoreDriver {
  readonly commits: CommitRequest["log"][] = [];
  failNext = false;
  override async commit(agent: string, req: CommitRequest): Promise<void> {
    this.commits.push(req.log);
    if (this.failNext) {
      this.failNext = false;
      await super.commit(agent, req); // written, but the caller hears a failure: a lost reply
      throw new Error("connection lost after the command ran");
    }
    return super.commit(agent, req);
  }
}

const say = (role: "user" | "assistant", text: string): ChatMessage => ({ role, content: [{ type: "text", text }] });

async function started(driver: RecordingDriver) {
  const store = new AgentStore(driver);
  const id = parseAgentId(`assistant/log${Math.random().toString(36).slice(2, 8)}`);
  const { type, key } = splitAgentId(id);
  await store.create(initialState(id, type, key, new AgentTypeRegistry().resolve("assistant", undefined), 1));
  const epoch = await claim(store, id);
  const loaded = (await store.load(id))!;
  return { store, id, epoch, loaded };
}

const turn = (s: AgentState, n: number): AgentState => ({ ...s, turns: s.turns + 1, messages: [...s.messages, say("user", `q${n}`), say("assistant", `a${n}`)] });

describe("checkpoints write only what the conversation added", () => {
  it("appends each turn's new messages at the length the log holds, and loads the same state", async () => {
    const driver = new RecordingDriver();
    const { store, id, epoch, loaded } = await started(driver);
    let state = loaded.state;
    for (let n = 0; n < 5; n++) {
      state = turn(state, n);
      await store.commit(id, epoch, state, { log: loaded.log });
    }
    expect(driver.commits.map((l) => [l?.base, l?.entries.length, l?.replace ?? false])).toEqual([
      [0, 2, false],
      [2, 2, false],
      [4, 2, false],
      [6, 2, false],
      [8, 2, false],
    ]);
    expect((await store.load(id))!.state).toStrictEqual(state);
    expect(await store.readState(id)).toStrictEqual(state);
  });

  it("rewrites the log when the conversation no longer extends it (a compaction replaced its start)", async () => {
    const driver = new RecordingDriver();
    const { store, id, epoch, loaded } = await started(driver);
    let state = turn(turn(loaded.state, 0), 1);
    await store.commit(id, epoch, state, { log: loaded.log });
    state = { ...state, messages: [say("user", "summary of turns 0-1"), ...state.messages.slice(2)] };
    await store.commit(id, epoch, state, { log: loaded.log });
    expect(driver.commits.at(-1)).toMatchObject({ base: 0, replace: true });
    expect(driver.commits.at(-1)!.entries).toHaveLength(3);
    state = turn(state, 2);
    await store.commit(id, epoch, state, { log: loaded.log });
    expect(driver.commits.at(-1)).toMatchObject({ base: 3 });
    expect(await store.readState(id)).toStrictEqual(state);
  });

  it("rewrites the log after a commit whose outcome it never heard (written or not, the state is right)", async () => {
    const driver = new RecordingDriver();
    const { store, id, epoch, loaded } = await started(driver);
    let state = turn(loaded.state, 0);
    driver.failNext = true;
    await expect(store.commit(id, epoch, state, { log: loaded.log })).rejects.toThrow(/connection lost/);
    state = turn(state, 1);
    await store.commit(id, epoch, state, { log: loaded.log });
    expect(driver.commits.at(-1)).toMatchObject({ base: 0, replace: true });
    expect(await store.readState(id)).toStrictEqual(state);
  });

  it("reads a version 1 snapshot (the whole conversation in it) and moves the conversation into the log at the first commit", async () => {
    const driver = new RecordingDriver();
    const { store, id, epoch, loaded } = await started(driver);
    const old = { ...turn(loaded.state, 0), memory: { k: "v" } };
    const packr = new Packr({ useRecords: false, moreTypes: false });
    await driver.commit(id, { epoch, snapshot: packr.pack({ v: 1, k: "snapshot", b: old }) });
    const reloaded = (await store.load(id))!;
    expect(reloaded.state).toStrictEqual(old);
    expect(reloaded.log.count).toBe(-1);
    const next = turn(reloaded.state, 1);
    await store.commit(id, epoch, next, { log: reloaded.log });
    expect(driver.commits.at(-1)).toMatchObject({ base: 0, replace: true });
    expect(driver.commits.at(-1)!.entries).toHaveLength(4);
    expect(await store.readState(id)).toStrictEqual(next);
  });
});

describe("a conversation changed in its middle", () => {
  it("is rewritten whole, never appended to a log that would then disagree with it", async () => {
    const driver = new RecordingDriver();
    const { store, id, epoch, loaded } = await started(driver);
    let state = turn(turn(loaded.state, 0), 1);
    await store.commit(id, epoch, state, { log: loaded.log });
    const messages = [...state.messages];
    messages[1] = say("assistant", "a0, corrected");
    state = { ...state, messages: [...messages, say("user", "q2")] };
    await store.commit(id, epoch, state, { log: loaded.log });
    expect(driver.commits.at(-1)).toMatchObject({ base: 0, replace: true });
    expect(await store.readState(id)).toStrictEqual(state);
  });
});
