import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ColonyProcess } from "../../../test/harness/colony-process.ts";
import { startColony } from "../../../test/harness/colony-process.ts";
import { colony } from "../../../test/harness/cli.ts";
import type { HttpService } from "../../../test/harness/http-service.ts";
import { json, startHttpService } from "../../../test/harness/http-service.ts";

/**
 * `colony tools …` and the README's example end to end: a real `colony dev`
 * process holding a secret in its environment (COLONY_SECRET_WEATHER_KEY)
 * and a file (COLONY_SECRETS_DIR), a local HTTP service, the CLI as child
 * processes.
 */

const SECRET = "ck-5e0c99a1f2b7";
const FILE_SECRET = "fk-81d2a9e07c44";
let dev: ColonyProcess;
let service: HttpService;
let env: Record<string, string>;
let dir: string;
const cli = (...args: string[]) => colony(args, env);

beforeAll(async () => {
  service = await startHttpService(json(200, { temp: 14, sky: "clear" }));
  dir = mkdtempSync(join(tmpdir(), "colony-tools-"));
  writeFileSync(join(dir, "TRACE_TOKEN"), `${FILE_SECRET}\n`);
  dev = await startColony(["dev"], { COLONY_SECRET_WEATHER_KEY: SECRET, COLONY_SECRETS_DIR: dir });
  env = { COLONY_URL: dev.url };
});
afterAll(async () => {
  await dev?.[Symbol.asyncDispose]();
  await service?.close();
});

describe("colony tools", { timeout: 120_000 }, () => {
  it("declares a tool from a file, lists, shows it, an agent uses it, and deletes it", async () => {
    const file = join(dir, "weather.json");
    writeFileSync(
      file,
      JSON.stringify({
        description: "Current weather for a city.",
        inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        http: { method: "GET", url: `${service.url}/weather/{city}`, headers: { authorization: "Bearer {{secret:WEATHER_KEY}}", "x-trace-token": "{{secret:TRACE_TOKEN}}" } },
      }),
    );
    const put = await cli("tools", "put", "weather", "--file", file);
    expect(put.code, put.stderr).toBe(0);
    expect(put.stdout.trim()).toBe(`declared tool weather: GET ${service.url}/weather/{city} (auto)`);

    const ls = await cli("tools", "ls");
    expect(ls.stdout).toMatch(/^NAME\s+METHOD\s+URL\s+PERMISSION$/m);
    expect(ls.stdout).toMatch(/^weather\s+GET\s+\S+\/weather\/\{city\}\s+auto$/m);
    const got = await cli("tools", "get", "weather");
    expect(JSON.parse(got.stdout)).toMatchObject({ name: "weather", http: { headers: { authorization: "Bearer {{secret:WEATHER_KEY}}" } } });

    expect((await cli("agents", "spawn", "assistant/forecaster", "--tools", "weather")).code).toBe(0);
    const sent = await cli("agents", "send", "assistant/forecaster", 'tool weather {"city":"Oslo"}');
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toContain('{"temp":14,"sky":"clear"}');
    const req = service.requests.at(-1)!;
    expect(req.url).toBe("/weather/Oslo");
    expect(req.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(req.headers["x-trace-token"]).toBe(FILE_SECRET);
    expect(req.headers["idempotency-key"]).toMatch(/^assistant\/forecaster:\S+:toolu_s1_weather$/);

    const bad = await cli("tools", "put", "remember", "--file", file);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/built into every host/);
    const missing = await cli("tools", "put", "x", "--file", join(dir, "nope.json"));
    expect(missing.code).toBe(2);

    const del = await cli("tools", "delete", "weather");
    expect(del.code, del.stderr).toBe(0);
    expect((await cli("tools", "get", "weather")).code).toBe(1);

    const logs = JSON.stringify(dev.logs) + dev.stderr();
    expect(logs).toContain("HTTP tool declared");
    expect(logs.includes(SECRET) || logs.includes(FILE_SECRET)).toBe(false);
  });
});
