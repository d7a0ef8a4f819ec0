import { describe, expect, it } from "vitest";
import { parseRedisUrl } from "../src/store/redis-url.ts";

describe("parseRedisUrl", () => {
  it("hands a one-server URL to ioredis as is", () => {
    expect(parseRedisUrl("rediss://:pw@cache:6380/2")).toEqual({ kind: "single", url: "rediss://:pw@cache:6380/2" });
  });

  it("reads a Cluster's seed nodes, credentials (percent-decoded) and TLS", () => {
    expect(parseRedisUrl("rediss+cluster://colony:p%40ss@r1:6380,[::1]:6381/")).toEqual({
      kind: "cluster",
      nodes: [
        { host: "r1", port: 6380 },
        { host: "::1", port: 6381 },
      ],
      username: "colony",
      password: "p@ss",
      tls: true,
    });
    expect(parseRedisUrl("redis+cluster://a:1,b:2")).toEqual({ kind: "cluster", nodes: [{ host: "a", port: 1 }, { host: "b", port: 2 }], tls: false });
  });

  it("reads a Sentinel set: the sentinels, the master's name, its db and password", () => {
    expect(parseRedisUrl("redis+sentinel://:pw@s1:26379,s2:26380/3?name=mymaster&sentinelPassword=sp")).toEqual({
      kind: "sentinel",
      sentinels: [
        { host: "s1", port: 26379 },
        { host: "s2", port: 26380 },
      ],
      name: "mymaster",
      db: 3,
      password: "pw",
      sentinelPassword: "sp",
      tls: false,
    });
  });

  it.each(["redis+sentinel://s1:26379", "redis+cluster://a", "redis+cluster://a:6379/1", "http://a:6379", "redis+sentinel://s1:26379/x?name=m"])("refuses %s", (url) => {
    expect(() => parseRedisUrl(url)).toThrow();
  });
});
