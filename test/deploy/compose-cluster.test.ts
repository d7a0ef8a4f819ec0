/**
 * deploy/compose.cluster.yml: Colony on a 3-node NATS cluster and a
 * 3-master Redis Cluster. Parsed and held against what the processes read
 * (config.ts, the CLI) and against itself: env URLs name services that
 * exist, every node routes to every other, the init service forms the
 * Redis Cluster once, healthchecks and dependencies are in place.
 */
import { describe, expect, it } from "vitest";
import { cliCommands, composeCommand, composeEnv, configEnvKeys, read, readYaml } from "./deploy-files.ts";

const FILE = "deploy/compose.cluster.yml";
const compose = readYaml(FILE);
const services: Record<string, any> = compose.services;
const colonyServices = Object.entries(services).filter(([, s]) => s.build !== undefined || String(s.image ?? "").startsWith("colony"));
const nodes = (prefix: string) => Object.keys(services).filter((n) => new RegExp(`^${prefix}-\\d+$`).test(n)).sort();
const natsNodes = nodes("nats");
const redisNodes = nodes("redis");
/** `--flag value` pairs of a command. */
const flag = (cmd: string[], name: string): string | undefined => {
  const i = cmd.indexOf(name);
  return i >= 0 ? cmd[i + 1] : undefined;
};
/** host:port pairs of a comma-separated URL list, whatever the scheme. */
const endpoints = (list: string): { host: string; port: number }[] =>
  list.split(",").map((u) => {
    const m = /^(?:[a-z+]+:\/\/)?([^:/,]+):(\d+)$/.exec(u.trim());
    if (!m) throw new Error(`cannot read ${u} in ${list}`);
    return { host: m[1]!, port: Number(m[2]) };
  });

describe(FILE, () => {
  it("runs three NATS nodes and three Redis masters, and the Colony services of docker-compose.yml", () => {
    expect(natsNodes).toEqual(["nats-1", "nats-2", "nats-3"]);
    expect(redisNodes).toEqual(["redis-1", "redis-2", "redis-3"]);
    expect(colonyServices.map(([n]) => n).sort()).toEqual(["directory", "gateway", "host"]);
    expect(services.directory.deploy.replicas).toBe(2);
    expect(services.host.container_name).toBeUndefined();
    expect(services.host.ports, "hosts scale with --scale: no published port").toBeUndefined();
    expect(services.gateway.ports).toEqual(["127.0.0.1:8080:8080"]);
  });

  it("runs only CLI commands and sets only env vars config.ts reads", () => {
    const schema = configEnvKeys();
    for (const [name, svc] of colonyServices) {
      expect(cliCommands(), `${name}: colony ${composeCommand(svc)[0]}`).toContain(composeCommand(svc)[0]);
      for (const k of Object.keys(composeEnv(svc))) expect(schema, `${name}: ${k} is not a config.ts setting`).toContain(k);
      expect(composeEnv(svc).COLONY_ADMIN_TOKEN, name).toMatch(/^\$\{COLONY_ADMIN_TOKEN:\?[^}]+\}$/);
    }
  });

  it("points every Colony process at every NATS node and every Redis master, by service name and port", () => {
    for (const [name, svc] of colonyServices) {
      const env = composeEnv(svc);
      expect(env.NATS_URL, name).toBe("nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222");
      expect(env.REDIS_URL, name).toBe("redis+cluster://redis-1:6379,redis-2:6379,redis-3:6379");
      for (const { host, port } of endpoints(env.NATS_URL!)) {
        expect(services[host], `${name}: NATS_URL names ${host}`).toBeDefined();
        expect(flag(composeCommand(services[host]), "--port"), `${host} listens on ${port}`).toBe(String(port));
      }
      for (const { host, port } of endpoints(env.REDIS_URL!)) {
        expect(services[host], `${name}: REDIS_URL names ${host}`).toBeDefined();
        expect(flag(composeCommand(services[host]), "--port"), `${host} listens on ${port}`).toBe(String(port));
      }
    }
  });

  it("forms one NATS cluster: same name, each node routes to the two others on their cluster port, no JetStream", () => {
    for (const n of natsNodes) {
      const cmd = composeCommand(services[n]);
      expect(flag(cmd, "--cluster_name"), n).toBe("colony");
      expect(flag(cmd, "--name"), n).toBe(n);
      const clusterPort = Number(/:(\d+)$/.exec(flag(cmd, "--cluster")!)![1]);
      const routes = endpoints(flag(cmd, "--routes")!);
      expect(routes.map((r) => r.host).sort(), `${n} routes`).toEqual(natsNodes.filter((o) => o !== n));
      for (const r of routes) expect(r.port, `${n} → ${r.host}`).toBe(clusterPort);
      expect(cmd.join(" ")).not.toMatch(/(^|\s)(-js|--jetstream)\b/);
      expect(flag(cmd, "--http_port"), `${n}: the healthcheck's monitoring port`).toBe("8222");
      expect(services[n].healthcheck.test.join(" ")).toContain("http://127.0.0.1:8222/healthz");
    }
  });

  it("runs Redis in cluster mode with AOF (everysec, never evicting) on a volume per master, announcing its service name", () => {
    for (const n of redisNodes) {
      const cmd = composeCommand(services[n]);
      expect(flag(cmd, "--cluster-enabled"), n).toBe("yes");
      expect(flag(cmd, "--cluster-announce-hostname"), n).toBe(n);
      expect(flag(cmd, "--cluster-preferred-endpoint-type"), n).toBe("hostname");
      expect(flag(cmd, "--appendonly"), n).toBe("yes");
      expect(flag(cmd, "--appendfsync"), n).toBe("everysec");
      expect(flag(cmd, "--maxmemory-policy"), n).toBe("noeviction");
      const vol = (services[n].volumes as string[]).find((v) => v.endsWith(":/data"));
      expect(compose.volumes, `${n}'s volume is declared`).toHaveProperty(vol!.split(":")[0]!);
    }
    const volumes = redisNodes.map((n) => (services[n].volumes as string[])[0]);
    expect(new Set(volumes).size, "one volume per master").toBe(redisNodes.length);
  });

  it("forms the Redis Cluster once, with a one-shot init that waits for healthy masters", () => {
    const init = services["redis-cluster-init"];
    expect(init.restart).toBe("no");
    for (const n of redisNodes) expect(init.depends_on[n].condition).toBe("service_healthy");
    const script = composeCommand(init).join("\n");
    expect(script).toMatch(/redis-cli --cluster create .*--cluster-replicas 0 --cluster-yes/);
    for (const n of redisNodes) expect(script).toContain(`ip ${n}):6379`);
    expect(script, "skips when the cluster already exists (a restart)").toMatch(/cluster_state:ok[\s\S]*exit 0/);
    // Compose would substitute a single `$` from the environment.
    expect(script).not.toMatch(/(^|[^$])\$[({a-z0-9]/);
  });

  it("has healthchecks and waits for healthy dependencies (the init: to have finished)", () => {
    for (const [name, svc] of Object.entries(services)) {
      if (name !== "redis-cluster-init") expect(svc.healthcheck?.test, `${name} has a healthcheck`).toBeDefined();
      expect(svc.container_name, `${name}: no container_name`).toBeUndefined();
      for (const [dep, cond] of Object.entries<any>(svc.depends_on ?? {})) {
        expect(services[dep], `${name} depends on ${dep}`).toBeDefined();
        expect(["service_healthy", "service_completed_successfully"]).toContain(cond.condition);
      }
    }
    for (const [name, svc] of colonyServices) {
      for (const n of natsNodes) expect(svc.depends_on[n].condition, `${name} on ${n}`).toBe("service_healthy");
      expect(svc.depends_on["redis-cluster-init"].condition, name).toBe("service_completed_successfully");
    }
    for (const name of ["host", "gateway"]) expect(services[name].depends_on.directory.condition).toBe("service_healthy");
  });

  it("builds the image from the repository root (paths are relative to deploy/)", () => {
    for (const [name, svc] of colonyServices) expect(svc.build, name).toBe("..");
    expect(read("Dockerfile")).toMatch(/^FROM /m);
  });
});
