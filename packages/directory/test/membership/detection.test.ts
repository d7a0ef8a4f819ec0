import { describe, expect, it } from "vitest";
import { ManualClock } from "@colony/actors/testing";
import type { Heartbeat } from "../../src/membership/host-info.ts";
import { heartbeatSchema } from "../../src/membership/host-info.ts";
import type { MembershipTableOptions } from "../../src/membership/membership-table.ts";
import { MembershipTable } from "../../src/membership/membership-table.ts";

const START = 1_700_000_000_000;

function hb(id: string, over: Partial<Heartbeat> = {}): Heartbeat {
  return heartbeatSchema.parse({ id, address: `http://${id}:8080`, agents: 0, load: 0, draining: false, incarnation: `${id}-inc1`, startedAt: START - 5_000, ...over });
}

function setup(options: Omit<MembershipTableOptions, "clock"> = {}) {
  const clock = new ManualClock(START);
  return { clock, table: new MembershipTable({ clock, ...options }) };
}

describe("failure detection: local hosts and a frozen directory", () => {
  it("never declares a host of the directory's own process dead, however long it is silent", () => {
    const { clock, table } = setup();
    table.markLocal("me");
    table.observe(hb("me"));
    table.observe(hb("other"));
    clock.advance(60_000);
    expect(table.expire().map((m) => m.id)).toEqual(["other"]);
    expect(table.isAlive("me")).toBe(true);
    expect(table.nextExpiryAt()).toBeNull();
    // It still leaves like any host.
    expect(table.leave("me")).toBe(true);
    expect(table.isAlive("me")).toBe(false);
  });

  it("forgive() restarts every live host's silence from now", () => {
    const { clock, table } = setup();
    table.observe(hb("a"));
    clock.advance(5_000);
    table.forgive();
    expect(table.expire()).toEqual([]);
    expect(table.nextExpiryAt()).toBe(START + 5_000 + table.options.failureTimeoutMs);
  });
});
