import type { AgentConfig, AgentConfigInput, AgentType, AgentTypeRegistry, Clock, ModelProvider, ToolRegistry } from "@colony/actors";
import type { TypeStore } from "./records/type-store.ts";
import { NotFoundError, ValidationError, agentConfigSchema, assistantAgent, parseAgentType, resolveConfig } from "@colony/actors";

/** An agent type as GET /v1/types lists it. */
export interface AgentTypeView {
  type: string;
  /** `code` (defineAgent), `api` (PUT /v1/types), or both layered (`code+api`). */
  source: "code" | "api" | "code+api";
  description: string;
  /** The operator's defaults as given (empty when the type is defined in code only). */
  config: AgentConfigInput;
  /** What a spawn without a config gets. */
  resolved: AgentConfig;
  updatedAt: string | null;
}

/**
 * The agent types a host can spawn: any valid type name, its config layered
 * code defaults (`defineAgent`, else the assistant's) < an operator's
 * defaults (stored, seen by every host) < the spawn's config, field by field.
 */
export class AgentTypes {
  constructor(
    private readonly o: { registry: AgentTypeRegistry; store: TypeStore; tools: ToolRegistry; model: ModelProvider; clock: Clock },
  ) {}

  /** The resolved config of a spawn of `type` with `input` (validated, unknown fields rejected). */
  async resolve(type: string, input: unknown): Promise<{ type: AgentType; config: AgentConfig }> {
    const t = parseAgentType(type);
    const config = this.o.registry.resolveOver(await this.defaults(t), input);
    await this.o.tools.refreshUnknown(toolsOf(config));
    this.assertUsable(config);
    return { type: t, config };
  }

  /** Stores an operator's defaults for the type (replacing earlier ones); every host sees them at its next spawn. */
  async put(type: string, input: unknown): Promise<AgentTypeView> {
    const t = parseAgentType(type);
    this.o.registry.resolveOver({}, input); // validates, with errors naming config.<path>
    const parsed = agentConfigSchema.parse(input ?? {});
    const resolved = resolveConfig(this.o.registry.find(t)?.defaults ?? assistantAgent.defaults, parsed);
    await this.o.tools.refreshUnknown(toolsOf(resolved));
    this.assertUsable(resolved);
    await this.o.store.put({ type: t, config: parsed, updatedAt: this.o.clock.now() });
    return this.view(t);
  }

  async list(): Promise<AgentTypeView[]> {
    const names = new Set<string>([...this.o.registry.types(), ...(await this.o.store.list()).map((e) => e.type)]);
    return Promise.all([...names].sort().map((t) => this.view(t as AgentType)));
  }

  async view(type: string): Promise<AgentTypeView> {
    const t = parseAgentType(type);
    const code = this.o.registry.find(t);
    const stored = await this.o.store.get(t);
    if (!code && !stored) throw new NotFoundError(`agent type ${t} has no defaults (any valid type name can still be spawned, with the assistant's)`);
    return {
      type: t,
      source: code && stored ? "code+api" : stored ? "api" : "code",
      description: code?.description ?? "",
      config: stored?.config ?? {},
      resolved: this.o.registry.resolveOver(await this.defaults(t), undefined),
      updatedAt: stored ? new Date(stored.updatedAt).toISOString() : null,
    };
  }

  /** Whether the type is known anywhere (code or API); every valid name can be spawned regardless. */
  async known(type: string): Promise<boolean> {
    return this.o.registry.find(type) !== undefined || (await this.o.store.get(type)) !== null;
  }

  private async defaults(type: AgentType): Promise<AgentConfigInput> {
    const code = this.o.registry.find(type)?.defaults ?? assistantAgent.defaults;
    const stored = await this.o.store.get(type);
    return stored ? layer(code, stored.config) : code;
  }

  /** Tools that exist here and models the provider serves: a 400 naming the field, not a failing turn later. */
  private assertUsable(config: AgentConfig): void {
    this.o.tools.assertKnown(config.tools, "config.tools");
    // A rule for a tool that does not exist (a typo) would guard nothing while looking like it does.
    for (const name of Object.keys(config.policies ?? {})) {
      if (!this.o.tools.has(name)) {
        throw new ValidationError(`config.policies.${name}: unknown tool "${name}"; this host offers: ${this.o.tools.names().join(", ") || "none"}`, { field: `config.policies.${name}` });
      }
    }
    this.assertServed(config.model, "config.model");
    for (const [name, w] of Object.entries(config.workers)) {
      this.o.tools.assertKnown(w.tools ?? [], `config.workers.${name}.tools`);
      if (w.model !== undefined) this.assertServed(w.model, `config.workers.${name}.model`);
    }
  }

  private assertServed(model: string, field: string): void {
    const why = this.o.model.refuses?.(model);
    if (why) throw new ValidationError(`${field}: ${why}`, { field });
  }
}

/** Every tool a config names: its own, its workers', and those its policies guard. */
function toolsOf(config: AgentConfig): string[] {
  return [...config.tools, ...Object.values(config.workers).flatMap((w) => w.tools ?? []), ...Object.keys(config.policies ?? {})];
}

/** Operator defaults over code defaults, field by field (as a spawn's config over a type's). */
function layer(code: AgentConfigInput, operator: AgentConfigInput): AgentConfigInput {
  const merged: AgentConfigInput = { ...code, ...operator };
  if (code.limits || operator.limits) merged.limits = { ...code.limits, ...operator.limits };
  if (code.workers || operator.workers) merged.workers = { ...code.workers, ...operator.workers };
  if (code.permissions || operator.permissions) merged.permissions = { ...code.permissions, ...operator.permissions };
  if (code.policies || operator.policies) merged.policies = { ...code.policies, ...operator.policies };
  if (code.delegation || operator.delegation) merged.delegation = { ...code.delegation, ...operator.delegation };
  return merged;
}
