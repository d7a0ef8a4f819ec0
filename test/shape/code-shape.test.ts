/**
 * The shape the codebase keeps, checked on every run so that it cannot
 * drift: modules under ~300 lines, functions under ~60 (a longer one says
 * why in a "long because" comment above it), and no casts through `never`
 * or `unknown` in production code (testing helpers may fake what they must).
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { castsThroughNever, lineCount, longFunctions, read, sourceFiles } from "./code-shape.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
/** "Under ~300": a module may run a few lines over while it reads as one thing. */
const MAX_FILE_LINES = 320;
const MAX_FUNCTION_LINES = 60;

describe("code shape of packages/*/src", () => {
  const files = sourceFiles(ROOT);

  it("finds the sources", () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files).toContain("packages/actors/src/agent/activation.ts");
  });

  it(`keeps every module under ${MAX_FILE_LINES} lines`, () => {
    const long = files.map((f) => [f, lineCount(read(ROOT, f))] as const).filter(([, n]) => n > MAX_FILE_LINES);
    expect(long).toEqual([]);
  });

  it(`keeps every function under ${MAX_FUNCTION_LINES} lines, or says why above it`, () => {
    const long = files.flatMap((f) => longFunctions(f, read(ROOT, f), MAX_FUNCTION_LINES).filter((l) => !l.excused).map((l) => `${f}:${l.line} ${l.name} (${l.lines} lines)`));
    expect(long).toEqual([]);
  });

  it("casts nothing through never or unknown outside the testing helpers", () => {
    const casts = files.filter((f) => !f.includes("/testing/")).flatMap((f) => castsThroughNever(read(ROOT, f)).map((line) => `${f}:${line}`));
    expect(casts).toEqual([]);
  });
});

describe("the measures themselves", () => {
  const body = (n: number) => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join("\n");

  it("finds a long function, method or arrow, and honours a reason given above it", () => {
    const text = [
      `export function long() {\n${body(70)}\n}`,
      `class C {\n  method() {\n${body(65)}\n  }\n}`,
      `const arrow = () => {\n${body(61)}\n};`,
      `// Long because a table reads best in one place.\nfunction excused() {\n${body(80)}\n}`,
      `function short() {\n${body(10)}\n}`,
    ].join("\n");
    const found = longFunctions("x.ts", text, 60).map((l) => [l.name, l.excused]);
    expect(found).toEqual([
      ["long", false],
      ["method", false],
      ["arrow", false],
      ["excused", true],
    ]);
  });

  it("finds casts through never and unknown, not the words in comments", () => {
    const text = ["const a = b as never;", "const c = d as unknown as E;", "// this is never cast as never", "const f = g as string;"].join("\n");
    expect(castsThroughNever(text)).toEqual([1, 2]);
    expect(lineCount("a\nb\n")).toBe(2);
  });
});
