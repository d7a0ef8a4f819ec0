/**
 * The one way an activation ends (fenced, or stopped with a handoff): every
 * result waiter and every request still open in the actor's mailbox is
 * settled, once, and `onStopped` hears of it once.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { AgentId, AgentKey, AgentType, HostId, ModelCallOptions, ModelProvider, ModelRequest, ModelResponse } from "../src/index.ts";
import { Activation, AgentNotHereError, AgentStore, MemoryApprovalIndex, MemoryStoreDriver, NactRuntime, ScriptedModel, ToolRegistry, initialState, newMessageId, noopMetrics, resolveConfig, silentLogger, systemClock } from "../src/index.ts";
import { claim } from "../src/testing/claim.ts";
import { waitFor } from "../src/testing/wait.ts";

/** The scripted model, each call held until `release()`. */
class GatedModel implements ModelProvider {
  readonly name = "gated";
  started = 0;
  private readonly inner = new ScriptedModel();
  private open: () => void = () => {};
  private readonly gate = new Promise<void>((r) => (this.open = r));
  release(): void {
    this.open();
  }
  async complete(req: ModelRequest, opts?: ModelCallOptions): Promise<ModelResponse> {
    this.started++;
    await this.gate;
    return this.inner.complete(req, opts);
  }
}

const runtimes: NactRuntime[] = [];
afterEach(() => runtimes.splice(0).forEach((r) => r.close()));

async function started(model: ModelProvider) {
  const store = new AgentStore(new MemoryStoreDriver());
  const id = `assistant/end${Math.random().toString(36).slice(2, 8)}` as AgentId;
  const [type, key] = id.split("/") as [AgentType, AgentKey];
  await store.create(initialState(id, type, key, resolveConfig({}, {}), Date.now()));
  const runtime = new NactRuntime();
  runtimes.push(runtime);
  const stops: { fenced: boolean; pending: number }[] = [];
  const hostId = "h" as HostId;
  const deps = { hostId, store, model, tools: new ToolRegistry([]), runtime, clock: systemClock, metrics: noopMetrics, logger: silentLogger, approvals: new MemoryApprovalIndex() };
  const activation = (await Activation.start(id, await claim(store, id), "restore", { ...deps, onStopped: (_, how) => stops.push(how) }))!;
  /** Accepts a message; answers its result's promise once it is accepted. */
  const send = async (content: string) => {
    const messageId = newMessageId();
    await activation.accept({ messageId, content, acceptedAt: Date.now() });
    return { messageId, result: activation.result(messageId) };
  };
  return { activation, stops, send, id, hostId };
}

/** How a promise settled, read without waiting: "pending" if it has not yet. */
function outcome(p: Promise<unknown>): () => string {
  let seen = "pending";
  p.then(
    (v) => (seen = `ok:${JSON.stringify(v && typeof v === "object" && "status" in v ? v.status : v)}`),
    (e: unknown) => (seen = `error:${e instanceof Error ? e.message : String(e)}`),
  );
  return () => seen;
}

describe("an activation's end", () => {
  it("a result asked for after the end is refused at once (the agent lives elsewhere now), never left waiting", async () => {
    const model = new GatedModel();
    const { activation, send } = await started(model);
    (await send("first")).result.catch(() => {});
    await waitFor(() => model.started === 1);
    const queued = await send("second");
    queued.result.catch(() => {});
    activation.fence(new Error("owned elsewhere"));
    await expect(activation.result(queued.messageId)).rejects.toBeInstanceOf(AgentNotHereError);
  });

  it("fenced mid-turn: the running and the queued message's waiters and an open decision get the fence's error, once", async () => {
    const model = new GatedModel();
    const { activation, stops, send } = await started(model);
    const running = outcome((await send("first")).result);
    await waitFor(() => model.started === 1);
    const queued = outcome((await send("second")).result);
    // Waits in the mailbox behind the running turn: answered only by the end.
    const decision = outcome(activation.decide("toolu_none", true));

    activation.fence(new Error("owned elsewhere"));
    activation.fence(new Error("fenced twice"));
    await waitFor(() => running() !== "pending" && queued() !== "pending" && decision() !== "pending");
    expect([running(), queued(), decision()]).toEqual(["error:owned elsewhere", "error:owned elsewhere", "error:owned elsewhere"]);
    expect(stops).toEqual([{ fenced: true, pending: 2 }]);
    expect(activation.active).toBe(false);
    await expect(activation.accept({ messageId: newMessageId(), content: "late", acceptedAt: Date.now() })).rejects.toBeInstanceOf(AgentNotHereError);
    await expect(activation.resume()).rejects.toBeInstanceOf(AgentNotHereError);
    await activation.stop(); // ended already: resolves, ends nothing again
    model.release();
    expect(stops).toHaveLength(1);
  });

  it("stopped with a handoff: the running turn finishes, the queued message is left for the next activation and its waiter told so", async () => {
    const model = new GatedModel();
    const { activation, stops, send, id, hostId } = await started(model);
    const running = outcome((await send("first")).result);
    await waitFor(() => model.started === 1);
    const queued = outcome((await send("second")).result);

    const stopped = activation.stop({ handoff: true });
    expect(activation.active).toBe(false);
    model.release();
    await stopped;
    await waitFor(() => running() !== "pending" && queued() !== "pending");
    expect(running()).toBe('ok:"completed"');
    expect(queued()).toBe(`error:${new AgentNotHereError(id, hostId).message}`);
    expect(model.started).toBe(1);
    expect(stops).toEqual([{ fenced: false, pending: 1 }]);
    activation.fence(new Error("after the end"));
    expect(stops).toHaveLength(1);
  });
});
