import { describe, expect, it } from "vitest";
import { eventually } from "../src/testing/index.ts";

describe("eventually", () => {
  it("returns the check's value, falsy ones included, as soon as it stops throwing", async () => {
    let calls = 0;
    await expect(eventually(() => (++calls < 3 ? Promise.reject(new Error("not yet")) : 0))).resolves.toBe(0);
    expect(calls).toBe(3);
  });

  it("fails with the check's own last error once the deadline passes", async () => {
    let n = 0;
    await expect(eventually(() => expect(++n).toBe(-1), 100)).rejects.toThrow(/expected \d+ to be -1/);
    expect(n).toBeGreaterThan(1);
  });
});
