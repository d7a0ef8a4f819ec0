/**
 * The runnable examples of the README: every ```sh block right after a
 * `<!-- readme-test -->` line. In a block, a command may span lines (a
 * trailing backslash, or a quote left open); the lines after it that start
 * with `#  ` are what it prints, `…` standing for anything, and `#  (exit N)`
 * is its exit code (0 when not said). Other `#` lines are prose.
 */
export interface ReadmeStep {
  /** 1-based line of the README where the command starts. */
  line: number;
  command: string;
  expected: string[];
  exitCode: number;
}

export const README_TEST_MARK = "<!-- readme-test -->";

export function readmeSteps(readme: string): ReadmeStep[] {
  const lines = readme.split("\n");
  const steps: ReadmeStep[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== README_TEST_MARK) continue;
    if (!lines[i + 1]?.startsWith("```sh")) throw new Error(`README line ${i + 1}: ${README_TEST_MARK} must be followed by a \`\`\`sh block`);
    let pending: { line: number; text: string } | undefined;
    let step: ReadmeStep | undefined;
    for (i += 2; i < lines.length && !lines[i]!.startsWith("```"); i++) {
      const text = lines[i]!;
      if (pending) {
        pending.text += `\n${text}`;
      } else if (text.startsWith("#  ")) {
        if (!step) throw new Error(`README line ${i + 1}: expected output before any command`);
        const exit = /^#  \(exit (\d+)\)$/.exec(text);
        if (exit) step.exitCode = Number(exit[1]);
        else step.expected.push(text.slice(3));
        continue;
      } else if (text.trim() === "" || text.startsWith("#")) {
        continue;
      } else {
        pending = { line: i + 1, text };
      }
      if (complete(pending.text)) {
        step = { line: pending.line, command: pending.text, expected: [], exitCode: 0 };
        steps.push(step);
        pending = undefined;
      }
    }
    if (pending) throw new Error(`README line ${pending.line}: the command never ends (an open quote or a trailing backslash)`);
  }
  return steps;
}

/** Whether shell text is a whole command: no quote left open, no trailing line continuation. */
function complete(text: string): boolean {
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
    } else if (c === "\\") {
      if (i === text.length - 1) return false;
      i++;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
    } else if (c === "'" || c === '"') {
      quote = c;
    }
  }
  return quote === undefined;
}

/** Whether `output` shows the expected lines, in order, `…` matching anything (also across lines). */
export function showsExpected(output: string, expected: readonly string[]): boolean {
  if (expected.length === 0) return true;
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const line = (e: string) =>
    e
      .split("…")
      .map((part) => escape(part).replace(/ {2,}/g, "\\s+"))
      .join("[\\s\\S]*?");
  return new RegExp(expected.map(line).join("[\\s\\S]*?")).test(output);
}
