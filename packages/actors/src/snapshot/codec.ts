import { Packr } from "msgpackr";
import { z } from "zod";
import { CorruptSnapshotError } from "../errors.ts";
import type { AgentState, DeadLetter, InboxMessage, TurnResult } from "../agent/state.ts";
import { agentStateSchema, deadLetterSchema, inboxMessageSchema, turnResultSchema } from "../agent/state.ts";
import { headEncoder } from "./head-encoder.ts";

/** Bumped on every incompatible change of the snapshot shape. */
export const SNAPSHOT_VERSION = 2;
/**
 * Version 1 snapshots held the whole conversation; version 2 holds a head
 * (everything but the conversation, and how many messages the log holds)
 * beside an append-only log of messages. Version 1 is still read.
 */
const WHOLE_SNAPSHOT_VERSION = 1;

// Plain maps, no records extension: the bytes stay readable by any msgpack
// decoder and do not depend on structure state shared between processes.
const packr = new Packr({ useRecords: false, moreTypes: false });
const encodeHead = headEncoder(packr, SNAPSHOT_VERSION);

type Kind = "snapshot" | "inbox message" | "turn result" | "dead letter" | "message";

function encode(kind: Kind, body: unknown): Uint8Array {
  return packr.pack({ v: SNAPSHOT_VERSION, k: kind, b: body });
}

function unpack(kind: Kind, bytes: Uint8Array, versions: readonly number[] = [SNAPSHOT_VERSION]): { v: number; b: unknown } {
  let envelope: unknown;
  try {
    envelope = packr.unpack(bytes);
  } catch (e) {
    throw new CorruptSnapshotError(`${kind} is not valid msgpack (${bytes.length} bytes)`, { cause: e });
  }
  return open(kind, envelope, versions);
}

/** A decoded envelope's version and body, if it is one of `kind` in one of `versions`. */
function open(kind: Kind, envelope: unknown, versions: readonly number[] = [SNAPSHOT_VERSION]): { v: number; b: unknown } {
  const env = envelope as { v?: unknown; k?: unknown; b?: unknown } | null;
  if (!env || typeof env !== "object" || env.k !== kind) {
    throw new CorruptSnapshotError(`bytes do not hold a Colony ${kind}`);
  }
  if (typeof env.v !== "number" || !versions.includes(env.v)) {
    throw new CorruptSnapshotError(`${kind} has schema version ${String(env.v)}; this build reads version ${versions.join(" or ")}`, {
      details: { version: env.v },
    });
  }
  // The envelope itself, no copy: one object fewer per log entry.
  return env as { v: number; b: unknown };
}

function decode<T>(kind: Kind, bytes: Uint8Array, schema: z.ZodType<T>): T {
  return check(kind, unpack(kind, bytes).b, schema);
}

function check<T>(kind: Kind, body: unknown, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CorruptSnapshotError(`${kind} failed validation at ${issue?.path.join(".") || "(root)"}: ${issue?.message}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/**
 * An agent's state as stored: a head (the state without its conversation,
 * with `messageCount`) and the conversation's messages, one log entry each,
 * so that a checkpoint writes only the messages added since the last one.
 */
export interface EncodedState {
  head: Uint8Array;
  /** Entries for `messages[from…]`. */
  log: Uint8Array[];
}

/** Reads a stored state: a head with its log, or a version 1 snapshot that holds everything (its log is empty). */
function decodeStored(head: Uint8Array, log: readonly Uint8Array[]): { state: AgentState; whole: boolean } {
  const { v, b } = unpack("snapshot", head, [SNAPSHOT_VERSION, WHOLE_SNAPSHOT_VERSION]);
  if (v === WHOLE_SNAPSHOT_VERSION) return { state: check("snapshot", b, agentStateSchema) as AgentState, whole: true };
  const body = b as { messageCount?: unknown } | null;
  if (!body || typeof body !== "object" || body.messageCount !== log.length) {
    throw new CorruptSnapshotError(`snapshot head expects ${String(body?.messageCount)} messages; the log holds ${log.length}`);
  }
  const { messageCount: _count, ...rest } = body as Record<string, unknown>;
  // One zod pass over the assembled state, as for a whole snapshot.
  return { state: check("snapshot", { ...rest, messages: decodeLog(log) }, agentStateSchema) as AgentState, whole: false };
}

/**
 * The log entries' message bodies, unvalidated (the caller's zod pass
 * checks them). The entries are read in one msgpackr pass over one buffer:
 * an `unpack` per entry costs twice as much on a long log (a native string
 * extraction, a DataView and a Buffer per entry). Each value must end
 * exactly where its entry does, so a bad entry is still named as such and
 * never read into its neighbour.
 */
function decodeLog(log: readonly Uint8Array[]): unknown[] {
  const messages: unknown[] = [];
  if (log.length === 0) return messages;
  const bytes = log.length === 1 ? log[0]! : Buffer.concat(log);
  const bad = (why: string, cause?: unknown) => {
    const i = messages.length;
    return new CorruptSnapshotError(`message log entry ${i} (${log[i]?.length ?? 0} bytes) ${why}`, cause === undefined ? {} : { cause });
  };
  let end = 0;
  try {
    packr.unpackMultiple(bytes, (value: unknown, _start?: number, stop?: number) => {
      end += log[messages.length]!.length;
      if (stop !== end) throw bad("is not one msgpack value");
      try {
        messages.push(open("message", value).b);
      } catch (e) {
        throw bad(`is not a log entry: ${(e as Error).message}`);
      }
    });
  } catch (e) {
    throw e instanceof CorruptSnapshotError ? e : bad("is not valid msgpack", e);
  }
  // Only empty entries at the end hold no value.
  if (messages.length !== log.length) throw bad("is not valid msgpack");
  return messages;
}

/** An agent's state without its conversation: what a head snapshot holds. */
export type AgentHead = Omit<AgentState, "messages"> & { messageCount: number };

const headSchema = agentStateSchema.omit({ messages: true }).extend({ messageCount: z.number().int().nonnegative() });

/** Reads a head alone (no log): status, counters, children, without decoding the conversation. */
function decodeHead(head: Uint8Array): AgentHead {
  const { v, b } = unpack("snapshot", head, [SNAPSHOT_VERSION, WHOLE_SNAPSHOT_VERSION]);
  if (v === WHOLE_SNAPSHOT_VERSION) {
    const { messages, ...rest } = check("snapshot", b, agentStateSchema) as AgentState;
    return { ...rest, messageCount: messages.length };
  }
  return check("snapshot", b, headSchema) as AgentHead;
}

/**
 * The one place msgpackr meets Colony's persisted data: snapshots, inbox
 * messages and turn results, each wrapped with a schema version and kind and
 * validated with zod on the way back in.
 */
export const codec = {
  /** The head of a state and log entries for its messages from `from` on (the ones not stored yet). */
  encodeState: (s: AgentState, from = 0): EncodedState => {
    const log: Uint8Array[] = [];
    for (let i = from; i < s.messages.length; i++) log.push(encode("message", s.messages[i]));
    return { head: encodeHead(s), log };
  },
  /** `whole`: a version 1 snapshot, its conversation not yet in a log. */
  decodeStored,
  decodeState: (head: Uint8Array, log: readonly Uint8Array[]): AgentState => decodeStored(head, log).state,
  decodeHead,
  encodeInbox: (m: InboxMessage): Uint8Array => encode("inbox message", m),
  decodeInbox: (b: Uint8Array): InboxMessage => decode("inbox message", b, inboxMessageSchema) as InboxMessage,
  encodeResult: (r: TurnResult): Uint8Array => encode("turn result", r),
  decodeResult: (b: Uint8Array): TurnResult => decode("turn result", b, turnResultSchema),
  encodeDeadLetter: (d: DeadLetter): Uint8Array => encode("dead letter", d),
  decodeDeadLetter: (b: Uint8Array): DeadLetter => decode("dead letter", b, deadLetterSchema) as DeadLetter,
};
