import { describe, expect, it } from "vitest";
import { redactUrls } from "@colony/actors";
import { ConfigError, loadConfig } from "../src/config.ts";

const fails = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("loadConfig accepted the environment");
};

describe("loadConfig: URLs and secrets", () => {
  it.each([
    "redis://127.0.0.1:6379",
    "rediss://:pw@cache.example:6380/2",
    "redis+cluster://10.0.0.1:6379,10.0.0.2:6379,10.0.0.3:6379",
    "rediss+cluster://colony:pw@r1.example:6380,[::1]:6381",
    "redis+sentinel://s1:26379,s2:26379/?name=mymaster",
    "redis+sentinel://:pw@s1:26379/2?name=mymaster&sentinelPassword=sp",
  ])("accepts REDIS_URL=%s", (url) => {
    expect(loadConfig({ REDIS_URL: url }).redisUrl).toBe(url);
  });

  it.each(["http://127.0.0.1:6379", "127.0.0.1:6379", "nonsense", "nats://127.0.0.1:4222"])("refuses REDIS_URL=%s naming the variable", (url) => {
    expect(fails({ REDIS_URL: url })).toContain(`REDIS_URL=${JSON.stringify(url)}: must be a redis:// or rediss:// URL`);
  });

  it.each([
    ["redis+sentinel://s1:26379,s2:26379", "needs ?name="],
    ["redis+cluster://a:6379,b", '"b" is not host:port'],
    ["redis+cluster://a:6379/3", "no database number"],
    ["redis+cluster://a:99999", '"a:99999" is not host:port'],
  ])("refuses REDIS_URL=%s saying why", (url, why) => {
    expect(fails({ REDIS_URL: url })).toContain(why);
  });

  it.each(["nats://127.0.0.1:4222", "tls://nats.example:4222", "nats://a:4222,nats://b:4222", "nats://a:4222, tls://b:4222"])("accepts NATS_URL=%s", (url) => {
    expect(loadConfig({ NATS_URL: url }).natsUrl).toBe(url);
  });

  it.each(["nonsense", "http://127.0.0.1:4222", "127.0.0.1:4222", "nats://a:4222,redis://b:6379"])("refuses NATS_URL=%s naming the variable", (url) => {
    expect(fails({ NATS_URL: url })).toContain(`NATS_URL=${JSON.stringify(url)}: must be nats:// or tls:// URLs`);
  });

  it("never shows a URL's password in an error", () => {
    const message = fails({ REDIS_URL: "http://:hunter2@127.0.0.1:6379" });
    expect(message).not.toContain("hunter2");
    expect(message).toContain('REDIS_URL="http://:***@127.0.0.1:6379"');
  });

  it("names a secret's length, never its value", () => {
    const message = fails({ COLONY_ADMIN_TOKEN: "shortsecret" });
    expect(message).toBe("invalid environment: COLONY_ADMIN_TOKEN=(11 characters, not shown): must be at least 16 characters");
  });

  it("COLONY_CONNECT_TIMEOUT_MS defaults to 10 s and is bounded", () => {
    expect(loadConfig({}).connectTimeoutMs).toBe(10_000);
    expect(loadConfig({ COLONY_CONNECT_TIMEOUT_MS: "1500" }).connectTimeoutMs).toBe(1500);
    expect(fails({ COLONY_CONNECT_TIMEOUT_MS: "0" })).toContain("COLONY_CONNECT_TIMEOUT_MS");
  });
});

describe("redactUrls", () => {
  it.each([
    ["redis://:pw@h:6379", "redis://:***@h:6379"],
    ["redis://user:pw@h:6379/0", "redis://user:***@h:6379/0"],
    ["nats://token@h:4222", "nats://***@h:4222"],
    ["nats://u:p@a:4222,nats://u:q@b:4222", "nats://u:***@a:4222,nats://u:***@b:4222"],
    ["cannot connect to nats://u:p@a:4222: refused", "cannot connect to nats://u:***@a:4222: refused"],
    ["redis://127.0.0.1:6379", "redis://127.0.0.1:6379"],
  ])("%s -> %s", (given, shown) => {
    expect(redactUrls(given)).toBe(shown);
  });
});

describe("loadConfig: failure detection and placement share the directory's rules", () => {
  it("refuses a failure timeout under two heartbeats, naming both variables", () => {
    expect(fails({ COLONY_HEARTBEAT_MS: "1000", COLONY_FAILURE_TIMEOUT_MS: "1500" })).toBe(
      "invalid environment: COLONY_FAILURE_TIMEOUT_MS=1500 must be at least 2 × COLONY_HEARTBEAT_MS (2000 ms), or one late heartbeat kills a healthy host",
    );
    // The default failure timeout against a slow heartbeat breaks the same rule.
    expect(fails({ COLONY_HEARTBEAT_MS: "1200" })).toContain("COLONY_FAILURE_TIMEOUT_MS=2000");
  });

  it("refuses a suspicion later than the failure timeout", () => {
    expect(fails({ COLONY_SUSPECT_AFTER_MS: "2500" })).toBe("invalid environment: COLONY_SUSPECT_AFTER_MS=2500 must be at most COLONY_FAILURE_TIMEOUT_MS (2000 ms)");
  });

  it("takes its defaults and strategy names from the directory", async () => {
    const directory = await import("@colony/directory");
    const config = loadConfig({});
    expect(config.heartbeatMs).toBe(directory.DEFAULT_HEARTBEAT_MS);
    expect(config.failureTimeoutMs).toBe(directory.DEFAULT_FAILURE_TIMEOUT_MS);
    expect(config.placement).toBe(directory.DEFAULT_STRATEGY);
    for (const name of Object.keys(directory.strategies)) expect(loadConfig({ COLONY_PLACEMENT: name }).placement).toBe(name);
    expect(fails({ COLONY_PLACEMENT: "nearest" })).toContain("COLONY_PLACEMENT");
  });
});
