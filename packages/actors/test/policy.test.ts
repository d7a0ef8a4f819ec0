import { describe, expect, it } from "vitest";
import { AgentTypeRegistry, assistantAgent, defineAgent } from "../src/agent/define.ts";
import { ValidationError } from "../src/errors.ts";
import type { PolicyRule } from "../src/tools/policy.ts";
import { decideTier, policyRulesSchema, valueAt } from "../src/tools/policy.ts";

const pay: PolicyRule[] = [
  { name: "large payment", when: { path: "amount", op: "gt", value: 100 }, tier: "approval" },
  { when: { path: "amount", op: "lte", value: 100 }, tier: "auto" },
];
const fetchUrl: PolicyRule[] = [{ name: "outside allow-list", when: { path: "url", op: "hostNotIn", value: ["api.example.com", "*.docs.example.org"] }, tier: "deny" }];

describe("decideTier", () => {
  it.each([
    ["amount below the threshold", pay, { amount: 50 }, "deny", { tier: "auto", rule: { index: 1 } }],
    ["amount at the threshold", pay, { amount: 100 }, "deny", { tier: "auto", rule: { index: 1 } }],
    ["amount above the threshold", pay, { amount: 500 }, "auto", { tier: "approval", rule: { index: 0, name: "large payment" } }],
    // undecidable (not a number): the restricting rule matches, the relaxing one never does
    ["amount as a string", pay, { amount: "500" }, "auto", { tier: "approval", rule: { index: 0, name: "large payment" }, cautious: true }],
    ["amount missing", pay, {}, "auto", { tier: "approval", rule: { index: 0, name: "large payment" }, cautious: true }],
    ["no rule matches: the fallback", [pay[1]!], { amount: "x" }, "deny", { tier: "deny" }],
    ["no rules at all", [], { amount: 1 }, "approval", { tier: "approval" }],
    ["allowed host", fetchUrl, { url: "https://api.example.com/v1/x" }, "auto", { tier: "auto" }],
    ["allowed host, upper case and trailing dot", fetchUrl, { url: "https://API.Example.com./v1" }, "auto", { tier: "auto" }],
    ["allowed subdomain by wildcard", fetchUrl, { url: "http://a.b.docs.example.org" }, "auto", { tier: "auto" }],
    ["wildcard does not cover the domain itself", fetchUrl, { url: "http://docs.example.org" }, "auto", { tier: "deny", rule: { index: 0, name: "outside allow-list" } }],
    ["host outside", fetchUrl, { url: "https://evil.test/?api.example.com" }, "auto", { tier: "deny", rule: { index: 0, name: "outside allow-list" } }],
    ["look-alike suffix", fetchUrl, { url: "https://api.example.com.evil.test" }, "auto", { tier: "deny", rule: { index: 0, name: "outside allow-list" } }],
    ["userinfo trick", fetchUrl, { url: "https://api.example.com@evil.test/" }, "auto", { tier: "deny", rule: { index: 0, name: "outside allow-list" } }],
    ["not a URL counts as outside", fetchUrl, { url: "api.example.com/x" }, "auto", { tier: "deny", rule: { index: 0, name: "outside allow-list" } }],
    ["missing url counts as outside", fetchUrl, {}, "auto", { tier: "deny", rule: { index: 0, name: "outside allow-list" } }],
    ["a URL without a host counts as outside", fetchUrl, { url: "file:///etc/passwd" }, "auto", { tier: "deny", rule: { index: 0, name: "outside allow-list" } }],
  ] as const)("%s", (_what, rules, args, fallback, expected) => {
    expect(decideTier(rules as PolicyRule[], args, fallback)).toEqual(expected);
  });

  const r = (when: PolicyRule["when"], tier: PolicyRule["tier"] = "deny"): PolicyRule[] => [{ when, tier }];
  it.each([
    ["eq", r({ path: "a.b", op: "eq", value: "x" }), { a: { b: "x" } }, true],
    ["eq, different type", r({ path: "a", op: "eq", value: 1 }), { a: "1" }, false],
    ["eq on missing", r({ path: "a", op: "eq", value: null }), {}, false],
    ["ne on missing", r({ path: "a", op: "ne", value: "x" }), {}, true],
    ["in", r({ path: "c", op: "in", value: ["EUR", "USD"] }), { c: "EUR" }, true],
    ["notIn", r({ path: "c", op: "notIn", value: ["EUR", "USD"] }), { c: "GBP" }, true],
    ["notIn on missing", r({ path: "c", op: "notIn", value: ["EUR"] }), {}, true],
    ["array index", r({ path: "items.1.price", op: "gte", value: 10 }), { items: [{ price: 1 }, { price: 10 }] }, true],
    ["array index out of range (undecidable, deny matches)", r({ path: "items.5.price", op: "lt", value: 10 }), { items: [] }, true],
    ["undecidable auto rule never matches", r({ path: "items.5.price", op: "lt", value: 10 }, "auto"), { items: [] }, false],
    ["no prototype walk", r({ path: "constructor", op: "exists" }), {}, false],
    ["exists", r({ path: "a", op: "exists" }), { a: 0 }, true],
    ["exists on null", r({ path: "a", op: "exists" }), { a: null }, false],
    ["matches", r({ path: "to", op: "matches", value: "@example\\.com$" }), { to: "x@example.com" }, true],
    ["matches, no match", r({ path: "to", op: "matches", value: "@example\\.com$" }), { to: "x@example.org" }, false],
    ["matches on a number is undecidable", r({ path: "to", op: "matches", value: "1" }, "approval"), { to: 1 }, true],
    ["hostIn", r({ path: "u", op: "hostIn", value: ["[::1]"] }), { u: "http://[::1]:8080/" }, true],
    ["hostIn on garbage", r({ path: "u", op: "hostIn", value: ["a.b"] }), { u: "::::" }, false],
  ] as const)("op %s", (_what, rules, args, matches) => {
    expect(decideTier(rules as PolicyRule[], args, "auto").rule !== undefined).toBe(matches);
  });

  it("the first matching rule wins", () => {
    const rules: PolicyRule[] = [
      { when: { path: "n", op: "gt", value: 10 }, tier: "deny" },
      { when: { path: "n", op: "gt", value: 1 }, tier: "approval" },
    ];
    expect(decideTier(rules, { n: 20 }, "auto").tier).toBe("deny");
    expect(decideTier(rules, { n: 5 }, "auto").tier).toBe("approval");
  });

  it("valueAt follows own properties and indices only", () => {
    expect(valueAt({ a: [1, { b: 2 }] }, "a.1.b")).toBe(2);
    expect(typeof valueAt({ a: [1] }, "a.01")).toBe("symbol");
    expect(typeof valueAt("str", "length")).toBe("symbol");
  });
});

describe("policy rules validation", () => {
  it.each([
    ["an unknown op", [{ when: { path: "a", op: "greater", value: 1 }, tier: "deny" }], "op"],
    ["a value that does not fit the op", [{ when: { path: "a", op: "gt", value: "100" }, tier: "deny" }], "value"],
    ["hostIn with a URL instead of a host", [{ when: { path: "a", op: "hostIn", value: ["https://a.b/"] }, tier: "deny" }], "value.0"],
    ["exists with a value", [{ when: { path: "a", op: "exists", value: 1 }, tier: "deny" }], ""],
    ["a bad regex", [{ when: { path: "a", op: "matches", value: "(" }, tier: "deny" }], "value"],
    ["a regex that may backtrack", [{ when: { path: "a", op: "matches", value: "^(a+)+$" }, tier: "deny" }], "value"],
    ["a too long regex", [{ when: { path: "a", op: "matches", value: "a".repeat(201) }, tier: "deny" }], "value"],
    ["a bad tier", [{ when: { path: "a", op: "exists" }, tier: "maybe" }], ""],
    ["a bad path", [{ when: { path: "a..b", op: "exists" }, tier: "deny" }], "path"],
    ["no rules", [], ""],
  ])("rejects %s", (_what, rules, field) => {
    const parsed = policyRulesSchema.safeParse(rules);
    expect(parsed.success).toBe(false);
    if (field) expect(parsed.error!.issues[0]!.path.join(".")).toBe(`0.when.${field}`);
  });

  const types = new AgentTypeRegistry([
    assistantAgent,
    defineAgent({ type: "payer", description: "pays", defaults: { tools: ["pay"], policies: { pay, other: fetchUrl } } }),
  ]);

  it("a bad rule at spawn is a ValidationError naming config.policies.<tool>.<i>.when.op", () => {
    let err: unknown;
    try {
      types.resolve("assistant", { policies: { pay: [{ when: { path: "amount", op: "above", value: 1 }, tier: "approval" }] } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).details?.field).toBe("config.policies.pay.0.when.op");
  });

  it("a spawn's rules for a tool replace the type's rules for that tool; other tools keep theirs", () => {
    const own: PolicyRule[] = [{ when: { path: "amount", op: "gt", value: 10 }, tier: "deny" }];
    const config = types.resolve("payer", { policies: { pay: own } });
    expect(config.policies).toEqual({ pay: own, other: fetchUrl });
    expect(types.resolve("payer", undefined).policies).toEqual({ pay, other: fetchUrl });
    expect(types.resolve("assistant", undefined)).not.toHaveProperty("policies");
  });
});
