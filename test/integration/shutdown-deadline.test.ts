/** A SIGTERM ends the process even when its shutdown hangs (issue 11, case 5): a real process. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { within } from "./activation-kit.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/hung-shutdown.ts", import.meta.url));

describe("the process's shutdown deadline", () => {
  it("exits 1 once the deadline passes when the shutdown never finishes", async () => {
    const child = spawn(process.execPath, ["--conditions=colony-source", "--import", "tsx", FIXTURE], { env: { ...process.env, DEADLINE_MS: "300" }, stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      await within(new Promise<void>((r) => child.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && r())), 20_000, "the process to start");
      const signalled = Date.now();
      child.kill("SIGTERM");
      expect(await within(exited, 10_000, "the process's exit after SIGTERM")).toBe(1);
      expect(Date.now() - signalled).toBeGreaterThanOrEqual(250);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
