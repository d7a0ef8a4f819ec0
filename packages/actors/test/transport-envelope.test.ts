import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import {
  AgentNotHereError,
  ColonyError,
  PayloadTooLargeError,
  StaleEpochError,
  UnavailableError,
  ValidationError,
} from "../src/errors.ts";
import { type Envelope, MAX_ENVELOPE_BYTES } from "../src/transport/envelope.ts";
import { InvalidEnvelopeError, decodeEnvelope, encodeEnvelope, newEnvelope } from "../src/transport/envelope-codec.ts";
import {
  INTERNAL_MESSAGE_CHARS,
  RemoteError,
  encodeErrorReply,
  fromErrorBody,
  readReply,
  replyEnvelope,
  toErrorBody,
} from "../src/transport/errors-wire.ts";
import { childTraceparent, isTraceparent, newTraceparent, parseTraceparent } from "../src/transport/traceparent.ts";

const packr = new Packr({ useRecords: false, moreTypes: false });
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

function sample(body: unknown = { content: "hello" }): Envelope {
  return newEnvelope({
    kind: "agent.send",
    from: "host-a",
    target: "assistant/k-1",
    deadline: 1_700_000_123_456,
    traceparent: newTraceparent(),
    body,
  });
}

/** Catches what `fn` throws (and fails the test if it does not throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

describe("envelope codec", () => {
  it("round-trips every field and a rich body", () => {
    const body = {
      content: "Ünïcödé and emoji 🐝",
      n: [1, -2.5, 2 ** 40, 0],
      nested: { ok: true, none: null, empty: "", deep: { a: [{ b: "c" }] } },
      bin: new Uint8Array([0, 1, 254, 255]),
    };
    const env = sample(body);
    const back = decodeEnvelope(encodeEnvelope(env));
    expect(back).toEqual({ ...env, body: { ...body, bin: Buffer.from([0, 1, 254, 255]) } });
    expect(back.traceparent).toBe(env.traceparent);
    expect(back.deadline).toBe(1_700_000_123_456);
  });

  it("round-trips envelopes without optional fields and with scalar or empty bodies", () => {
    for (const body of [undefined, null, 0, "text", [], {}]) {
      const env = newEnvelope({ kind: "k", from: "f", deadlineMs: 1000, body });
      const back = decodeEnvelope(encodeEnvelope(env));
      expect(back).toEqual(env);
      expect("target" in back).toBe(false);
      expect("traceparent" in back).toBe(false);
    }
  });

  it("writes plain msgpack maps any decoder reads", () => {
    const env = sample();
    expect(packr.unpack(encodeEnvelope(env))).toEqual(env);
  });

  it("rejects garbage bytes with a clear InvalidEnvelopeError", () => {
    const cases: Array<[Uint8Array, RegExp]> = [
      [new Uint8Array(0), /not valid msgpack \(0 bytes\)/],
      [Buffer.from("hello world, not msgpack"), /not valid msgpack/],
      [new Uint8Array([0x92, 0x01]), /not valid msgpack/],
      [new Uint8Array([0xc1]), /do not hold a Colony envelope/],
      [packr.pack("a string"), /do not hold a Colony envelope: field \(root\)/],
      [packr.pack({ id: "x", kind: "k", from: "f", body: 1 }), /field deadline is invalid/],
      [packr.pack({ id: "", kind: "k", from: "f", deadline: 1, body: 1 }), /field id is invalid/],
      [packr.pack({ id: "x", kind: "k", from: "f", deadline: "soon", body: 1 }), /field deadline is invalid/],
      [packr.pack({ id: "x", kind: "k", from: "f", deadline: 1, traceparent: "t".repeat(56) }), /field traceparent is invalid/],
    ];
    for (const [bytes, message] of cases) {
      const e = thrown(() => decodeEnvelope(bytes));
      expect(e).toBeInstanceOf(InvalidEnvelopeError);
      expect(e).toBeInstanceOf(ColonyError);
      expect((e as ColonyError).code).toBe("validation_failed");
      expect((e as ColonyError).message).toMatch(message);
    }
  });

  it("refuses to encode an envelope that breaks the schema or holds an unencodable body", () => {
    const bad = { ...sample(), kind: "" };
    const e1 = thrown(() => encodeEnvelope(bad));
    expect(e1).toBeInstanceOf(InvalidEnvelopeError);
    expect((e1 as ColonyError).details).toEqual({ field: "kind" });
    const e2 = thrown(() => encodeEnvelope(sample({ big: 2n ** 70n })));
    expect(e2).toBeInstanceOf(InvalidEnvelopeError);
    expect((e2 as Error).message).toMatch(/cannot be encoded/);
  });

  it("throws PayloadTooLargeError above MAX_ENVELOPE_BYTES and accepts an envelope just under it", () => {
    const overhead = encodeEnvelope(sample("")).length;
    // A msgpack str32 header is 5 bytes; the empty string took 1.
    const fits = "x".repeat(MAX_ENVELOPE_BYTES - overhead - 4);
    expect(encodeEnvelope(sample(fits)).length).toBe(MAX_ENVELOPE_BYTES);
    const e = thrown(() => encodeEnvelope(sample(`${fits}x`)));
    expect(e).toBeInstanceOf(PayloadTooLargeError);
    expect((e as ColonyError).code).toBe("payload_too_large");
    expect((e as ColonyError).details).toMatchObject({ kind: "agent.send", bytes: MAX_ENVELOPE_BYTES + 1, limit: MAX_ENVELOPE_BYTES });
  });
});

describe("newEnvelope", () => {
  it("gives every envelope a unique id and computes the deadline", () => {
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i++) ids.add(newEnvelope({ kind: "k", from: "f", deadlineMs: 5 }).id);
    expect(ids.size).toBe(10_000);
    expect(newEnvelope({ kind: "k", from: "f", deadlineMs: 250, now: 1_000 }).deadline).toBe(1_250);
    expect(newEnvelope({ kind: "k", from: "f", deadline: 42, now: 1_000 }).deadline).toBe(42);
    const before = Date.now();
    const d = newEnvelope({ kind: "k", from: "f", deadlineMs: 1_000 }).deadline;
    expect(d).toBeGreaterThanOrEqual(before + 1_000);
    expect(d).toBeLessThanOrEqual(Date.now() + 1_000);
  });

  it("keeps a retried command's id", () => {
    expect(newEnvelope({ id: "m-retry-1", kind: "k", from: "f", deadlineMs: 1 }).id).toBe("m-retry-1");
  });

  it("names the bad field", () => {
    const cases: Array<[() => unknown, string]> = [
      [() => newEnvelope({ kind: "k", from: "f" } as never), "deadline"],
      [() => newEnvelope({ kind: "k", from: "f", deadline: 1, deadlineMs: 1 } as never), "deadline"],
      [() => newEnvelope({ kind: "k", from: "f", deadlineMs: -1 }), "deadlineMs"],
      [() => newEnvelope({ kind: "k", from: "f", deadline: Number.NaN }), "deadline"],
      [() => newEnvelope({ kind: "k", from: "f", deadlineMs: 1, traceparent: "00-abc" }), "traceparent"],
      [() => newEnvelope({ kind: "", from: "f", deadlineMs: 1 }), "kind"],
      [() => newEnvelope({ kind: "k", from: "x".repeat(161), deadlineMs: 1 }), "from"],
    ];
    for (const [fn, field] of cases) {
      const e = thrown(fn);
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).details?.field).toBe(field);
    }
  });
});

describe("traceparent", () => {
  it("has the W3C version-00 format, lowercase, sampled", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const tp = newTraceparent();
      expect(tp).toMatch(TRACEPARENT);
      expect(tp.length).toBe(55);
      expect(tp.endsWith("-01")).toBe(true);
      expect(isTraceparent(tp)).toBe(true);
      seen.add(parseTraceparent(tp)!.traceId);
    }
    expect(seen.size).toBe(1_000);
  });

  it("a child keeps the trace id and flags and gets a new span id", () => {
    const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    const child = childTraceparent(parent);
    expect(child).toMatch(TRACEPARENT);
    const p = parseTraceparent(parent)!;
    const c = parseTraceparent(child)!;
    expect(c.traceId).toBe(p.traceId);
    expect(c.flags).toBe("00");
    expect(c.spanId).not.toBe(p.spanId);
    expect(parseTraceparent(childTraceparent(child))!.traceId).toBe(p.traceId);
  });

  it("rejects malformed values", () => {
    const bad = [
      "",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", // uppercase
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // unknown version
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01", // zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // zero span id
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", // short trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
    ];
    for (const v of bad) {
      expect(isTraceparent(v)).toBe(false);
      const e = thrown(() => childTraceparent(v));
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).details?.field).toBe("traceparent");
    }
    expect(isTraceparent(42)).toBe(false);
  });
});

describe("errors on the wire", () => {
  /** Through a real error envelope: encode on the responder, decode on the requester. */
  function overTheWire(e: unknown): RemoteError {
    const bytes = encodeErrorReply(sample(), "host-b", e);
    return thrown(() => readReply(bytes, "colony.host.b")) as RemoteError;
  }

  it("ColonyError subclasses keep code, action, message, details and retryAfterMs", () => {
    const cases: ColonyError[] = [
      new AgentNotHereError("assistant/k-1", "host-b"),
      new ValidationError("content must be a string", { field: "content" }),
      new UnavailableError("draining", { retryAfterMs: 1_500 }),
      new StaleEpochError("assistant/k-1", 3, 4),
    ];
    for (const original of cases) {
      const e = overTheWire(original);
      expect(e).toBeInstanceOf(RemoteError);
      expect(e).toBeInstanceOf(ColonyError);
      expect(e).toBeInstanceOf(Error);
      expect({ code: e.code, action: e.action, message: e.message, details: e.details, retryAfterMs: e.retryAfterMs }).toEqual({
        code: original.code,
        action: original.action,
        message: original.message,
        details: original.details,
        retryAfterMs: original.retryAfterMs,
      });
      expect(e.remote).toBe("host-b");
    }
    const notHere = overTheWire(new AgentNotHereError("assistant/k-1", "host-b"));
    expect(notHere.code).toBe("agent_not_here");
    expect(notHere.action).toBe("reroute");
    expect(notHere.details).toEqual({ agent: "assistant/k-1", host: "host-b" });
  });

  it("a non-Colony error becomes a short internal, terminal error", () => {
    const e = overTheWire(new TypeError(`cannot read properties of undefined ${"x".repeat(5_000)}`));
    expect(e.code).toBe("internal");
    expect(e.action).toBe("terminal");
    expect(e.message).toMatch(/^internal error: cannot read properties of undefined/);
    expect(e.message.length).toBeLessThanOrEqual(INTERNAL_MESSAGE_CHARS);
    expect(e.details).toBeUndefined();
    expect(overTheWire("a thrown string").message).toBe("internal error: a thrown string");
  });

  it("falls back to code and message when details cannot travel", () => {
    const huge = new ValidationError("too much detail", { field: "x", blob: "y".repeat(MAX_ENVELOPE_BYTES) });
    const e = overTheWire(huge);
    expect({ code: e.code, action: e.action, message: e.message, details: e.details }).toEqual({
      code: "validation_failed",
      action: "terminal",
      message: "too much detail",
      details: undefined,
    });
  });

  it("toErrorBody/fromErrorBody are inverse, and a malformed body still yields a ColonyError", () => {
    const body = toErrorBody(new UnavailableError("later", { retryAfterMs: 10 }));
    expect(body).toEqual({ code: "unavailable", action: "retryable", message: "later", retryAfterMs: 10 });
    expect(toErrorBody(fromErrorBody(body))).toEqual(body);
    const bad = fromErrorBody({ code: 1, action: "explode" }, "host-x");
    expect(bad).toBeInstanceOf(ColonyError);
    expect(bad.code).toBe("internal");
    expect(bad.remote).toBe("host-x");
  });

  it("a reply envelope carries the body and the request's context back", () => {
    const req = sample();
    const reply = replyEnvelope(req, "host-b", { ok: 1 });
    expect(reply).toMatchObject({ kind: "reply", from: "host-b", target: req.target, traceparent: req.traceparent, deadline: req.deadline });
    expect(reply.id).not.toBe(req.id);
    expect(readReply(encodeEnvelope(reply), "s")).toEqual({ ok: 1 });
    const e = thrown(() => readReply(encodeEnvelope({ ...reply, kind: "agent.send" }), "s"));
    expect((e as ColonyError).code).toBe("internal");
    expect((e as Error).message).toMatch(/has kind "agent.send"/);
  });
});
