import { pino } from "pino";
import type { Logger, LogFields } from "@colony/actors";

/** JSON lines on stdout, one object per event; secrets never reach a line. */
export function createLogger(level: string, bindings: LogFields = {}): Logger {
  const base = pino({
    level,
    base: bindings,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: ["apiKey", "token", "authorization", "*.apiKey", "*.token", "*.authorization", "headers.authorization", 'headers["x-api-key"]'],
      censor: "[redacted]",
    },
  });
  return wrap(base);
}

function wrap(p: pino.Logger): Logger {
  return {
    debug: (f, m) => p.debug(f, m),
    info: (f, m) => p.info(f, m),
    warn: (f, m) => p.warn(f, m),
    error: (f, m) => p.error(f, m),
    child: (b) => wrap(p.child(b)),
    isDebugEnabled: () => p.isLevelEnabled("debug"),
  };
}
