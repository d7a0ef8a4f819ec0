import type { Clock, ToolRegistry } from "@colony/actors";
import { AlreadyExistsError, NotFoundError, TOOL_NAME_PATTERN, ValidationError } from "@colony/actors";
import type { DeclaredTools } from "./declared-tools.ts";
import type { HttpToolDeclaration } from "./http-tool-declaration.ts";
import { parseHttpToolBody } from "./http-tool-declaration.ts";
import type { ToolDeclarationStore } from "./tool-declaration-store.ts";

/**
 * PUT/GET/DELETE /v1/tools: operators' HTTP tools, stored once for the
 * cluster and announced to every host.
 */
export class HttpTools {
  constructor(private readonly o: { store: ToolDeclarationStore; declared: DeclaredTools; registry: ToolRegistry; clock: Clock }) {}

  /** Validates and stores a declaration (replacing an earlier one); `created` if the name was new. */
  async put(name: string, body: unknown): Promise<{ created: boolean; tool: HttpToolDeclaration }> {
    const n = parseToolName(name);
    if (this.o.registry.isRegistered(n)) {
      throw new AlreadyExistsError(`tool ${n} is built into every host; choose another name`, { field: "name" });
    }
    const parsed = parseHttpToolBody(body);
    const tool: HttpToolDeclaration = { name: n, ...parsed, updatedAt: this.o.clock.now() };
    const created = await this.o.store.put(tool);
    this.o.declared.announcePut(tool);
    return { created, tool };
  }

  async get(name: string): Promise<HttpToolDeclaration> {
    const t = await this.o.store.get(parseToolName(name));
    if (!t) throw new NotFoundError(`no declared tool ${name}`);
    return t;
  }

  list(): Promise<HttpToolDeclaration[]> {
    return this.o.store.list();
  }

  /** Agents that list it keep it in their config; their calls get "not available" error results. */
  async delete(name: string): Promise<void> {
    const n = parseToolName(name);
    if (!(await this.o.store.delete(n))) throw new NotFoundError(`no declared tool ${n}`);
    this.o.declared.announceDelete(n, this.o.clock.now());
  }
}

function parseToolName(name: string): string {
  if (!TOOL_NAME_PATTERN.test(name)) throw new ValidationError(`name: tool names match ${TOOL_NAME_PATTERN.source}`, { field: "name" });
  return name;
}
