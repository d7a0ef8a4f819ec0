import { TOKEN_PATTERN } from "../ids.ts";

function token(value: string, what: string): string {
  // A "." would change the subject's depth; "*" and ">" would reach wildcard subscribers.
  if (!TOKEN_PATTERN.test(value)) throw new Error(`${what} "${value}" cannot be a NATS subject token`);
  return value;
}

/** Every subject Colony uses, built only from validated tokens. */
export const subjects = {
  /** Requests to one host (agent commands, activation). */
  host: (hostId: string) => `colony.host.${token(hostId, "host id")}`,
  /** Requests to the directory; replicas share the queue group. */
  directory: "colony.dir",
  directoryQueue: "colony-directory",
  /** Host heartbeats; every directory replica hears every host. */
  heartbeat: (hostId: string) => `colony.hb.${token(hostId, "host id")}`,
  heartbeats: "colony.hb.*",
  /** Hosts announcing that they follow an agent's live events (AgentEventHub). */
  eventWatch: "colony.evwatch",
  /** Live events of one agent (its type and key are each one token). */
  agentEvents: (agentId: string) => {
    const [type, key] = agentId.split("/");
    return `colony.ev.${token(type ?? "", "agent type")}.${token(key ?? "", "agent key")}`;
  },
};
