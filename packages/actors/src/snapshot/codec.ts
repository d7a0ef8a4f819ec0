import { Packr } from "msgpackr";
import type { z } from "zod";
import { CorruptSnapshotError } from "../errors.ts";
import type { AgentState, DeadLetter, InboxMessage, TurnResult } from "../agent/state.ts";
import { agentStateSchema, deadLetterSchema, inboxMessageSchema, turnResultSchema } from "../agent/state.ts";

/** Bumped on every incompatible change of the snapshot shape. */
export const SNAPSHOT_VERSION = 1;

// Plain maps, no records extension: the bytes stay readable by any msgpack
// decoder and do not depend on structure state shared between processes.
const packr = new Packr({ useRecords: false, moreTypes: false });

type Kind = "snapshot" | "inbox message" | "turn result" | "dead letter";

function encode(kind: Kind, body: unknown): Uint8Array {
  return packr.pack({ v: SNAPSHOT_VERSION, k: kind, b: body });
}

function decode<T>(kind: Kind, bytes: Uint8Array, schema: z.ZodType<T>): T {
  let envelope: unknown;
  try {
    envelope = packr.unpack(bytes);
  } catch (e) {
    throw new CorruptSnapshotError(`${kind} is not valid msgpack (${bytes.length} bytes)`, { cause: e });
  }
  const env = envelope as { v?: unknown; k?: unknown; b?: unknown } | null;
  if (!env || typeof env !== "object" || env.k !== kind) {
    throw new CorruptSnapshotError(`bytes do not hold a Colony ${kind}`);
  }
  if (env.v !== SNAPSHOT_VERSION) {
    throw new CorruptSnapshotError(`${kind} has schema version ${String(env.v)}; this build reads version ${SNAPSHOT_VERSION}`, {
      details: { version: env.v },
    });
  }
  const parsed = schema.safeParse(env.b);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CorruptSnapshotError(`${kind} failed validation at ${issue?.path.join(".") || "(root)"}: ${issue?.message}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/**
 * The one place msgpackr meets Colony's persisted data: snapshots, inbox
 * messages and turn results, each wrapped with a schema version and kind and
 * validated with zod on the way back in.
 */
export const codec = {
  encodeState: (s: AgentState): Uint8Array => encode("snapshot", s),
  decodeState: (b: Uint8Array): AgentState => decode("snapshot", b, agentStateSchema) as AgentState,
  encodeInbox: (m: InboxMessage): Uint8Array => encode("inbox message", m),
  decodeInbox: (b: Uint8Array): InboxMessage => decode("inbox message", b, inboxMessageSchema) as InboxMessage,
  encodeResult: (r: TurnResult): Uint8Array => encode("turn result", r),
  decodeResult: (b: Uint8Array): TurnResult => decode("turn result", b, turnResultSchema),
  encodeDeadLetter: (d: DeadLetter): Uint8Array => encode("dead letter", d),
  decodeDeadLetter: (b: Uint8Array): DeadLetter => decode("dead letter", b, deadLetterSchema) as DeadLetter,
};
