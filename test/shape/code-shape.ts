/**
 * What the code-shape test measures, as plain functions over the sources:
 * module lengths, function lengths (with the TypeScript parser) and casts
 * through `never` / `unknown`.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

/** Every .ts source of packages/<pkg>/src, relative to the repository. */
export function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith(".ts")) out.push(path.relative(root, p));
    }
  };
  for (const pkg of readdirSync(path.join(root, "packages"))) {
    const dir = path.join(root, "packages", pkg, "src");
    if (statSync(dir, { throwIfNoEntry: false })?.isDirectory()) walk(dir);
  }
  return out.sort();
}

export const lineCount = (text: string): number => text.split("\n").length - (text.endsWith("\n") ? 1 : 0);

export interface LongFunction {
  name: string;
  line: number;
  lines: number;
  /** The comment just above it says why it is long ("long because …"). */
  excused: boolean;
}

/** Functions (declarations, methods, arrows, expressions) longer than `max` lines. */
export function longFunctions(file: string, text: string, max: number): LongFunction[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: LongFunction[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      if (end - start + 1 > max) {
        const comments = text.slice(node.getFullStart(), node.getStart(sf));
        out.push({ name: nameOf(node, sf), line: start + 1, lines: end - start + 1, excused: /long because/i.test(comments) });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function nameOf(node: ts.Node, sf: ts.SourceFile): string {
  const named = node as { name?: ts.Node };
  if (named.name) return named.name.getText(sf);
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))) return parent.name.getText(sf);
  return "(anonymous)";
}

/** `as never` and `as unknown as` casts, by line. */
export function castsThroughNever(text: string): number[] {
  const lines: number[] = [];
  text.split("\n").forEach((l, i) => {
    if (/\bas never\b|\bas unknown as\b/.test(l.replace(/\/\/.*$/, "").replace(/\/\*.*?\*\//g, ""))) lines.push(i + 1);
  });
  return lines;
}

export const read = (root: string, file: string) => readFileSync(path.join(root, file), "utf8");
