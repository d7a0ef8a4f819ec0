import type { Packr } from "msgpackr";
import type { AgentConfig } from "../config/agent-config.ts";
import type { AgentState } from "../agent/state.ts";

/**
 * The head of a snapshot, encoded on every commit: one msgpack map
 * `{v, k: "snapshot", b: {...state but messages, messageCount}}`. The agent's
 * config is most of a head's structure and almost never changes, so its
 * bytes are packed once per config object (configs are never changed in
 * place, like messages) and spliced in as the body's last entry. The bytes
 * are the plain map any msgpack decoder reads; only the key order differs
 * from packing the object whole.
 */
export function headEncoder(packr: Packr, version: number): (s: AgentState) => Uint8Array {
  const copy = (v: unknown) => packr.pack(v).slice();
  // The envelope up to the body: a map of three, "v", the version, "k", the kind, "b".
  const prefix = concat([Uint8Array.of(0x83), copy("v"), copy(version), copy("k"), copy("snapshot"), copy("b")]);
  const configKey = copy("config");
  const configBytes = new WeakMap<AgentConfig, Uint8Array>();
  const packedConfig = (config: AgentConfig): Uint8Array => {
    let bytes = configBytes.get(config);
    if (!bytes) configBytes.set(config, (bytes = copy(config)));
    return bytes;
  };
  return (s) => {
    const body = packr.pack(headFields(s));
    const { count, size } = mapHeader(body);
    const header = mapHeaderBytes(count + 1);
    const config = packedConfig(s.config);
    // From Node's buffer pool, as msgpackr's own output: a typed array of its own costs more than the packing.
    const out = Buffer.allocUnsafe(prefix.length + header.length + body.length - size + configKey.length + config.length);
    out.set(prefix, 0);
    out.set(header, prefix.length);
    let at = prefix.length + header.length;
    out.set(body.subarray(size), at);
    at += body.length - size;
    out.set(configKey, at);
    out.set(config, at + configKey.length);
    return out;
  };
}

/**
 * The head's fields but the config, as an object literal: a fixed shape
 * packs faster than an object rest (`{ messages, ...rest }`), and the type
 * makes a new state field a compile error here until it is stored.
 */
function headFields(s: AgentState): Omit<AgentState, "messages" | "config"> & { messageCount: number } {
  const f = {
    id: s.id,
    type: s.type,
    key: s.key,
    status: s.status,
    memory: s.memory,
    usage: s.usage,
    turns: s.turns,
    lastSeq: s.lastSeq,
    turn: s.turn,
    parent: s.parent,
    children: s.children,
    depth: s.depth,
    suspension: s.suspension,
    lastError: s.lastError,
    escalations: s.escalations,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
    messageCount: s.messages.length,
  };
  // A state built without a defaulted field (one zod fills in on reading) stores no key for it, as a packed object rest did.
  if (f.depth === undefined || f.suspension === undefined || f.lastError === undefined || f.escalations === undefined) {
    for (const k in f) if (f[k as keyof typeof f] === undefined) delete f[k as keyof typeof f];
  }
  return f;
}

/** A msgpack map's entry count and header length (fixmap, map 16 or map 32). */
function mapHeader(b: Uint8Array): { count: number; size: number } {
  const first = b[0]!;
  if (first >= 0x80 && first <= 0x8f) return { count: first & 0x0f, size: 1 };
  if (first === 0xde) return { count: (b[1]! << 8) | b[2]!, size: 3 };
  if (first === 0xdf) return { count: ((b[1]! << 24) | (b[2]! << 16) | (b[3]! << 8) | b[4]!) >>> 0, size: 5 };
  throw new Error(`a head body must be a msgpack map (first byte 0x${first.toString(16)})`);
}

function mapHeaderBytes(count: number): Uint8Array {
  if (count < 16) return Uint8Array.of(0x80 | count);
  if (count < 0x10000) return Uint8Array.of(0xde, count >> 8, count & 0xff);
  return Uint8Array.of(0xdf, count >>> 24, (count >> 16) & 0xff, (count >> 8) & 0xff, count & 0xff);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
