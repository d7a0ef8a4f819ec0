import type { Settles } from "./lifecycle.ts";
import type { TurnResult } from "./state.ts";

interface Waiter {
  resolve(result: TurnResult): void;
  reject(error: unknown): void;
}

/** Called with the waiting call ids once a turn pauses for approval. */
export type PauseListener = (callIds: string[]) => void;

/**
 * Who waits for what of an activation's messages: the result of a queued
 * message (settled when its turn commits, or rejected when the activation
 * ends), and the pause of a turn for approval (listeners unsubscribe
 * themselves; an ending activation does not call them). Its maps exist
 * only while someone waits: an idle agent has none.
 */
export class ResultWaiters implements Settles {
  private results: Map<string, Waiter[]> | undefined;
  private pauses: Map<string, Set<PauseListener>> | undefined;

  /** The result of `messageId`, once `resolve` (or `rejectAll`) is called. */
  wait(messageId: string): Promise<TurnResult> {
    return new Promise<TurnResult>((resolve, reject) => {
      const results = (this.results ??= new Map());
      const list = results.get(messageId) ?? [];
      list.push({ resolve, reject });
      results.set(messageId, list);
    });
  }

  resolve(messageId: string, result: TurnResult): void {
    const list = this.results?.get(messageId);
    if (!list) return;
    this.results!.delete(messageId);
    if (this.results!.size === 0) this.results = undefined;
    for (const w of list) w.resolve(result);
  }

  /** Rejects every result still awaited (the activation ended). */
  rejectAll(error: Error): void {
    const lists = [...(this.results?.values() ?? [])];
    this.results = undefined;
    for (const list of lists) for (const w of list) w.reject(error);
  }

  /** Subscribes to the pause of `messageId`'s turn; returns the unsubscribe. */
  onPause(messageId: string, listener: PauseListener): () => void {
    const pauses = (this.pauses ??= new Map());
    const set = pauses.get(messageId) ?? new Set();
    set.add(listener);
    pauses.set(messageId, set);
    return () => {
      set.delete(listener);
      const current = this.pauses;
      if (set.size > 0 || !current || current.get(messageId) !== set) return;
      current.delete(messageId);
      if (current.size === 0) this.pauses = undefined;
    };
  }

  /** Tells `messageId`'s listeners its turn paused, waiting for `callIds`. */
  paused(messageId: string, callIds: string[]): void {
    const set = this.pauses?.get(messageId);
    if (set) for (const listener of [...set]) listener(callIds);
  }
}

/** Answers a request handed to the actor: no argument for success. */
export type Answer = (error?: unknown) => void;

/**
 * Requests handed to the actor (stop, decide, resume) and not answered yet.
 * nact drops the messages of an actor stopped while they wait, so the
 * activation's end answers every one still open; each is answered once.
 * The set exists only while a request is open.
 */
export class OpenRequests implements Settles {
  private open: Set<Answer> | undefined;

  /** The answer of a new request, settling `resolve` or `reject` the first time it is called. */
  add(resolve: () => void, reject: (error: unknown) => void): Answer {
    const answer: Answer = (error) => {
      if (!this.open?.delete(answer)) return;
      if (this.open.size === 0) this.open = undefined;
      if (error) reject(error);
      else resolve();
    };
    (this.open ??= new Set()).add(answer);
    return answer;
  }

  rejectAll(error: Error): void {
    for (const answer of [...(this.open ?? [])]) answer(error);
  }
}
