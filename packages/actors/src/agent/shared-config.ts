import type { AgentConfig } from "../config/agent-config.ts";

/** Live configs by their JSON: held weakly, so a config no activation uses any more goes. */
const byJson = new Map<string, WeakRef<AgentConfig>>();
const forget = new FinalizationRegistry<string>((json) => {
  if (byJson.get(json)?.deref() === undefined) byJson.delete(json);
});

/**
 * The one config object of this process equal to `config` (itself if it is
 * the first). Agents of a type mostly share their config; decoded per agent
 * it costs each idle one most of a kilobyte, partly because its strings are
 * slices of the whole encoded snapshot. Configs are never changed in place
 * (a new context gets a new one), so sharing them is safe.
 */
export function sharedConfig(config: AgentConfig): AgentConfig {
  const json = JSON.stringify(config);
  const known = byJson.get(json)?.deref();
  if (known) return known;
  byJson.set(json, new WeakRef(config));
  forget.register(config, json);
  return config;
}
