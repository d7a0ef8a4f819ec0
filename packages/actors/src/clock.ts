/** A cancellable timer handle, returned by {@link Clock.setTimeout}. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * Time, injected: passivation, heartbeat expiry and budgets read the clock
 * through this interface so tests can move time without sleeping.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

/**
 * Waits `ms` on `clock` (the system's by default). An abort ends the wait at
 * once, rejecting with the signal's reason: the one abortable sleep of the
 * runtime (model retries, a turn's back-off, the scripted model's `slow`).
 */
export function sleep(ms: number, opts: { clock?: Clock; signal?: AbortSignal } = {}): Promise<void> {
  const { clock = systemClock, signal } = opts;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      timer.cancel();
      reject(signal!.reason);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * `pending`'s outcome, or a rejection with the signal's reason as soon as
 * `signal` aborts (at once if it already has). `pending` itself is not
 * stopped: this is for waits whose work cannot take a signal.
 */
export function untilAborted<T>(pending: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    pending.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * `pending`'s outcome, or `onTimeout()`'s (its value, or its throw as a
 * rejection) if `pending` has not settled within `ms` on `clock`. The timer
 * is cancelled as soon as either happens: nothing is left behind.
 */
export function withTimeout<T, U>(pending: Promise<T>, ms: number, onTimeout: () => U, clock: Clock = systemClock): Promise<T | U> {
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (e) {
        reject(e);
      }
    }, Math.max(0, ms));
    pending.then(
      (value) => {
        timer.cancel();
        resolve(value);
      },
      (e: unknown) => {
        timer.cancel();
        reject(e);
      },
    );
  });
}
