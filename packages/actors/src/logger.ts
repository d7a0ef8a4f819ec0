/** Fields bound to every line a logger writes (agent id, host id, ...). */
export type LogFields = Record<string, unknown>;

/**
 * The logging seam libraries write to; the host decides where lines go
 * (pino, JSON on stdout). Bind context once with `child`.
 */
export interface Logger {
  debug(fields: LogFields, msg: string): void;
  info(fields: LogFields, msg: string): void;
  warn(fields: LogFields, msg: string): void;
  error(fields: LogFields, msg: string): void;
  child(bindings: LogFields): Logger;
  /** Whether debug lines are written now; absent: assume they are. Lets a hot path skip building fields nobody reads. */
  isDebugEnabled?(): boolean;
}

export const silentLogger: Logger = {
  isDebugEnabled: () => false,
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
