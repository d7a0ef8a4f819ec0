import type { AgentConfig, AgentConfigInput } from "../config/agent-config.ts";
import { agentConfigSchema, resolveConfig } from "../config/agent-config.ts";
import { ValidationError } from "../errors.ts";
import type { AgentType } from "../ids.ts";
import { parseAgentType } from "../ids.ts";

/** A type of agent, registered in code; instances are spawned by id at run time. */
export interface AgentDefinition {
  readonly type: AgentType;
  readonly description: string;
  /** Config every instance starts from; spawn-time `config` overrides it. */
  readonly defaults: AgentConfigInput;
}

/**
 * Declares an agent type. Its defaults go through the same schema as a spawn
 * config, so a bad definition fails at start-up, not at the first message.
 */
export function defineAgent(def: { type: string; description?: string; defaults?: AgentConfigInput }): AgentDefinition {
  const type = parseAgentType(def.type);
  const parsed = agentConfigSchema.safeParse(def.defaults ?? {});
  if (!parsed.success) throw new Error(`defineAgent(${type}): invalid defaults: ${parsed.error.message}`);
  return Object.freeze({ type, description: def.description ?? "", defaults: parsed.data });
}

/** The built-in `assistant`: configured entirely at spawn time. */
export const assistantAgent = defineAgent({
  type: "assistant",
  description: "A general assistant, configured at spawn time (system prompt, model, tools, limits, workers).",
  defaults: { systemPrompt: "You are a helpful assistant." },
});

/** The agent types a host knows. */
export class AgentTypeRegistry {
  private readonly defs = new Map<string, AgentDefinition>();

  constructor(defs: readonly AgentDefinition[] = [assistantAgent]) {
    for (const d of defs) this.register(d);
  }

  register(def: AgentDefinition): void {
    if (this.defs.has(def.type)) throw new Error(`agent type ${def.type} is defined twice`);
    this.defs.set(def.type, def);
  }

  /** The type's definition in code, if there is one. */
  find(type: string): AgentDefinition | undefined {
    return this.defs.get(type);
  }

  get(type: string): AgentDefinition {
    const def = this.defs.get(type);
    if (!def) {
      throw new ValidationError(`type: unknown agent type "${type}"; known types: ${[...this.defs.keys()].join(", ")}`, { field: "type" });
    }
    return def;
  }

  types(): AgentType[] {
    return [...this.defs.keys()] as AgentType[];
  }

  /**
   * Validates a spawn-time config (unknown fields rejected, errors naming
   * `config.<path>`) and layers it over the type's defaults.
   */
  resolve(type: string, input: unknown): AgentConfig {
    return this.resolveOver(this.get(type).defaults, input);
  }

  /** Like {@link resolve}, over the given defaults (a type's code defaults layered with an operator's). */
  resolveOver(defaults: AgentConfigInput, input: unknown): AgentConfig {
    const parsed = agentConfigSchema.optional().safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const path = ["config", ...issue.path.map(String)].join(".");
      const keys = issue.code === "unrecognized_keys" ? `: ${issue.keys.join(", ")}` : "";
      throw new ValidationError(`${path}: ${issue.message}${keys}`, { field: issue.code === "unrecognized_keys" ? `${path}.${issue.keys[0]}` : path });
    }
    return resolveConfig(defaults, parsed.data);
  }
}
