import { describe, expect, it } from "vitest";
import { fmix32, hashString, rendezvousPick, rendezvousWeight } from "../../src/placement/rendezvous.ts";

describe("rendezvous hashing", () => {
  it("hashes strings to stable unsigned 32-bit values", () => {
    for (const s of ["", "a", "assistant/abc", "ü-ñ-字"]) {
      const h = hashString(s);
      expect(Number.isInteger(h)).toBe(true);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThan(2 ** 32);
      expect(hashString(s)).toBe(h);
    }
    expect(hashString("host-1")).not.toBe(hashString("host-2"));
    expect(hashString("")).toBe(fmix32(0x811c9dc5));
  });

  it("is pinned: directory replicas of different versions must agree on every consistent-hash placement", () => {
    expect(hashString("assistant/abc")).toBe(2964623650);
    expect(hashString("host-1")).toBe(2525503222);
    expect(rendezvousWeight(2964623650, 2525503222)).toBe(836003358);
  });

  it("flips about half the output bits for a one-bit input change (avalanche)", () => {
    let flipped = 0;
    let total = 0;
    for (let x = 1; x < 2_000; x++) {
      for (let bit = 0; bit < 32; bit += 5) {
        const d = (fmix32(x) ^ fmix32(x ^ (1 << bit))) >>> 0;
        flipped += d.toString(2).split("1").length - 1;
        total += 32;
      }
    }
    expect(flipped / total).toBeGreaterThan(0.45);
    expect(flipped / total).toBeLessThan(0.55);
  });

  it("picks the highest weight, with -1 for no candidates", () => {
    const ids = ["a", "b", "c"];
    const hashes = ids.map(hashString);
    expect(rendezvousPick("x/1", [], [])).toBe(-1);
    const i = rendezvousPick("x/1", ids, hashes);
    const a = hashString("x/1");
    const weights = hashes.map((h) => rendezvousWeight(a, h));
    expect(weights[i]).toBe(Math.max(...weights));
  });

  it("breaks an exact tie toward the smaller id", () => {
    // Two candidates with the same hash have the same weight.
    expect(rendezvousPick("x/1", ["b", "a"], [7, 7])).toBe(1);
    expect(rendezvousPick("x/1", ["a", "b"], [7, 7])).toBe(0);
  });
});
