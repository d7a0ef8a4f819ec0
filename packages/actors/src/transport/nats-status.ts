import { DebugEvents, Events, type Status } from "nats";
import type { Logger } from "../logger.ts";
import { redactUrls } from "../redact.ts";

/**
 * What one event of the NATS client's status stream means for the
 * transport: losing and regaining the connection change its status (through
 * `on`); the rest is logged, with every URL's credentials masked.
 */
export function onNatsStatus(s: Status, logger: Logger, on: { disconnected(): void; reconnected(server: string): void }): void {
  switch (s.type) {
    case Events.Disconnect:
      logger.warn({ server: redactUrls(String(s.data)) }, "NATS connection lost; reconnecting");
      on.disconnected();
      return;
    case Events.Reconnect:
      on.reconnected(String(s.data));
      return;
    case Events.Update:
      logger.debug({ servers: s.data }, "NATS cluster servers changed");
      return;
    case Events.Error:
      logger.warn({ err: redactUrls(String(s.data)) }, "NATS reported an error");
      return;
    case Events.LDM:
      logger.warn({ server: String(s.data) }, "NATS server entering lame duck mode");
      return;
    case DebugEvents.StaleConnection:
      logger.warn({}, "NATS connection is stale; reconnecting");
      return;
    default:
      return;
  }
}
