import { describe, expect, it } from "vitest";
import { ValidationError } from "@colony/actors";
import { FailureDetector } from "../../src/membership/failure-detector.ts";
import {
  DEFAULT_DEAD_RETENTION_MS,
  DEFAULT_FAILURE_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_MS,
  parseMembershipOptions,
} from "../../src/membership/options.ts";

function rejection(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error("expected a ValidationError");
}

describe("membership options", () => {
  it("defaults to a 250 ms heartbeat, a probe after 500 ms of silence and a 2 s failure timeout (guarantee 8's budgets)", () => {
    expect(DEFAULT_HEARTBEAT_MS).toBe(250);
    expect(DEFAULT_FAILURE_TIMEOUT_MS).toBe(2_000);
    const o = parseMembershipOptions();
    expect(o).toEqual({ heartbeatMs: 250, suspectAfterMs: 500, failureTimeoutMs: 2_000, deadRetentionMs: DEFAULT_DEAD_RETENTION_MS });
    // A crash: probed once silent past suspectAfterMs (plus one sweep), "no responders" at once: well inside 2 s.
    expect(o.suspectAfterMs + o.heartbeatMs).toBeLessThanOrEqual(1_000);
    // A loop blocked 1.5 s: its last beat up to one heartbeat older, so silent ≤ 1.75 s, short of the timeout.
    expect(1_500 + o.heartbeatMs).toBeLessThan(o.failureTimeoutMs);
    // A freeze: dead 2 s after the last beat, leaving ~1 s of the 3 s budget for the failover.
    expect(o.failureTimeoutMs).toBeLessThanOrEqual(2_000);
  });

  it("takes overrides, and undefined means the default", () => {
    expect(parseMembershipOptions({ heartbeatMs: 100, failureTimeoutMs: 200, deadRetentionMs: 0 })).toEqual({
      heartbeatMs: 100,
      suspectAfterMs: 200,
      failureTimeoutMs: 200,
      deadRetentionMs: 0,
    });
    expect(parseMembershipOptions({ heartbeatMs: 100, suspectAfterMs: 150, failureTimeoutMs: 900 })).toMatchObject({ suspectAfterMs: 150 });
    expect(rejection(() => parseMembershipOptions({ heartbeatMs: 100, suspectAfterMs: 950, failureTimeoutMs: 900 })).details?.field).toBe("suspectAfterMs");
    expect(parseMembershipOptions({ heartbeatMs: undefined, failureTimeoutMs: 600 })).toMatchObject({ heartbeatMs: 250, failureTimeoutMs: 600 });
  });

  it("rejects a failure timeout under two heartbeats, naming the option, its value and the bound", () => {
    const e = rejection(() => parseMembershipOptions({ heartbeatMs: 250, failureTimeoutMs: 400 }));
    expect(e.message).toContain("failureTimeoutMs");
    expect(e.message).toContain("400");
    expect(e.message).toContain("500");
    expect(e.details).toMatchObject({ field: "failureTimeoutMs", value: 400 });
    expect(e.code).toBe("validation_failed");
    // The default timeout against a slower heartbeat fails the same way.
    expect(rejection(() => parseMembershipOptions({ heartbeatMs: 1_200 })).details?.field).toBe("failureTimeoutMs");
  });

  it.each([
    ["heartbeatMs", 0],
    ["heartbeatMs", -5],
    ["heartbeatMs", 2.5],
    ["heartbeatMs", Number.NaN],
    ["heartbeatMs", "250"],
    ["failureTimeoutMs", Number.POSITIVE_INFINITY],
    ["failureTimeoutMs", null],
    ["deadRetentionMs", -1],
  ] as const)("rejects %s = %s, naming both", (field, value) => {
    const e = rejection(() => parseMembershipOptions({ [field]: value } as never));
    expect(e.message).toContain(field);
    expect(e.message).toContain(typeof value === "string" ? `"${value}"` : String(value));
    expect(e.details?.field).toBe(field);
  });

  it("rejects an unknown option (a typo) by name", () => {
    const e = rejection(() => parseMembershipOptions({ failureTimeout: 1000 } as never));
    expect(e.message).toContain("failureTimeout");
    expect(e.message).toContain("failureTimeoutMs");
    expect(e.details?.field).toBe("failureTimeout");
  });
});

describe("FailureDetector", () => {
  const d = new FailureDetector({ failureTimeoutMs: 1_000 });

  it("declares a host dead once it has been silent for the whole timeout, not a millisecond sooner", () => {
    expect(d.isDead(10_000, 10_000)).toBe(false);
    expect(d.isDead(10_000, 10_999)).toBe(false);
    expect(d.isDead(10_000, 11_000)).toBe(true);
    expect(d.isDead(10_000, 50_000)).toBe(true);
    expect(d.deadline(10_000)).toBe(11_000);
  });

  it("counts a clock that went backwards as no silence", () => {
    expect(d.silence(10_000, 9_000)).toBe(0);
    expect(d.isDead(10_000, 9_000)).toBe(false);
    expect(d.silence(10_000, 10_400)).toBe(400);
  });
});
