import type { Logger } from "@colony/actors";
import { errorMessage } from "@colony/actors";

/** Something a process runs until told to stop. */
export interface Stoppable {
  shutdown(): Promise<void>;
}

/** How long a shutdown may take before the process exits anyway, unless the caller says otherwise. */
export const DEFAULT_SHUTDOWN_DEADLINE_MS = 60_000;
/** What a host's shutdown may take beyond its drain (closing connections, releasing placements). */
export const SHUTDOWN_MARGIN_MS = 15_000;

/**
 * Runs a service as the process's main job: SIGTERM/SIGINT drain it and exit
 * 0; a second signal exits at once; an unhandled rejection is logged and
 * ends the process (crash-only: a supervisor restarts it, the store keeps
 * what was acknowledged). A shutdown still running after `deadlineMs` exits
 * 1: whatever hangs, a stop ends the process (acknowledged messages are in
 * the store; the next activation picks them up).
 */
export function runUntilSignalled(service: Stoppable, logger: Logger, opts: { deadlineMs?: number } = {}): void {
  const deadlineMs = opts.deadlineMs ?? DEFAULT_SHUTDOWN_DEADLINE_MS;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting without draining");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, deadlineMs }, "shutting down");
    setTimeout(() => {
      logger.error({ signal, deadlineMs }, "shutdown did not finish before its deadline; exiting");
      process.exit(1);
    }, deadlineMs).unref();
    service.shutdown().then(
      () => process.exit(0),
      (e) => {
        logger.error({ err: errorMessage(e) }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("unhandledRejection", (reason) => {
    logger.error({ err: errorMessage(reason), stack: reason instanceof Error ? reason.stack : undefined }, "unhandled rejection");
    process.exit(1);
  });
}
