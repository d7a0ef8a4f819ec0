import { ErrorCode } from "nats";
import { ColonyError, NoRespondersError, PayloadTooLargeError, TimeoutError, UnavailableError, ValidationError, errorMessage } from "../errors.ts";

type NatsLikeError = Error & { code?: string };

const UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  ErrorCode.ConnectionClosed,
  ErrorCode.ConnectionDraining,
  ErrorCode.ConnectionRefused,
  ErrorCode.ConnectionTimeout,
  ErrorCode.Disconnect,
  ErrorCode.Cancelled,
]);

/** Maps a nats.js error to the ColonyError a caller can act on. */
export function fromNatsError(e: unknown, subject: string, timeoutMs?: number): ColonyError {
  if (e instanceof ColonyError) return e;
  const code = (e as NatsLikeError | undefined)?.code;
  switch (code) {
    case ErrorCode.NoResponders:
      return new NoRespondersError(subject);
    case ErrorCode.Timeout:
      return new TimeoutError(`no reply on ${subject} within ${timeoutMs ?? "the"} ms`, { cause: e });
    case ErrorCode.MaxPayloadExceeded:
      return new PayloadTooLargeError(`the NATS server refused the message on ${subject}: ${errorMessage(e)}`, { subject });
    case ErrorCode.BadSubject:
      return new ValidationError(`subject "${subject}" is not valid for NATS`, { field: "subject" });
    case ErrorCode.PermissionsViolation:
    case ErrorCode.AuthorizationViolation:
    case ErrorCode.AuthenticationExpired:
      return new ColonyError("unauthorized", "terminal", `NATS refused ${subject}: ${errorMessage(e)}`, { cause: e });
  }
  if (code !== undefined && UNAVAILABLE_CODES.has(code)) return new UnavailableError(`NATS connection unavailable (${code})`, { cause: e });
  return new UnavailableError(`NATS failed on ${subject}: ${errorMessage(e)}`, { cause: e });
}
