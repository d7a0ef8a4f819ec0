import type { Logger } from "@colony/actors";
import { errorMessage } from "@colony/actors";

/** Something a process runs until told to stop. */
export interface Stoppable {
  shutdown(): Promise<void>;
}

/**
 * Runs a service as the process's main job: SIGTERM/SIGINT drain it and exit
 * 0; a second signal exits at once; an unhandled rejection is logged and
 * ends the process (crash-only: a supervisor restarts it, the store keeps
 * what was acknowledged).
 */
export function runUntilSignalled(service: Stoppable, logger: Logger): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting without draining");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
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
