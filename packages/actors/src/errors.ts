/**
 * Errors sorted by what the caller should do about them:
 * - `terminal`: the request is wrong; retrying it unchanged fails again.
 * - `retryable`: a passing condition; retry after `retryAfterMs` if given.
 * - `reroute`: the agent lives elsewhere; refresh the placement and resend.
 */
export type ErrorAction = "terminal" | "retryable" | "reroute";

export type ErrorCode =
  | "validation_failed"
  | "not_found"
  | "already_exists"
  | "wrong_state"
  | "payload_too_large"
  | "unauthorized"
  | "rate_limited"
  | "unavailable"
  | "stale_epoch"
  | "agent_not_here"
  | "no_responders"
  | "timeout"
  | "corrupt_snapshot"
  | "internal";

export interface ErrorDetails {
  field?: string;
  [k: string]: unknown;
}

export class ColonyError extends Error {
  readonly code: ErrorCode;
  readonly action: ErrorAction;
  readonly details: ErrorDetails | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ErrorCode,
    action: ErrorAction,
    message: string,
    opts: { details?: ErrorDetails; cause?: unknown; retryAfterMs?: number } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.action = action;
    this.details = opts.details;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** Input that breaks a rule; `details.field` names the offending field. */
export class ValidationError extends ColonyError {
  constructor(message: string, details?: ErrorDetails) {
    super("validation_failed", "terminal", message, details ? { details } : {});
  }
}

export class NotFoundError extends ColonyError {
  constructor(message: string, details?: ErrorDetails) {
    super("not_found", "terminal", message, details ? { details } : {});
  }
}

export class AlreadyExistsError extends ColonyError {
  constructor(message: string, details?: ErrorDetails) {
    super("already_exists", "terminal", message, details ? { details } : {});
  }
}

/** The target exists but its state forbids the operation (suspended, stopping, ...). */
export class WrongStateError extends ColonyError {
  constructor(message: string, details?: ErrorDetails) {
    super("wrong_state", "terminal", message, details ? { details } : {});
  }
}

export class PayloadTooLargeError extends ColonyError {
  constructor(message: string, details?: ErrorDetails) {
    super("payload_too_large", "terminal", message, details ? { details } : {});
  }
}

/** Draining host or a dependency down: retry later, possibly elsewhere. */
export class UnavailableError extends ColonyError {
  constructor(message: string, opts: { cause?: unknown; retryAfterMs?: number } = {}) {
    super("unavailable", "retryable", message, opts);
  }
}

export class TimeoutError extends ColonyError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super("timeout", "retryable", message, opts);
  }
}

/**
 * A snapshot write presented an epoch older than the agent's current fence:
 * a newer activation exists and this one must stop without writing.
 */
export class StaleEpochError extends ColonyError {
  constructor(agent: string, epoch: number, current: number) {
    super("stale_epoch", "terminal", `write for ${agent} at epoch ${epoch} rejected: the fence is at ${current}`, {
      details: { agent, epoch, current },
    });
  }
}

/** The agent is not active on the host asked; the caller refreshes its placement and resends. */
export class AgentNotHereError extends ColonyError {
  constructor(agent: string, host: string) {
    super("agent_not_here", "reroute", `${agent} is not active on ${host}`, { details: { agent, host } });
  }
}

/** Nobody listens on the subject (the process is gone): refresh the route and resend. */
export class NoRespondersError extends ColonyError {
  constructor(subject: string) {
    super("no_responders", "reroute", `nobody answers on ${subject}`, { details: { subject } });
  }
}

/** Bytes that do not decode into a valid snapshot. */
export class CorruptSnapshotError extends ColonyError {
  constructor(message: string, opts: { cause?: unknown; details?: ErrorDetails } = {}) {
    super("corrupt_snapshot", "terminal", message, opts);
  }
}

export function isColonyError(e: unknown): e is ColonyError {
  return e instanceof ColonyError;
}

/** A message fit for a log line or an error body, whatever was thrown. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
