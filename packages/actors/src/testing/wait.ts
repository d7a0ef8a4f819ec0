/**
 * Polling with a deadline: the one way tests wait for something to become
 * true. No fixed sleeps; a timeout says what was awaited and what was seen.
 */

export interface WaitOptions {
  /** Give up after this long. Default 5,000 ms. */
  timeoutMs?: number;
  /** Pause between attempts. Default 20 ms. */
  intervalMs?: number;
  /** What is being waited for, for the timeout error ("redis to answer PING"). */
  message?: string;
  /** Stops the wait early: it rejects with the signal's reason. */
  signal?: AbortSignal;
}

export class WaitTimeoutError extends Error {
  constructor(
    message: string,
    readonly attempts: number,
    readonly lastValue: unknown,
    readonly lastError: unknown,
  ) {
    super(message, lastError === undefined ? undefined : { cause: lastError });
    this.name = "WaitTimeoutError";
  }
}

type Truthy<T> = Exclude<T, false | null | undefined | 0 | "">;

function show(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

const EXPIRED = Symbol("expired");
const ABORTED = Symbol("aborted");

/**
 * Resolves with `work`'s outcome, or EXPIRED after `ms`, or ABORTED when the
 * signal fires, whichever comes first; leaves no timer or listener behind.
 */
function within<T>(work: Promise<T> | undefined, ms: number, signal: AbortSignal | undefined): Promise<T | typeof EXPIRED | typeof ABORTED> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const limits = new Promise<typeof EXPIRED | typeof ABORTED>((resolve) => {
    timer = setTimeout(() => resolve(EXPIRED), Math.max(0, ms));
    if (signal) {
      onAbort = () => resolve(ABORTED);
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    }
  });
  return Promise.race(work ? [work, limits] : [limits]).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  });
}

/**
 * Calls `condition` until it returns (or resolves to) a truthy value, and
 * returns that value. A throw or rejection counts as "not yet" and is
 * reported if the deadline passes. One attempt that hangs cannot hold the
 * wait past its deadline.
 */
export async function waitFor<T>(condition: () => T | Promise<T>, options: WaitOptions = {}): Promise<Truthy<Awaited<T>>> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const intervalMs = options.intervalMs ?? 20;
  const { signal } = options;
  const deadline = performance.now() + timeoutMs;
  let attempts = 0;
  let lastValue: unknown;
  let lastError: unknown;
  let pending = false;
  for (;;) {
    signal?.throwIfAborted();
    attempts++;
    const attempt = Promise.resolve().then(condition);
    attempt.catch(() => {}); // a hung attempt that rejects later must not be unhandled
    try {
      const outcome = await within(attempt, deadline - performance.now(), signal);
      if (outcome === ABORTED) signal!.throwIfAborted();
      pending = outcome === EXPIRED;
      if (outcome !== EXPIRED && outcome !== ABORTED) {
        lastError = undefined;
        lastValue = outcome;
        if (outcome) return outcome as Truthy<Awaited<T>>;
      }
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      pending = false;
      lastError = e;
    }
    if (performance.now() >= deadline) {
      const what = options.message ?? "condition";
      const seen = pending
        ? "the last attempt had not finished"
        : lastError !== undefined
          ? `last attempt threw ${show(lastError)}`
          : `last value was ${show(lastValue)}`;
      throw new WaitTimeoutError(
        `timed out after ${timeoutMs} ms waiting for ${what} (${attempts} attempts; ${seen})`,
        attempts,
        lastValue,
        lastError,
      );
    }
    if ((await within(undefined, Math.min(intervalMs, deadline - performance.now()), signal)) === ABORTED) {
      signal!.throwIfAborted();
    }
  }
}
