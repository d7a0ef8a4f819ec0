import { ValidationError } from "../errors.ts";

/**
 * NATS subject grammar, checked the same way by every transport so that a
 * subject the real server would silently misroute (nats-server drops a
 * message to `a..b` without an error, and a stray `*` reaches wildcard
 * subscribers) fails loudly in fast
 * in-memory tests too.
 *
 * Tokens are split on "."; `*` matches exactly one token and `>` one or more
 * trailing tokens. Wildcards are allowed only when subscribing, and only as a
 * whole token (`>` only as the last one).
 */
const WHITESPACE = /\s/;
const MAX_SUBJECT_CHARS = 512;

function show(value: string): string {
  return value.length > 60 ? `"${value.slice(0, 60)}…"` : `"${value}"`;
}

/** Validates a subject and returns its tokens; throws a ValidationError naming the field. */
export function subjectTokens(subject: string, opts: { wildcards: boolean }, field = "subject"): string[] {
  if (typeof subject !== "string" || subject.length === 0) throw new ValidationError(`${field} must be a non-empty string`, { field });
  if (subject.length > MAX_SUBJECT_CHARS) throw new ValidationError(`${field} is longer than ${MAX_SUBJECT_CHARS} characters`, { field });
  if (WHITESPACE.test(subject)) throw new ValidationError(`${field} ${show(subject)} contains whitespace`, { field });
  const tokens = subject.split(".");
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === "") throw new ValidationError(`${field} ${show(subject)} has an empty token (leading, trailing or doubled ".")`, { field });
    if (t === "*" || t === ">") {
      if (!opts.wildcards) throw new ValidationError(`${field} ${show(subject)} contains the wildcard "${t}": only subscriptions may use wildcards`, { field });
      if (t === ">" && i !== tokens.length - 1) throw new ValidationError(`${field} ${show(subject)}: ">" may only be the last token`, { field });
    } else if (t.includes("*") || t.includes(">")) {
      throw new ValidationError(`${field} ${show(subject)}: "*" and ">" may only stand alone as a token`, { field });
    }
  }
  return tokens;
}

/** Validates a queue group name. */
export function checkQueue(queue: string): string {
  if (typeof queue !== "string" || queue.length === 0 || WHITESPACE.test(queue) || queue.length > MAX_SUBJECT_CHARS) {
    throw new ValidationError(`queue must be a non-empty string without whitespace; got ${show(String(queue))}`, { field: "queue" });
  }
  return queue;
}

/** Whether a subscription pattern (already validated, as tokens) matches a concrete subject's tokens. */
export function subjectMatches(pattern: readonly string[], subject: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p === ">") return subject.length > i;
    if (i >= subject.length) return false;
    if (p !== "*" && p !== subject[i]) return false;
  }
  return pattern.length === subject.length;
}
