import { describe, expect, it } from "vitest";
import { ValidationError } from "../src/errors.ts";
import {
  AGENT_KEY_PATTERN,
  agentId,
  isAgentKey,
  isAgentType,
  newActivationId,
  newAgentKey,
  newMessageId,
  parseAgentId,
  parseAgentKey,
  parseAgentType,
  parseToken,
  randomToken,
  splitAgentId,
} from "../src/ids.ts";

function validationError(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error("expected a ValidationError, but nothing was thrown");
}

describe("agent types: ^[a-z][a-z0-9-]{0,62}$", () => {
  it.each(["a", "assistant", "code-reviewer", "w2", "a-", "x".repeat(63), `a${"0".repeat(62)}`])("accepts %s", (type) => {
    expect(isAgentType(type)).toBe(true);
    expect(parseAgentType(type)).toBe(type);
  });

  it.each([
    ["empty", ""],
    ["uppercase", "Assistant"],
    ["starts with a digit", "1agent"],
    ["starts with a dash", "-agent"],
    ["64 chars", "x".repeat(64)],
    ["underscore", "my_agent"],
    ["dot (a NATS token separator)", "a.b"],
    ["star (a NATS wildcard)", "a*"],
    ["greater-than (a NATS wildcard)", "a>"],
    ["space", "my agent"],
    ["tab", "a\tb"],
    ["trailing newline", "agent\n"],
    ["slash", "a/b"],
    ["brace (a Redis hash tag)", "a{b}"],
    ["non-ASCII letter", "agënt"],
  ])("rejects %s", (_why, type) => {
    expect(isAgentType(type)).toBe(false);
    const err = validationError(() => parseAgentType(type));
    expect(err.details?.field).toBe("type");
    expect(err.code).toBe("validation_failed");
    expect(err.message).toMatch(/^type must match/);
  });

  it.each([undefined, null, 42, {}, ["a"]])("rejects the non-string %j", (value) => {
    expect(isAgentType(value)).toBe(false);
    expect(validationError(() => parseAgentType(value)).details?.field).toBe("type");
  });
});

describe("agent keys: ^[A-Za-z0-9_-]{1,128}$", () => {
  it.each(["k", "Key_1", "a-b_C", "0", "-", "_", "x".repeat(128)])("accepts %s", (key) => {
    expect(isAgentKey(key)).toBe(true);
    expect(parseAgentKey(key)).toBe(key);
  });

  it.each([
    ["empty", ""],
    ["129 chars", "x".repeat(129)],
    ["dot", "a.b"],
    ["star", "*"],
    ["greater-than", ">"],
    ["space", "a b"],
    ["leading space", " a"],
    ["newline", "a\nb"],
    ["trailing newline", "abc\n"],
    ["slash", "a/b"],
    ["colon (the Redis key separator)", "a:b"],
    ["braces", "{a}"],
    ["glob bracket", "a[b]"],
    ["question mark", "a?"],
    ["non-ASCII", "ключ"],
  ])("rejects %s", (_why, key) => {
    expect(isAgentKey(key)).toBe(false);
    const err = validationError(() => parseAgentKey(key));
    expect(err.details?.field).toBe("key");
    expect(err.message).toMatch(/^key must match/);
  });

  it("names the field it was given, and shortens a long value in the message", () => {
    const err = validationError(() => parseAgentKey("y".repeat(500), "body.key"));
    expect(err.details?.field).toBe("body.key");
    expect(err.message).toMatch(/^body\.key must match/);
    expect(err.message).toContain("(500 chars)");
    expect(err.message.length).toBeLessThan(200);
  });

  it("describes a non-string value by its type", () => {
    expect(validationError(() => parseAgentKey(null)).message).toMatch(/got a null/);
    expect(validationError(() => parseAgentKey(7)).message).toMatch(/got a number/);
  });
});

describe("agent ids: <type>/<key>", () => {
  it("parses a valid id and splits it back", () => {
    const id = parseAgentId("code-reviewer/PR_123-a");
    expect(id).toBe("code-reviewer/PR_123-a");
    expect(splitAgentId(id)).toEqual({ type: "code-reviewer", key: "PR_123-a" });
    expect(agentId(parseAgentType("assistant"), parseAgentKey("k1"))).toBe("assistant/k1");
  });

  it("rejects an id without a slash, naming the field", () => {
    const err = validationError(() => parseAgentId("assistant"));
    expect(err.details?.field).toBe("id");
    expect(err.message).toContain('"type/key"');
  });

  it("rejects a non-string id", () => {
    expect(validationError(() => parseAgentId(12, "parent")).details?.field).toBe("parent");
  });

  it.each([
    ["an invalid type", "Assistant/k", /type/],
    ["an empty type", "/k", /type/],
    ["an empty key", "assistant/", /key/],
    ["a second slash in the key", "assistant/a/b", /key/],
    ["a dot in the key", "assistant/a.b", /key/],
    ["a wildcard in the key", "assistant/>", /key/],
    ["a space in the type", "my agent/k", /type/],
  ])("rejects %s and says which part is wrong", (_why, id, part) => {
    const err = validationError(() => parseAgentId(id, "parent"));
    expect(err.details?.field).toMatch(/^parent/);
    expect(err.details?.field).toMatch(part);
    expect(err.message).toMatch(/^parent/);
  });
});

describe("generated ids", () => {
  it("random tokens, keys, message ids and activation ids obey the key grammar", () => {
    for (let i = 0; i < 200; i++) {
      expect(randomToken()).toMatch(/^[A-Za-z0-9]{16}$/);
      expect(isAgentKey(newAgentKey())).toBe(true);
      expect(newMessageId()).toMatch(AGENT_KEY_PATTERN);
      expect(newActivationId()).toMatch(AGENT_KEY_PATTERN);
    }
    expect(randomToken(40)).toHaveLength(40);
  });

  it("do not repeat", () => {
    const ids = new Set(Array.from({ length: 5_000 }, () => newMessageId()));
    expect(ids.size).toBe(5_000);
  });

  it("message ids sort by acceptance time across milliseconds", () => {
    const t = Date.UTC(2025, 0, 1);
    const earlier = newMessageId(t);
    const later = newMessageId(t + 1);
    expect(earlier < later).toBe(true);
  });

  it("parseToken validates host, message and activation ids with the key grammar", () => {
    expect(parseToken("host-1", "hostId")).toBe("host-1");
    const err = validationError(() => parseToken("host.1", "hostId"));
    expect(err.details?.field).toBe("hostId");
  });
});
