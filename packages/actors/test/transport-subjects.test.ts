import { describe, expect, it } from "vitest";
import { ValidationError } from "../src/errors.ts";
import { subjects } from "../src/transport/subjects.ts";
import { checkQueue, subjectMatches, subjectTokens } from "../src/transport/subject-match.ts";

const matches = (pattern: string, subject: string) =>
  subjectMatches(subjectTokens(pattern, { wildcards: true }), subjectTokens(subject, { wildcards: false }));

describe("subject matching (NATS semantics)", () => {
  it("matches exact subjects token by token", () => {
    expect(matches("colony.host.h1", "colony.host.h1")).toBe(true);
    expect(matches("colony.host.h1", "colony.host.h2")).toBe(false);
    expect(matches("colony.host", "colony.host.h1")).toBe(false);
    expect(matches("colony.host.h1", "colony.host")).toBe(false);
    expect(matches("colony.hos", "colony.host")).toBe(false);
  });

  it("`*` matches exactly one token, anywhere", () => {
    expect(matches("colony.hb.*", "colony.hb.h1")).toBe(true);
    expect(matches("colony.hb.*", "colony.hb")).toBe(false);
    expect(matches("colony.hb.*", "colony.hb.h1.x")).toBe(false);
    expect(matches("*.hb.*", "colony.hb.h1")).toBe(true);
    expect(matches("*", "a")).toBe(true);
    expect(matches("*", "a.b")).toBe(false);
    expect(matches(subjects.heartbeats, subjects.heartbeat("host-1"))).toBe(true);
  });

  it("`>` matches one or more trailing tokens", () => {
    expect(matches("colony.>", "colony.host.h1")).toBe(true);
    expect(matches("colony.>", "colony.dir")).toBe(true);
    expect(matches("colony.>", "colony")).toBe(false);
    expect(matches(">", "a")).toBe(true);
    expect(matches(">", "a.b.c")).toBe(true);
    expect(matches("*.>", "a")).toBe(false);
    expect(matches("*.>", "a.b")).toBe(true);
  });

  it("refuses subjects NATS would misroute or reject, naming the field", () => {
    for (const bad of ["", "a..b", ".a", "a.", "a b", "a\tb", "a.b*", "a.>b", "x".repeat(513)]) {
      const e = (() => {
        try {
          subjectTokens(bad, { wildcards: true });
        } catch (err) {
          return err;
        }
      })();
      expect(e, JSON.stringify(bad)).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).details?.field).toBe("subject");
    }
    expect(() => subjectTokens("a.>.b", { wildcards: true })).toThrow(/last token/);
    expect(() => subjectTokens("a.*", { wildcards: false })).toThrow(/only subscriptions/);
    expect(() => subjectTokens("a.>", { wildcards: false })).toThrow(/only subscriptions/);
    expect(subjectTokens("colony.host.h-1_x", { wildcards: false })).toEqual(["colony", "host", "h-1_x"]);
  });

  it("validates queue names", () => {
    expect(checkQueue("colony-directory")).toBe("colony-directory");
    expect(() => checkQueue("")).toThrow(ValidationError);
    expect(() => checkQueue("a b")).toThrow(ValidationError);
  });
});
