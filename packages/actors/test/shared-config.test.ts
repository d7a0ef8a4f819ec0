import { describe, expect, it } from "vitest";
import { sharedConfig } from "../src/agent/shared-config.ts";
import { resolveConfig } from "../src/index.ts";

describe("sharedConfig", () => {
  it("gives equal configs one object, and a different config its own", () => {
    const first = resolveConfig({ systemPrompt: "a", model: "m" }, undefined);
    const equal = resolveConfig({ systemPrompt: "a", model: "m" }, undefined);
    const other = resolveConfig({ systemPrompt: "b", model: "m" }, undefined);
    expect(equal).not.toBe(first);
    expect(sharedConfig(first)).toBe(first);
    expect(sharedConfig(equal)).toBe(first);
    expect(sharedConfig(other)).toBe(other);
  });
});
