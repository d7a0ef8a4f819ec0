/**
 * DeclaredTools, the ToolSource each host keeps of the declared HTTP tools:
 * announcements over the (in-memory, encoding) transport, the store re-read,
 * and the two racing without losing a newer put or resurrecting a delete.
 */
import { afterEach, describe, expect, it } from "vitest";
import { MemoryBus, silentLogger } from "@colony/actors";
import type { HttpToolDeclaration } from "../src/tools/http-tool-declaration.ts";
import { DeclaredTools } from "../src/tools/declared-tools.ts";
import { noSecrets } from "../src/tools/secrets.ts";
import { MemoryToolDeclarationStore } from "../src/tools/tool-declaration-store.ts";
import { waitFor } from "../../../test/harness/wait.ts";

const decl = (name: string, updatedAt: number, url = "https://a.example/{q}"): HttpToolDeclaration => ({
  name,
  description: `${name}.`,
  inputSchema: { type: "object", properties: { q: { type: "string" } }, required: ["q"] },
  http: { method: "GET", url, timeoutMs: 1000, retries: 0, maxResponseChars: 1000 },
  permission: "auto",
  updatedAt,
});

/** A store whose next list() waits until released: a slow read racing an announcement. */
class GatedStore extends MemoryToolDeclarationStore {
  holdNextList(): { release: () => void; reached: Promise<void> } {
    let release!: () => void;
    let reached!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const reachedP = new Promise<void>((r) => (reached = r));
    const original = this.list.bind(this);
    this.list = async () => {
      const snapshot = await original();
      reached();
      await released;
      this.list = original;
      return snapshot;
    };
    return { release, reached: reachedP };
  }
}

const started: DeclaredTools[] = [];
afterEach(() => {
  for (const d of started.splice(0)) d.stop();
});

async function hosts(store: MemoryToolDeclarationStore, n = 2): Promise<DeclaredTools[]> {
  const bus = new MemoryBus();
  const out: DeclaredTools[] = [];
  for (let i = 0; i < n; i++) {
    const d = new DeclaredTools({ store, transport: bus.connect(`h${i}`), hostId: `h${i}`, logger: silentLogger, http: { secrets: noSecrets } });
    await d.start();
    started.push(d);
    out.push(d);
  }
  return out;
}

describe("DeclaredTools", () => {
  it("loads the store at start; an announced put or delete reaches every host without a store read", async () => {
    const store = new MemoryToolDeclarationStore();
    await store.put(decl("old", 1));
    const [a, b] = (await hosts(store)) as [DeclaredTools, DeclaredTools];
    expect(b.names()).toEqual(["old"]);
    a.announcePut(decl("fresh", 2)); // not in the store: only the announcement carries it
    expect(a.get("fresh")?.description).toBe("fresh.");
    await waitFor(() => b.get("fresh") !== undefined, { message: "b to apply the announced put" });
    expect(b.get("fresh")!.inputSchema).toEqual(decl("fresh", 2).inputSchema);
    a.announceDelete("old", 3);
    await waitFor(() => b.get("old") === undefined, { message: "b to apply the announced delete" });
  });

  it("an older announcement does not replace a newer declaration", async () => {
    const [a, b] = (await hosts(new MemoryToolDeclarationStore())) as [DeclaredTools, DeclaredTools];
    a.announcePut(decl("t", 5, "https://new.example/{q}"));
    await waitFor(() => b.get("t") !== undefined);
    a.announcePut(decl("t", 4, "https://old.example/{q}"));
    a.announcePut(decl("marker", 6));
    await waitFor(() => b.get("marker") !== undefined);
    expect(b.get("t")!.description).toBe("t.");
    expect((b as unknown as { held: Map<string, { decl: HttpToolDeclaration }> }).held.get("t")!.decl.http.url).toBe("https://new.example/{q}");
  });

  it("a store read begun before an announcement neither drops the announced put nor brings back the announced delete", async () => {
    const store = new GatedStore();
    await store.put(decl("doomed", 1));
    const [a, b] = (await hosts(store)) as [DeclaredTools, DeclaredTools];
    expect(b.names()).toEqual(["doomed"]);
    const gate = store.holdNextList();
    const reading = b.refresh();
    await gate.reached; // b's read saw: doomed, and no "late"
    await store.delete("doomed");
    a.announceDelete("doomed", 2);
    await store.put(decl("late", 3));
    a.announcePut(decl("late", 3));
    await waitFor(() => b.get("late") !== undefined && b.get("doomed") === undefined);
    gate.release();
    await reading;
    expect(b.names()).toEqual(["late"]);
    // The next read is authoritative again.
    await store.put(decl("doomed", 4));
    await b.refresh();
    expect(b.names()).toEqual(["doomed", "late"]);
  });

  it("a refresh reads what was written without an announcement (the periodic re-read, a spawn's re-read)", async () => {
    const store = new MemoryToolDeclarationStore();
    const [b] = (await hosts(store, 1)) as [DeclaredTools];
    await store.put(decl("silent", 1));
    expect(b.names()).toEqual([]);
    await b.refresh();
    expect(b.names()).toEqual(["silent"]);
    await store.delete("silent");
    await b.refresh();
    expect(b.names()).toEqual([]);
  });
});
