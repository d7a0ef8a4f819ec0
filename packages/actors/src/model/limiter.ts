import { ValidationError } from "../errors.ts";

/** Model calls one host makes at once when nobody says otherwise. */
export const DEFAULT_MAX_CONCURRENT_MODEL_CALLS = 8;

export interface ModelCallLimiterOptions {
  /** Calls allowed in flight at once; the rest wait in FIFO order. Default 8. */
  maxConcurrent?: number;
}

/** Gives the slot back; calling it again does nothing. */
export type ReleaseSlot = () => void;

interface Waiter {
  grant: (release: ReleaseSlot) => void;
}

/**
 * A FIFO semaphore over model calls: one per host, shared by every agent's
 * provider, so a burst of agents cannot open hundreds of requests to the
 * model API at once. A caller whose AbortSignal fires while it waits leaves
 * the queue and is rejected with the signal's reason.
 */
export class ModelCallLimiter {
  readonly maxConcurrent: number;
  private running = 0;
  private readonly queue: Waiter[] = [];

  constructor(options: ModelCallLimiterOptions = {}) {
    const max = options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_MODEL_CALLS;
    if (!Number.isInteger(max) || max < 1) {
      throw new ValidationError(`maxConcurrent must be an integer ≥ 1, got ${String(max)}`, { field: "maxConcurrent" });
    }
    this.maxConcurrent = max;
  }

  /** Calls holding a slot now. */
  get active(): number {
    return this.running;
  }

  /** Calls waiting for a slot. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Waits for a slot (first come, first served) and returns its release function. */
  acquire(signal?: AbortSignal): Promise<ReleaseSlot> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.running < this.maxConcurrent && this.queue.length === 0) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    return new Promise<ReleaseSlot>((resolve, reject) => {
      const onAbort = () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(release);
        },
      };
      this.queue.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Runs `fn` holding a slot. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private releaser(): ReleaseSlot {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.queue.shift();
      // The slot passes straight to the next waiter: `running` stays the same.
      if (next) next.grant(this.releaser());
      else this.running--;
    };
  }
}
