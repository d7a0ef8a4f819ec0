import { z } from "zod";
import type { Logger, Subscription, ToolDefinition, ToolSource, Transport } from "@colony/actors";
import { errorMessage, randomToken } from "@colony/actors";
import type { HttpToolDeclaration } from "./http-tool-declaration.ts";
import { httpToolDeclarationSchema } from "./http-tool-declaration.ts";
import { httpTool } from "./http-tool.ts";
import type { HttpToolOptions } from "./http-tool.ts";
import type { ToolDeclarationStore } from "./tool-declaration-store.ts";

/** Where a host announces a declared tool put or deleted, to every host. */
export const TOOLS_SUBJECT = "colony.tools";
/** How often each host re-reads the store anyway, for an announcement it missed. */
export const DEFAULT_TOOLS_REFRESH_MS = 30_000;

const announcementSchema = z.union([
  z.object({ put: httpToolDeclarationSchema }),
  z.object({ deleted: z.string(), at: z.number() }),
]);

/** A declaration with its tool, and when an announcement brought it (this host's clock; 0 if read from the store). */
type Held = { decl: HttpToolDeclaration; tool: ToolDefinition<unknown>; seenAt: number };

/**
 * The HTTP tools operators declared, as one host sees them: loaded at start,
 * kept current by announcements over the transport (which carry the
 * declaration itself, so applying one needs no store read) and a periodic
 * re-read. A ToolSource: the registry asks it on every turn, synchronously.
 */
export class DeclaredTools implements ToolSource {
  private held = new Map<string, Held>();
  /** Names deleted by an announcement, with when it arrived: a read of the store begun before must not bring them back. */
  private readonly deletedAt = new Map<string, number>();
  private sub: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;

  constructor(
    private readonly o: {
      store: ToolDeclarationStore;
      transport: Transport;
      hostId: string;
      logger: Logger;
      http: HttpToolOptions;
      refreshMs?: number;
    },
  ) {}

  get(name: string): ToolDefinition<unknown> | undefined {
    return this.held.get(name)?.tool;
  }

  names(): string[] {
    return [...this.held.keys()].sort();
  }

  /** Subscribes to announcements, reads the store and starts the periodic re-read. A store that cannot be read yet is retried then. */
  async start(): Promise<void> {
    this.sub = this.o.transport.subscribe(TOOLS_SUBJECT, (env) => {
      const a = announcementSchema.safeParse(env.body);
      if (!a.success) return;
      if ("put" in a.data) this.apply(a.data.put);
      else this.forget(a.data.deleted, a.data.at);
    });
    await this.refresh().catch((e) => this.o.logger.warn({ err: errorMessage(e) }, "declared tools not loaded yet; retrying in the background"));
    this.timer = setInterval(() => {
      this.refresh().catch((e) => this.o.logger.warn({ err: errorMessage(e) }, "re-reading the declared tools failed; keeping the ones known"));
    }, this.o.refreshMs ?? DEFAULT_TOOLS_REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    this.sub?.unsubscribe();
    clearInterval(this.timer);
  }

  /** Re-reads every declaration from the store (one read at a time; callers meanwhile share it). */
  refresh(): Promise<void> {
    this.reading ??= (async () => {
      const startedAt = Date.now();
      try {
        const all = await this.o.store.list();
        const next = new Map<string, Held>();
        for (const decl of all) {
          if ((this.deletedAt.get(decl.name) ?? -1) >= startedAt) continue;
          const mine = this.held.get(decl.name);
          const held = mine && (mine.decl.updatedAt >= decl.updatedAt || mine.seenAt >= startedAt) ? mine : this.build(decl, 0);
          if (held) next.set(decl.name, held);
        }
        // Announced while this read was under way: newer than what it saw.
        for (const [name, h] of this.held) if (!next.has(name) && h.seenAt >= startedAt) next.set(name, h);
        for (const [name, at] of this.deletedAt) if (at < startedAt) this.deletedAt.delete(name);
        this.held = next;
      } finally {
        this.reading = undefined;
      }
    })();
    return this.reading;
  }

  /** Applies a declaration put on this host and tells every other host. */
  announcePut(decl: HttpToolDeclaration): void {
    this.apply(decl);
    this.publish({ put: decl });
  }

  /** Forgets a deleted declaration here and tells every other host. */
  announceDelete(name: string, at: number): void {
    this.forget(name, at);
    this.publish({ deleted: name, at });
  }

  private publish(body: unknown): void {
    try {
      this.o.transport.publish(TOOLS_SUBJECT, { id: randomToken(16), kind: "tools.changed", from: this.o.hostId, deadline: Date.now() + 60_000, body });
    } catch (e) {
      // The periodic re-read brings the other hosts up to date.
      this.o.logger.warn({ err: errorMessage(e) }, "could not announce a declared tool's change");
    }
  }

  private apply(decl: HttpToolDeclaration): void {
    const mine = this.held.get(decl.name);
    if (mine && mine.decl.updatedAt > decl.updatedAt) return;
    const held = this.build(decl, Date.now());
    if (!held) return;
    this.deletedAt.delete(decl.name);
    this.held.set(decl.name, held);
  }

  private forget(name: string, at: number): void {
    const mine = this.held.get(name);
    if (mine && mine.decl.updatedAt > at) return;
    this.held.delete(name);
    this.deletedAt.set(name, Date.now());
  }

  /** Undefined (logged) for a declaration this host cannot enforce: validated at PUT, so only another version's data. */
  private build(decl: HttpToolDeclaration, seenAt: number): Held | undefined {
    try {
      return { decl, tool: httpTool(decl, this.o.http) as ToolDefinition<unknown>, seenAt };
    } catch (e) {
      this.o.logger.warn({ tool: decl.name, err: errorMessage(e) }, "a declared tool's inputSchema cannot be enforced here; the tool is left out");
      return undefined;
    }
  }
}
