/**
 * The deployment files against live processes: a process cluster (one
 * directory, two hosts, real redis-server and nats-server, as
 * test/harness/cluster.ts runs them) and a real Prometheus (Debian package
 * `prometheus`) loaded with deploy/prometheus/prometheus.yml and alerts.yml,
 * rewritten only in its targets and intervals.
 *
 * - every probe and scrape path the files name answers 200 on the process
 *   that would serve it;
 * - every metric the dashboard and the alert rules query is exported;
 * - Prometheus scrapes both hosts and the directory, a colony_ metric is
 *   queryable, every dashboard and alert expression evaluates, the rules load
 *   healthy, and killing a host makes ColonyHostDown pending and
 *   ColonyFailovers fire;
 * - liveness (/healthz) stays 200 with NATS and Redis gone.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { ProcessCluster } from "../harness/cluster.ts";
import { startProcessCluster } from "../harness/cluster.ts";
import { http } from "../harness/colony-process.ts";
import { waitFor } from "../harness/wait.ts";
import {
  composeEnv,
  dashboardExprs,
  exportedMetricNames,
  grafanaToPromql,
  kustomizeResources,
  metricNames,
  parseDockerfile,
  read,
  readYaml,
  ruleExprs,
} from "./deploy-files.ts";
import type { PrometheusServer } from "./prometheus-process.ts";
import { prometheusBinary, startPrometheus } from "./prometheus-process.ts";

const dashboard = JSON.parse(read("deploy/grafana/dashboards/colony.json"));
const alerts = readYaml("deploy/prometheus/alerts.yml");
const exprs = [...dashboardExprs(dashboard).map((e) => ({ from: "dashboard", expr: grafanaToPromql(e) })), ...ruleExprs(alerts).map((r) => ({ from: `alert ${r.name}`, expr: r.expr }))];

/** The paths each kind of process is probed or scraped on, by every file that names one. */
function probePaths(): { host: Map<string, string[]>; directory: Map<string, string[]> } {
  const host = new Map<string, string[]>();
  const directory = new Map<string, string[]>();
  const add = (m: Map<string, string[]>, p: string, why: string) => m.set(p, [...(m.get(p) ?? []), why]);
  // Dockerfile HEALTHCHECK: the image runs both commands.
  const stages = parseDockerfile(read("Dockerfile"));
  const hc = stages.at(-1)!.instructions.find((i) => i.keyword === "HEALTHCHECK")!;
  const hcPath = /\/[a-z]+(?=')/.exec(hc.json!.join(" "))![0];
  add(host, hcPath, "Dockerfile HEALTHCHECK");
  add(directory, hcPath, "Dockerfile HEALTHCHECK");
  // docker-compose.yml healthchecks.
  const compose = readYaml("docker-compose.yml");
  for (const [name, svc] of Object.entries<any>(compose.services)) {
    if (!["host", "gateway", "directory"].includes(name)) continue;
    const p = /http:\/\/127\.0\.0\.1:\d+(\/[a-z]+)/.exec((svc.healthcheck.test as string[]).join(" "))![1]!;
    add(name === "directory" ? directory : host, p, `compose ${name} healthcheck`);
    expect(composeEnv(svc).COLONY_HTTP_PORT).toBe("8080");
  }
  // Kubernetes probes.
  for (const { doc } of kustomizeResources("deploy")) {
    if (doc.kind !== "Deployment") continue;
    const component = doc.spec.template.metadata.labels["app.kubernetes.io/component"];
    for (const c of doc.spec.template.spec.containers) {
      for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) {
        if (c[probe]) add(component === "directory" ? directory : host, c[probe].httpGet.path, `k8s ${doc.metadata.name} ${probe}`);
      }
    }
  }
  // Scrape paths: both Prometheus configs and the ServiceMonitor.
  for (const file of ["deploy/prometheus/prometheus.yml", "deploy/prometheus/prometheus-kubernetes.yml"]) {
    for (const job of readYaml(file).scrape_configs) {
      if (job.job_name === "colony-host") add(host, job.metrics_path ?? "/metrics", `${file} ${job.job_name}`);
      if (job.job_name === "colony-directory") add(directory, job.metrics_path ?? "/metrics", `${file} ${job.job_name}`);
    }
  }
  for (const { doc } of kustomizeResources("deploy/kubernetes/monitoring")) {
    for (const ep of doc.spec?.endpoints ?? []) {
      add(host, ep.path, "ServiceMonitor");
      add(directory, ep.path, "ServiceMonitor");
    }
  }
  return { host, directory };
}

/** deploy/prometheus/prometheus.yml with its discovery swapped for these targets and 1 s intervals; nothing else changed. */
function testConfig(targets: Record<string, string[]>): string {
  const original = readYaml("deploy/prometheus/prometheus.yml");
  const cfg = structuredClone(original);
  cfg.global = { ...cfg.global, scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" };
  cfg.scrape_configs = cfg.scrape_configs
    .filter((job: any) => job.job_name in targets)
    .map((job: any) => {
      const { dns_sd_configs: _dns, static_configs: _static, ...rest } = job;
      return { ...rest, ...(rest.scrape_interval ? { scrape_interval: "1s" } : {}), static_configs: [{ targets: targets[job.job_name] }] };
    });
  // What the test keeps from the real config: job names, paths, schemes, rule files.
  for (const job of cfg.scrape_configs) {
    const was = original.scrape_configs.find((j: any) => j.job_name === job.job_name);
    expect(job.metrics_path).toBe(was.metrics_path);
    expect(job.scheme).toBe(was.scheme);
  }
  expect(cfg.scrape_configs.map((j: any) => j.job_name).sort()).toEqual(Object.keys(targets).sort());
  expect(cfg.rule_files).toEqual(original.rule_files);
  return stringify(cfg);
}

const hostport = (url: string) => new URL(url).host;

describe("deployment files against a live cluster and a real Prometheus", () => {
  let cluster: ProcessCluster;
  let prom: PrometheusServer | undefined;
  let hostIds: string[];
  let directoryUrl: string;

  beforeAll(async () => {
    prometheusBinary(); // fail at once, naming the Debian package, if it is missing
    // Own servers: the last test kills NATS and Redis.
    cluster = await startProcessCluster({ hosts: 2, ownServers: true });
    hostIds = cluster.liveHostIds().sort();
    directoryUrl = cluster.directories[0]!.url;
  });

  afterAll(async () => {
    await prom?.stop();
    await cluster?.[Symbol.asyncDispose]();
  });

  it("every probe and scrape path in Dockerfile, compose and Kubernetes answers 200 on the process it targets", async () => {
    const { host, directory } = probePaths();
    expect([...host.keys()].sort()).toEqual(["/healthz", "/metrics", "/readyz"]);
    expect([...directory.keys()].sort()).toEqual(["/healthz", "/metrics", "/readyz"]);
    for (const [p, why] of host) {
      for (const id of hostIds) {
        const res = await fetch(cluster.url(id) + p);
        expect(res.status, `GET ${p} on host ${id} (${why.join(", ")})`).toBe(200);
        await res.arrayBuffer();
      }
    }
    for (const [p, why] of directory) {
      const res = await fetch(directoryUrl + p);
      expect(res.status, `GET ${p} on the directory (${why.join(", ")})`).toBe(200);
      await res.arrayBuffer();
    }
  });

  it("every metric the dashboard and the alert rules query is exported by a host or the directory", async () => {
    const hostText = await (await fetch(cluster.url(hostIds[0]) + "/metrics")).text();
    const dirText = await (await fetch(directoryUrl + "/metrics")).text();
    const fromHost = exportedMetricNames(hostText);
    const fromDirectory = exportedMetricNames(dirText);
    const wanted = new Set(exprs.flatMap((e) => [...metricNames(e.expr)]));
    expect(wanted.size).toBeGreaterThan(15);
    const missing = [...wanted].filter((n) => !fromHost.has(n) && !fromDirectory.has(n));
    expect(missing, `queried but exported by no process; hosts export: ${[...fromHost].filter((n) => n.startsWith("colony_")).join(", ")}`).toEqual([]);
    expect(fromDirectory.has("colony_hosts"), "colony_hosts comes from the directory").toBe(true);
    // Everything else colony_ is a host metric (the dashboard sums it over hosts).
    for (const n of wanted) if (n.startsWith("colony_") && n !== "colony_hosts") expect(fromHost.has(n), `${n} on a host`).toBe(true);
  });

  it("a real Prometheus with deploy/'s scrape config and rules scrapes both hosts and the directory, and evaluates every query", async () => {
    prom = await startPrometheus({
      "prometheus.yml": testConfig({
        "colony-host": hostIds.map((id) => hostport(cluster.url(id))),
        "colony-directory": [hostport(directoryUrl)],
      }),
      "alerts.yml": read("deploy/prometheus/alerts.yml"),
    });
    const p = prom;

    // Both hosts and the directory are up.
    await waitFor(
      async () => {
        const t = (await p.api("/api/v1/targets?state=active")).data.activeTargets as any[];
        const up = (job: string) => t.filter((x) => x.labels.job === job && x.health === "up").map((x) => x.labels.instance).sort();
        return up("colony-host").join(",") === hostIds.map((id) => hostport(cluster.url(id))).sort().join(",") && up("colony-directory").length === 1;
      },
      // Prometheus hands discovered targets to its scrapers every 5 s: the first scrape takes that long.
      { timeoutMs: 30_000, intervalMs: 200, message: "prometheus to scrape both hosts and the directory (targets up)" },
    );

    // Some traffic, then its metric through Prometheus's query API.
    const spawned = await http(cluster.url(hostIds[0]), "POST", "/v1/agents", { type: "assistant", key: "deploy-check" });
    expect(spawned.status, JSON.stringify(spawned.body)).toBe(201);
    const sent = await http(cluster.url(hostIds[1]), "POST", "/v1/agents/assistant/deploy-check/messages", { content: "hello" });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    const instant = async (q: string) => {
      const r = await p.api(`/api/v1/query?query=${encodeURIComponent(q)}`);
      expect(r.status).toBe("success");
      return r.data.result as { metric: Record<string, string>; value: [number, string] }[];
    };
    await waitFor(async () => Number((await instant('sum(colony_messages_total{job="colony-host"})'))[0]?.value[1] ?? 0) > 0, {
      timeoutMs: 15_000,
      intervalMs: 200,
      message: "colony_messages_total to be queryable in prometheus",
    });
    await waitFor(async () => (await instant("max(colony_hosts)"))[0]?.value[1] === "2", {
      timeoutMs: 15_000,
      intervalMs: 200,
      message: "colony_hosts (from the directory) to read 2 in prometheus",
    });

    // Every dashboard panel query and alert expression is valid PromQL that this Prometheus evaluates.
    for (const { from, expr } of exprs) {
      await expect(instant(expr), `${from}: ${expr}`).resolves.toBeDefined();
    }

    // The rule file loaded and every rule evaluates without error.
    await waitFor(
      async () => {
        const groups = (await p.api("/api/v1/rules")).data.groups as any[];
        const rules = groups.flatMap((g) => g.rules);
        return rules.length === ruleExprs(alerts).length && rules.every((r) => r.health === "ok");
      },
      { timeoutMs: 15_000, intervalMs: 200, message: "every alert rule to load and evaluate healthy" },
    );
    // A healthy cluster raises no critical alert, not even a pending one.
    await waitFor(async () => ((await p.api("/api/v1/alerts")).data.alerts as any[]).filter((a) => a.labels.severity === "critical").length === 0, {
      timeoutMs: 10_000,
      intervalMs: 200,
      message: "no critical alert (pending or firing) on a healthy cluster",
    });
  }, 90_000);

  it("killing a host makes ColonyHostDown pending for it and ColonyFailovers fire", async () => {
    const p = prom!;
    const agent = await http(cluster.url(hostIds[0]), "GET", "/v1/agents/assistant/deploy-check");
    const victim: string = agent.body.host;
    expect(hostIds).toContain(victim);
    const victimInstance = hostport(cluster.url(victim));
    await cluster.kill(victim);
    const survivor = hostIds.find((id) => id !== victim)!;
    // Once the directory has declared the victim dead, its sweep has moved the agent (a failover activation
    // on the survivor). A request racing the sweep can start the agent first, counted as a restore: the
    // alert is about the sweep's failovers, so wait for it.
    await waitFor(
      async () => ((await http(cluster.url(survivor), "GET", "/v1/hosts")).body.hosts as any[]).some((h) => h.id === victim && h.status === "dead"),
      { timeoutMs: 15_000, intervalMs: 100, message: `${victim} to be declared dead` },
    );
    // The agent answers on the survivor.
    const back = await http(cluster.url(survivor), "POST", "/v1/agents/assistant/deploy-check/messages", { content: "still there?" });
    expect([200, 202], JSON.stringify(back.body)).toContain(back.status);
    await waitFor(
      async () => {
        const a = (await p.api("/api/v1/alerts")).data.alerts as any[];
        const down = a.find((x) => x.labels.alertname === "ColonyHostDown" && x.labels.instance === victimInstance);
        const failovers = a.find((x) => x.labels.alertname === "ColonyFailovers");
        return down?.state === "pending" && failovers?.state === "firing";
      },
      { timeoutMs: 30_000, intervalMs: 200, message: `ColonyHostDown pending for ${victimInstance} and ColonyFailovers firing` },
    );
  }, 60_000);

  it("liveness (/healthz) does not depend on NATS or Redis; the directory's readiness does", async () => {
    const survivor = cluster.liveHostIds()[0]!;
    await cluster.nats.kill();
    await cluster.redis.kill();
    await waitFor(async () => (await fetch(directoryUrl + "/readyz")).status === 503, {
      timeoutMs: 10_000,
      message: "the directory's /readyz to answer 503 without NATS",
    });
    for (const url of [cluster.url(survivor), directoryUrl]) {
      const res = await fetch(url + "/healthz");
      expect(res.status, `${url}/healthz with NATS and Redis down`).toBe(200);
      await res.arrayBuffer();
    }
  });
});

