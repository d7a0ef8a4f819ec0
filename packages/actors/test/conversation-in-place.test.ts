import { describe, expect, it } from "vitest";
import { AgentTypeRegistry } from "../src/agent/define.ts";
import { appendMessages } from "../src/agent/conversation.ts";
import { initialState } from "../src/agent/state.ts";
import { parseAgentId, splitAgentId } from "../src/ids.ts";
import type { ChatMessage } from "../src/model/messages.ts";
import { AgentStore } from "../src/store/agent-store.ts";
import type { CommitRequest } from "../src/store/driver.ts";
import { MemoryStoreDriver } from "../src/store/memory-driver.ts";
import { claim } from "../src/testing/claim.ts";

const say = (role: "user" | "assistant", text: string): ChatMessage => ({ role, content: [{ type: "text", text }] });

/** A memory driver whose next commit waits until `release` is called, and that records what each commit appended. */
class GatedDriver extends MemoryStoreDriver {
  readonly commits: CommitRequest["log"][] = [];
  private gate: Promise<void> | undefined;
  release: () => void = () => {};
  holdNext(): void {
    this.gate = new Promise((r) => (this.release = r));
  }
  override async commit(agent: string, req: CommitRequest): Promise<void> {
    this.commits.push(req.log);
    const gate = this.gate;
    this.gate = undefined;
    if (gate) await gate;
    return super.commit(agent, req);
  }
}

describe("a conversation its activation extends in place", () => {
  it("appends onto the list itself only when its owner says so", () => {
    const list = [say("user", "q0")];
    expect(appendMessages(list, [say("assistant", "a0")], true)).toBe(list);
    expect(list).toHaveLength(2);
    const copy = appendMessages(list, [say("user", "q1")], false);
    expect(copy).not.toBe(list);
    expect([list.length, copy.length]).toEqual([2, 3]);
  });

  it("is committed as it was when the commit began; what grew meanwhile goes with the next commit", async () => {
    const driver = new GatedDriver();
    const store = new AgentStore(driver);
    const id = parseAgentId("assistant/inplace");
    const { type, key } = splitAgentId(id);
    await store.create(initialState(id, type, key, new AgentTypeRegistry().resolve("assistant", undefined), 1));
    const epoch = await claim(store, id);
    const loaded = (await store.load(id))!;
    const state = loaded.state;
    appendMessages(state.messages, [say("user", "q0"), say("assistant", "a0")], true);
    driver.holdNext();
    const first = store.commit(id, epoch, state, { log: loaded.log });
    appendMessages(state.messages, [say("user", "q1")], true);
    driver.release();
    await first;
    expect((await store.readState(id))!.messages).toHaveLength(2);
    await store.commit(id, epoch, state, { log: loaded.log });
    expect(driver.commits.map((l) => [l?.base, l?.entries.length, l?.replace ?? false])).toEqual([
      [0, 2, false],
      [2, 1, false],
    ]);
    expect(await store.readState(id)).toStrictEqual(state);
  });
});
