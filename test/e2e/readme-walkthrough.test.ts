import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readmeSteps, showsExpected } from "../harness/readme-steps.ts";
import { waitFor } from "../harness/wait.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const README = readFileSync(`${ROOT}/README.md`, "utf8");
const DOCUMENTED = /(?:localhost|127\.0\.0\.1):8080/g;

/** Runs one README command with bash, as a reader pastes it, against the host at `address`. */
function run(command: string, address: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-c", command.replace(DOCUMENTED, address)], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", COLONY_URL: `http://${address}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (output += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (output += c));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, output }));
  });
}

describe("the README's examples parse", () => {
  const steps = readmeSteps(README);

  it("finds the curl walkthrough, the CLI section and the delegation example, with what each command prints", () => {
    expect(steps.length).toBeGreaterThan(25);
    const commands = steps.map((s) => s.command);
    expect(commands.some((c) => c.startsWith("curl -s -XPOST localhost:8080/v1/agents -H") && c.includes('"key":"alice"'))).toBe(true); // spans two lines
    expect(commands.some((c) => c.startsWith("npx colony agents spawn assistant/bob"))).toBe(true);
    expect(commands.some((c) => c.includes('"key":"lead"') && c.includes('"workers"'))).toBe(true); // a quote open across lines
    expect(steps.filter((s) => s.expected.length > 0).length).toBeGreaterThan(20);
  });

  it("cites nothing a reader of the repository cannot open", () => {
    expect(README).not.toContain("DESIGN.md"); // the design contract lives outside the repository
  });

  it("tells a wrong answer from a right one", () => {
    const expected = ['{"messageId":"m…","status":"completed","reply":"colour is green.",…}'];
    expect(showsExpected('{"messageId":"mx1","status":"completed","reply":"colour is green.","usage":{}}', expected)).toBe(true);
    expect(showsExpected('{"messageId":"mx1","status":"completed","reply":"colour is blue.","usage":{}}', expected)).toBe(false);
    expect(showsExpected("ID    STATUS\nassistant/bob   idle", ["ID  STATUS", "assistant/bob  idle"])).toBe(true);
    expect(showsExpected("assistant/bob   idle\nID    STATUS", ["ID  STATUS", "assistant/bob  idle"])).toBe(false); // order counts
  });
});

/**
 * What a newcomer does: `npm start`, then paste every command of the README's
 * walkthrough, CLI section and delegation example, in order. Each must exit
 * as shown and print what the README says it prints.
 */
describe("the README's walkthrough against npm start", { timeout: 600_000 }, () => {
  it("answers every command as the README shows", async () => {
    const child = spawn("npm", ["start"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", COLONY_HTTP_PORT: "0", LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group: the cleanup reaches the host under npm
    });
    const killGroup = () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // gone already
      }
    };
    process.once("exit", killGroup);
    let port: number | undefined;
    let buffered = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      for (let nl; (nl = buffered.indexOf("\n")) >= 0; buffered = buffered.slice(nl + 1)) {
        const line = buffered.slice(0, nl).trim();
        if (!line.startsWith("{")) continue;
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === "listening") port = entry.port;
      }
    });
    try {
      const address = `127.0.0.1:${await waitFor(() => port, { timeoutMs: 90_000, message: "npm start to listen" })}`;
      const failures: string[] = [];
      for (const step of readmeSteps(README)) {
        const { code, output } = await run(step.command, address);
        const expected = step.expected.map((e) => e.replace(DOCUMENTED, address));
        if (code !== step.exitCode || !showsExpected(output, expected)) {
          failures.push(`README line ${step.line}: ${step.command}\n  exit ${code} (README: ${step.exitCode})\n  printed:\n${output.replace(/^/gm, "    ")}\n  README shows:\n${expected.map((e) => `    ${e}`).join("\n")}`);
        }
      }
      expect(failures.join("\n\n")).toBe("");
    } finally {
      killGroup();
      process.off("exit", killGroup);
    }
  });
});
