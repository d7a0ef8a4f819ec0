/**
 * The deployment files agree with the code: every command they run is a
 * command of the CLI, every env var they set is one config.ts reads, ports
 * and probes line up, hosts scale, secrets stay secret, and Prometheus's own
 * promtool accepts the configs and rules. (Probes, metric names and a real
 * Prometheus against live processes: live.test.ts.)
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { findBinary } from "../harness/servers.ts";
import {
  at,
  cliCommands,
  composeCommand,
  composeDefault,
  composeEnv,
  configDefault,
  copiedFromContext,
  configEnvKeys,
  containerEnvNames,
  dashboardExprs,
  kustomizeResources,
  parseDockerfile,
  read,
  readYaml,
  readYamlDocs,
  resolvePort,
  ruleExprs,
  runtimeImports,
  stageEnv,
  tsconfigFiles,
} from "./deploy-files.ts";

const HTTP_PORT = 8080;
const schema = configEnvKeys();
const dockerfile = parseDockerfile(read("Dockerfile"));
const finalStage = dockerfile[dockerfile.length - 1]!;
const compose = readYaml("docker-compose.yml");
const k8s = kustomizeResources("deploy").concat(kustomizeResources("deploy/kubernetes/monitoring"));
const ofKind = (kind: string) => k8s.filter((r) => r.doc.kind === kind).map((r) => r.doc);
const configMaps = new Map(ofKind("ConfigMap").map((d) => [d.metadata.name, d]));
const secrets = new Map(ofKind("Secret").map((d) => [d.metadata.name, d]));
const deployments = ofKind("Deployment");
const deployment = (component: string) => {
  const d = deployments.find((x) => x.spec.template.metadata.labels["app.kubernetes.io/component"] === component);
  if (!d) throw new Error(`no Deployment of component ${component} in deploy/`);
  return d;
};
const colonyContainer = (d: any) => d.spec.template.spec.containers.find((c: any) => c.name === "colony") ?? d.spec.template.spec.containers[0];
const preStopSleepSeconds = (c: any): number => {
  const pre = c.lifecycle?.preStop;
  if (!pre) return 0;
  if (pre.sleep) return Number(pre.sleep.seconds);
  const cmd: string[] = pre.exec?.command ?? [];
  const m = /\bsleep\s+(\d+(?:\.\d+)?)/.exec(cmd.join(" "));
  if (!m) throw new Error(`preStop ${JSON.stringify(cmd)}: not a sleep`);
  return Number(m[1]);
};
/** Compose services that run the Colony image (built from the Dockerfile). */
const colonyServices = Object.entries<any>(compose.services).filter(([, s]) => s.build !== undefined || String(s.image ?? "").startsWith("colony"));
const seconds = (d: string): number => {
  const m = /^(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(String(d));
  if (!m || (!m[1] && !m[2])) throw new Error(`cannot read the duration ${d}`);
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0);
};

function promtool(): string {
  const bin = findBinary("promtool");
  if (!bin) throw new Error("promtool was not found: install the Debian package `prometheus` (apt-get install prometheus). These tests do not skip without it.");
  return bin;
}

function runPromtool(args: string[]): string {
  try {
    return execFileSync(promtool(), args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(" ")} failed:\n${err.stdout ?? ""}${err.stderr ?? ""}`);
  }
}

describe("the CLI and the config schema these files are checked against", () => {
  it("are read from the code", () => {
    expect(cliCommands()).toEqual(expect.arrayContaining(["dev", "host", "directory"]));
    for (const k of ["NATS_URL", "REDIS_URL", "COLONY_HTTP_HOST", "COLONY_HTTP_PORT", "COLONY_ADMIN_TOKEN", "COLONY_DRAIN_MS", "LOG_LEVEL", "ANTHROPIC_API_KEY"]) {
      expect(schema, k).toContain(k);
    }
    expect(configDefault("httpPort")).toBe(HTTP_PORT);
  });
});

describe("Dockerfile", () => {
  it("is multi-stage on node:20-slim", () => {
    expect(dockerfile.length).toBeGreaterThanOrEqual(2);
    for (const s of dockerfile) expect(s.from, "every stage's base image").toBe("node:20-slim");
    const copiesFromStage = finalStage.instructions.some((i) => i.keyword === "COPY" && /--from=\S+/.test(i.args));
    expect(copiesFromStage, "the final stage copies from a build stage").toBe(true);
  });

  it("installs production dependencies only, and every workspace's manifest is there for npm ci", () => {
    const runs = dockerfile.flatMap((s) => s.instructions.filter((i) => i.keyword === "RUN").map((i) => i.args));
    expect(runs.some((r) => /\bnpm ci\b[^&;|]*--omit=dev\b/.test(r)), runs.join("\n")).toBe(true);
    expect(runs.some((r) => /\bnpm (i|install)\b/.test(r)), "npm install would ignore the lockfile").toBe(false);
    const deps = dockerfile.find((s) => s.instructions.some((i) => i.keyword === "RUN" && /\bnpm ci\b/.test(i.args)))!;
    const copied = deps.instructions.filter((i) => i.keyword === "COPY").flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    const workspaces: string[] = JSON.parse(read("package.json")).workspaces;
    for (const f of ["package.json", "package-lock.json", ...workspaces.map((w) => `${w}/package.json`)]) expect(copied, `${f} copied before npm ci`).toContain(f);
  });

  it("copies what exists and is not .dockerignored; compiles every workspace in a build stage and ships its dist", () => {
    const ignored = read(".dockerignore")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    const isIgnored = (p: string) =>
      ignored.some((pat) => {
        const re = new RegExp(`^${pat.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*\*\//g, "\0").replace(/\*/g, "[^/]*").replace(/\0/g, "(?:.*/)?")}(?:/.*)?$`);
        return re.test(p);
      });
    const sources = dockerfile.flatMap((s) => s.instructions).flatMap(copiedFromContext);
    for (const src of sources) {
      expect(existsSync(at(src)), `${src} exists`).toBe(true);
      expect(isIgnored(src), `${src} is excluded by .dockerignore`).toBe(false);
    }
    const build = dockerfile.find((s) => s.instructions.some((i) => i.keyword === "RUN" && /\bnpm run build\b/.test(i.args)));
    expect(build, "a stage runs npm run build").toBeDefined();
    expect(build!.name, "the build stage is named, for COPY --from").toBeDefined();
    const buildCopies = build!.instructions.flatMap(copiedFromContext);
    for (const f of tsconfigFiles("tsconfig.build.json")) expect(buildCopies, `${f} (npm run build reads it) in the build stage`).toContain(f);
    const built = tsconfigFiles("tsconfig.build.json").filter((f) => f.startsWith("packages/"));
    expect(built, "npm run build compiles every workspace").toEqual(expect.arrayContaining(JSON.parse(read("package.json")).workspaces.map((w: string) => `${w}/tsconfig.build.json`)));
    const shipped = finalStage.instructions.filter((i) => i.keyword === "COPY" && i.args.includes(`--from=${build!.name} `)).map((i) => i.args.split(/\s+/).slice(1));
    for (const w of JSON.parse(read("package.json")).workspaces as string[]) {
      expect(buildCopies, `${w}/src compiled in the build stage`).toContain(`${w}/src`);
      expect(shipped, `${w}/dist copied from the build stage`).toContainEqual([`/app/${w}/dist`, `${w}/dist`]);
    }
    const finalCopies = finalStage.instructions.flatMap(copiedFromContext);
    expect(finalCopies).toContain("packages/host/bin");
    expect(finalCopies, "the console's files (/ui)").toContain("packages/host/console");
    for (const noise of ["node_modules", ".git", "packages/host/test", "packages/host/dist"]) expect(isIgnored(noise), `${noise} excluded`).toBe(true);
  });

  it("runs the compiled dist in its runtime stage: no sources, no tsx, no TypeScript", () => {
    const finalCopies = finalStage.instructions.flatMap(copiedFromContext);
    for (const c of finalCopies) expect(c, "the runtime stage copies no sources or TypeScript config").not.toMatch(/(^|\/)src(\/|$)|tsconfig|\.ts$/);
    // What the runtime stage takes whole from another stage (node_modules) comes from a production-only install without sources.
    for (const i of finalStage.instructions.filter((x) => x.keyword === "COPY" && /--from=\S+\s+\/app\s+\/app$/.test(x.args))) {
      const from = dockerfile.find((s) => s.name === /--from=(\S+)/.exec(i.args)![1])!;
      expect(from.instructions.some((x) => x.keyword === "RUN" && /\bnpm ci\b[^&;|]*--omit=dev\b/.test(x.args)), `${from.name} installs with --omit=dev`).toBe(true);
      expect(from.instructions.flatMap(copiedFromContext).filter((c) => !c.endsWith("package.json") && c !== "package-lock.json"), `${from.name} copies manifests only`).toEqual([]);
    }
    const lock = JSON.parse(read("package-lock.json"));
    for (const dev of ["tsx", "typescript"]) expect(lock.packages[`node_modules/${dev}`]?.dev, `${dev} is a dev dependency: --omit=dev leaves it out`).toBe(true);
    const entry = finalStage.instructions.filter((i) => i.keyword === "ENTRYPOINT").at(-1)!.json!;
    expect(entry.join(" "), "plain node: no loader").not.toMatch(/--import|--loader|--experimental|tsx/);
    const env = Object.entries(stageEnv(finalStage)).map(([k, v]) => `${k}=${v}`).join(" ");
    expect(env, "no NODE_OPTIONS loader or source condition").not.toMatch(/tsx|colony-source|--import|--loader/);
    // The workspaces' exports resolve to dist under plain Node, which is how the dist of one package imports another.
    for (const w of JSON.parse(read("package.json")).workspaces as string[]) {
      for (const [sub, target] of Object.entries<any>(JSON.parse(read(`${w}/package.json`)).exports ?? {})) {
        expect(target.default, `${w} exports ${sub}`).toMatch(/^\.\/dist\/.*\.js$/);
        expect(target["colony-source"], `${w} exports ${sub} (sources)`).toBe(target.default.replace(/^\.\/dist\//, "./src/").replace(/\.js$/, ".ts"));
      }
    }
  });

  it("every package the sources import at run time survives `npm ci --omit=dev` (tsx only when the bin runs sources, which the image has none of)", () => {
    const lock = JSON.parse(read("package-lock.json"));
    const imports = new Map<string, string[]>();
    for (const w of JSON.parse(read("package.json")).workspaces as string[]) {
      for (const dir of ["src", "bin"]) {
        if (!existsSync(at(w, dir))) continue;
        for (const [pkg, files] of runtimeImports(path.join(w, dir))) imports.set(pkg, [...(imports.get(pkg) ?? []), ...files]);
      }
    }
    expect(imports.get("tsx"), "only packages/host/bin imports tsx (its fallback to the sources)").toEqual(["packages/host/bin/colony.js"]);
    imports.delete("tsx");
    const workspaceNames = new Set(Object.values<any>(lock.packages).map((p) => p.name).filter(Boolean));
    for (const [pkg, files] of imports) {
      if (workspaceNames.has(pkg) || pkg.startsWith("@colony/")) continue;
      const entry = lock.packages[`node_modules/${pkg}`];
      expect(entry, `${pkg} (imported by ${files[0]}) is in package-lock.json`).toBeDefined();
      expect(entry.dev === true, `${pkg} (imported by ${files[0]}) is a dev-only dependency: npm ci --omit=dev drops it from the image`).toBe(false);
    }
  });

  it("runs the colony bin as a non-root user, `host` by default, and probes /healthz with node", () => {
    const last = (k: string) => finalStage.instructions.filter((i) => i.keyword === k).at(-1);
    const user = last("USER");
    expect(user, "USER in the final stage").toBeDefined();
    const [uid] = user!.args.split(":");
    expect(["root", "0"]).not.toContain(uid);
    const entry = last("ENTRYPOINT")!.json!;
    expect(entry[0]).toBe("node");
    expect(path.resolve("/app", entry[1]!)).toBe("/app/packages/host/bin/colony.js");
    const workdir = last("WORKDIR")!.args;
    expect(existsSync(at(path.relative(workdir, path.resolve(workdir, entry[1]!))))).toBe(true);
    const cmd = last("CMD")!.json!;
    expect(cmd).toEqual(["host"]);
    expect(cliCommands()).toContain(cmd[0]);
    const hc = last("HEALTHCHECK")!;
    expect(hc.json?.[0], "HEALTHCHECK runs node (slim has no curl or wget)").toBe("node");
    expect(hc.json!.join(" ")).toMatch(/\/healthz\b/);
    expect(hc.json!.join(" ")).toContain("process.env.COLONY_HTTP_PORT");
  });

  it("listens on 0.0.0.0 and exposes the port it listens on", () => {
    const env = stageEnv(finalStage);
    for (const k of Object.keys(env)) expect(schema, `ENV ${k} is a config.ts setting`).toContain(k);
    expect(env.COLONY_HTTP_HOST).toBe("0.0.0.0");
    expect(Number(env.COLONY_HTTP_PORT)).toBe(HTTP_PORT);
    const exposed = finalStage.instructions.filter((i) => i.keyword === "EXPOSE").flatMap((i) => i.args.split(/\s+/).map((p) => Number(p.split("/")[0])));
    expect(exposed).toEqual([HTTP_PORT]);
    expect(env.COLONY_ADMIN_TOKEN, "never a token baked into the image").toBeUndefined();
  });
});

describe("docker-compose.yml", () => {
  it("runs only CLI commands, and sets only env vars config.ts reads", () => {
    expect(colonyServices.map(([n]) => n).sort()).toEqual(["directory", "gateway", "host"]);
    for (const [name, svc] of colonyServices) {
      const cmd = composeCommand(svc);
      expect(cmd.length, `${name} has a command`).toBeGreaterThan(0);
      expect(cliCommands(), `${name}: colony ${cmd[0]}`).toContain(cmd[0]);
      for (const k of Object.keys(composeEnv(svc))) expect(schema, `${name}: ${k} is not a config.ts setting`).toContain(k);
      expect(svc.env_file, `${name}: env comes from environment: only`).toBeUndefined();
    }
    expect(composeCommand(compose.services.directory)).toEqual(["directory"]);
    expect(composeCommand(compose.services.host)).toEqual(["host"]);
  });

  it("lets `docker compose up --scale host=N` work: no container_name, no fixed host port, no hostname", () => {
    const host = compose.services.host;
    expect(host.container_name).toBeUndefined();
    expect(host.hostname).toBeUndefined();
    for (const p of host.ports ?? []) {
      const spec = typeof p === "object" ? p : { published: String(p).split(":").length > 1 ? String(p).split(":").slice(-2, -1)[0] : undefined };
      expect(spec.published, `host port ${JSON.stringify(p)} would clash between replicas`).toBeUndefined();
    }
    expect(host.deploy?.replicas ?? 1, "scaled by --scale, not pinned").toBeLessThanOrEqual(1);
    expect(compose.services.directory.deploy?.replicas, "two directory replicas").toBe(2);
    expect(compose.services.directory.container_name).toBeUndefined();
    // The one published admin API.
    const gw = compose.services.gateway;
    expect(gw.ports.map((p: string) => Number(String(p).split(":").at(-1)))).toEqual([HTTP_PORT]);
    expect(gw.networks.default.aliases, "the gateway answers to `host` too, so Prometheus finds it").toContain("host");
  });

  it("binds 0.0.0.0 only with a required admin token, and passes the model key through", () => {
    for (const [name, svc] of colonyServices) {
      const env = composeEnv(svc);
      expect(env.COLONY_HTTP_HOST, name).toBe("0.0.0.0");
      expect(env.COLONY_ADMIN_TOKEN, `${name}: COLONY_ADMIN_TOKEN must be required from the environment, never a literal`).toMatch(/^\$\{COLONY_ADMIN_TOKEN:\?[^}]+\}$/);
      expect(env.NATS_URL, name).toBe("nats://nats:4222");
      expect(env.REDIS_URL, name).toBe("redis://redis:6379");
    }
    for (const name of ["host", "gateway"]) {
      const env = composeEnv(compose.services[name]);
      expect(env.ANTHROPIC_API_KEY, name).toMatch(/^\$\{ANTHROPIC_API_KEY(:-)?\}$/);
      expect(composeDefault(env.COLONY_DRAIN_MS), name).toMatch(/^\d+$/);
    }
  });

  it("agrees on the port everywhere: env, expose, healthcheck, gateway, Dockerfile EXPOSE, Prometheus discovery", () => {
    const dockerExpose = Number(finalStage.instructions.find((i) => i.keyword === "EXPOSE")!.args);
    for (const [name, svc] of colonyServices) {
      const port = Number(composeDefault(composeEnv(svc).COLONY_HTTP_PORT));
      expect(port, name).toBe(HTTP_PORT);
      expect(port, name).toBe(dockerExpose);
      const test: string[] = svc.healthcheck.test;
      const url = /http:\/\/127\.0\.0\.1:(\d+)(\/[a-z]+)/.exec(test.join(" "));
      expect(url, `${name} healthcheck ${test.join(" ")}`).not.toBeNull();
      expect(Number(url![1]), `${name} healthcheck port`).toBe(port);
      expect(url![2], `${name} healthcheck is liveness`).toBe("/healthz");
      for (const e of svc.expose ?? []) expect(Number(e), `${name} expose`).toBe(port);
    }
    const prom = readYaml("deploy/prometheus/prometheus.yml");
    for (const job of ["colony-host", "colony-directory"]) {
      const sd = prom.scrape_configs.find((j: any) => j.job_name === job).dns_sd_configs;
      for (const c of sd) {
        expect(c.port, job).toBe(HTTP_PORT);
        for (const n of c.names) expect(Object.keys(compose.services), `${job} discovers the compose service ${n}`).toContain(n);
      }
    }
  });

  it("gives hosts time to drain before Docker's SIGKILL", () => {
    for (const name of ["host", "gateway"]) {
      const svc = compose.services[name];
      const drainMs = Number(composeDefault(composeEnv(svc).COLONY_DRAIN_MS ?? configDefault("drainMs")));
      expect(seconds(svc.stop_grace_period), `${name} stop_grace_period vs COLONY_DRAIN_MS=${drainMs}`).toBeGreaterThan(drainMs / 1000 + 5);
    }
  });

  it("has healthchecks and waits for healthy dependencies", () => {
    for (const [name, svc] of Object.entries<any>(compose.services)) {
      expect(svc.healthcheck?.test, `${name} has a healthcheck`).toBeDefined();
      expect(svc.container_name, `${name}: no container_name`).toBeUndefined();
      for (const [dep, cond] of Object.entries<any>(svc.depends_on ?? {})) {
        expect(compose.services[dep], `${name} depends on ${dep}`).toBeDefined();
        expect(["service_healthy", "service_started", "service_completed_successfully"]).toContain(cond.condition);
      }
    }
    for (const [name, svc] of colonyServices) {
      expect(svc.depends_on.nats.condition, name).toBe("service_healthy");
      expect(svc.depends_on.redis.condition, name).toBe("service_healthy");
    }
    for (const name of ["host", "gateway"]) expect(compose.services[name].depends_on.directory.condition).toBe("service_healthy");
  });

  it("runs Redis with AOF (everysec, never evicting) on a named volume, and core NATS without JetStream", () => {
    const redis = compose.services.redis;
    const cmd = composeCommand(redis).join(" ");
    expect(cmd).toMatch(/--appendonly yes\b/);
    expect(cmd).toMatch(/--appendfsync everysec\b/);
    expect(cmd).toMatch(/--maxmemory-policy noeviction\b/);
    const vol = (redis.volumes as string[]).find((v) => v.endsWith(":/data"));
    expect(vol, "a volume on /data").toBeDefined();
    expect(compose.volumes).toHaveProperty(vol!.split(":")[0]!);
    const nats = composeCommand(compose.services.nats).join(" ");
    expect(nats).not.toMatch(/(^|\s)(-js|--jetstream)\b/);
    // The documented trade-off is next to the setting.
    expect(read("docker-compose.yml")).toMatch(/power loss[\s\S]{0,80}1 s of acknowledged writes/);
  });

  it("mounts Prometheus and Grafana files that exist, where their configs expect them", () => {
    for (const name of ["prometheus", "grafana"]) {
      for (const v of compose.services[name].volumes as string[]) {
        if (!v.startsWith("./")) continue;
        expect(existsSync(at(v.split(":")[0]!)), v).toBe(true);
      }
    }
    const provider = readYaml("deploy/grafana/provisioning/dashboards/colony.yml").providers[0];
    const mount = (compose.services.grafana.volumes as string[]).find((v) => v.startsWith("./deploy/grafana/dashboards:"))!;
    expect(mount.split(":")[1]).toBe(provider.options.path);
    const home = compose.services.grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
    expect(existsSync(at("deploy/grafana/dashboards", path.relative(provider.options.path, home)))).toBe(true);
    const ds = readYaml("deploy/grafana/provisioning/datasources/prometheus.yml").datasources[0];
    expect(ds.type).toBe("prometheus");
    expect(ds.url).toBe("http://prometheus:9090");
    expect(compose.services.prometheus.ports.map((p: string) => Number(p.split(":").at(-1)))).toContain(9090);
    const promMounts = (compose.services.prometheus.volumes as string[]).map((v) => v.split(":").slice(0, 2));
    const prom = readYaml("deploy/prometheus/prometheus.yml");
    for (const rules of prom.rule_files as string[]) {
      expect(promMounts.some(([, target]) => target === path.posix.join("/etc/prometheus", rules)), `${rules} is mounted next to prometheus.yml`).toBe(true);
    }
  });
});

describe("Kubernetes manifests (deploy/kustomization.yaml)", () => {
  it("parse, and include what a cluster needs", () => {
    for (const { file, doc } of k8s) {
      expect(doc.apiVersion, file).toBeTruthy();
      expect(doc.kind, file).toBeTruthy();
      expect(doc.metadata?.name, file).toBeTruthy();
    }
    const kinds = k8s.map((r) => `${r.doc.apiVersion} ${r.doc.kind}`);
    for (const k of [
      "v1 Namespace",
      "v1 ConfigMap",
      "v1 Secret",
      "v1 Service",
      "apps/v1 Deployment",
      "policy/v1 PodDisruptionBudget",
      "autoscaling/v2 HorizontalPodAutoscaler",
      "monitoring.coreos.com/v1 ServiceMonitor",
    ]) {
      expect(kinds, k).toContain(k);
    }
    const kz = readYaml("deploy/kustomization.yaml");
    expect(kz.namespace).toBe(ofKind("Namespace")[0].metadata.name);
    for (const g of kz.configMapGenerator ?? []) for (const f of g.files as string[]) expect(existsSync(at("deploy", f.split("=").at(-1)!)), f).toBe(true);
  });

  it("run only CLI commands and set only env vars config.ts reads", () => {
    expect(colonyContainer(deployment("host")).args).toEqual(["host"]);
    expect(colonyContainer(deployment("directory")).args).toEqual(["directory"]);
    for (const d of deployments) {
      const c = colonyContainer(d);
      const argv = [...(c.command ?? []), ...(c.args ?? [])];
      expect(c.command, `${d.metadata.name}: keep the image's ENTRYPOINT (the colony bin)`).toBeUndefined();
      expect(cliCommands(), `${d.metadata.name}: colony ${argv[0]}`).toContain(argv[0]);
      const { names } = containerEnvNames(c, configMaps, secrets);
      // Names that only feed $(NAME) expansion in another variable of the same container (POD_IP).
      const helpers = new Set((c.env ?? []).flatMap((e: any) => [...String(e.value ?? "").matchAll(/\$\(([A-Z_][A-Z0-9_]*)\)/g)].map((m) => m[1]!)));
      for (const n of names) {
        if (helpers.has(n)) continue;
        expect(schema, `${d.metadata.name}: ${n} is not a config.ts setting`).toContain(n);
      }
      for (const h of helpers) expect(names, `$(${h}) is defined in the container`).toContain(h);
      expect(d.spec.template.spec.enableServiceLinks, `${d.metadata.name}: Service env vars (COLONY_HOST_PORT=tcp://...) must not leak into the config`).toBe(false);
    }
    for (const [name, cm] of configMaps) {
      if (name !== "colony-config") continue;
      for (const k of Object.keys(cm.data)) expect(schema, `ConfigMap ${name}: ${k}`).toContain(k);
    }
  });

  it("probe real routes: readiness /readyz, liveness /healthz (never Redis or NATS)", () => {
    for (const component of ["host", "directory"]) {
      const c = colonyContainer(deployment(component));
      expect(c.readinessProbe.httpGet.path, component).toBe("/readyz");
      expect(c.livenessProbe.httpGet.path, component).toBe("/healthz");
      if (c.startupProbe) expect(c.startupProbe.httpGet.path, component).toBe("/healthz");
    }
  });

  it("agree on the port: COLONY_HTTP_PORT == containerPort == probe ports == Service targetPort == Dockerfile EXPOSE", () => {
    const dockerExpose = Number(finalStage.instructions.find((i) => i.keyword === "EXPOSE")!.args);
    for (const d of deployments) {
      const c = colonyContainer(d);
      const { values } = containerEnvNames(c, configMaps, secrets);
      const port = Number(values.COLONY_HTTP_PORT ?? configDefault("httpPort"));
      expect(port).toBe(HTTP_PORT);
      expect(port).toBe(dockerExpose);
      expect(c.ports.map((p: any) => p.containerPort)).toEqual([port]);
      for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) {
        if (c[probe]) expect(resolvePort(c[probe].httpGet.port, c), `${d.metadata.name} ${probe}`).toBe(port);
      }
      expect(values.COLONY_HTTP_HOST, `${d.metadata.name} must listen beyond loopback`).toBe("0.0.0.0");
      expect(values, `${d.metadata.name}: a 0.0.0.0 bind needs COLONY_ADMIN_TOKEN`).toHaveProperty("COLONY_ADMIN_TOKEN");
      const anno = d.spec.template.metadata.annotations ?? {};
      if (anno["prometheus.io/port"]) expect(Number(anno["prometheus.io/port"])).toBe(port);
    }
    for (const svc of ofKind("Service").filter((s) => s.spec.type !== "ExternalName")) {
      const sel = svc.spec.selector;
      const targets = deployments.filter((d) => Object.entries(sel).every(([k, v]) => d.spec.template.metadata.labels[k] === v));
      expect(targets.length, `Service ${svc.metadata.name} selects a Deployment's pods`).toBe(1);
      for (const p of svc.spec.ports) expect(resolvePort(p.targetPort ?? p.port, colonyContainer(targets[0])), `Service ${svc.metadata.name} targetPort`).toBe(HTTP_PORT);
    }
    const hostApi = ofKind("Service").find((s) => s.metadata.name === "colony-host");
    expect(hostApi.spec.type ?? "ClusterIP").toBe("ClusterIP");
  });

  it("give a stopping host more time than its drain: terminationGracePeriodSeconds > COLONY_DRAIN_MS/1000 + preStop sleep", () => {
    const d = deployment("host");
    const c = colonyContainer(d);
    const { values } = containerEnvNames(c, configMaps, secrets);
    const drainMs = Number(values.COLONY_DRAIN_MS ?? configDefault("drainMs"));
    const preStop = preStopSleepSeconds(c);
    expect(preStop, "a preStop pause").toBeGreaterThan(0);
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(drainMs / 1000 + preStop);
    // The pause must exist in the image: node:20-slim has coreutils' sleep, not a shell builtin.
    if (c.lifecycle.preStop.exec) expect(c.lifecycle.preStop.exec.command[0]).toBe("sleep");
  });

  it("run two directory replicas, autoscale hosts on CPU, and bound disruptions", () => {
    expect(deployment("directory").spec.replicas).toBe(2);
    expect(deployment("host").spec.replicas, "the HPA owns the host replica count").toBeUndefined();
    const hpa = ofKind("HorizontalPodAutoscaler")[0];
    expect(hpa.apiVersion).toBe("autoscaling/v2");
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: "Deployment", name: deployment("host").metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.metrics.some((m: any) => m.type === "Resource" && m.resource.name === "cpu")).toBe(true);
    expect(colonyContainer(deployment("host")).resources.requests.cpu, "CPU utilization needs a request").toBeTruthy();
    const pdbs = ofKind("PodDisruptionBudget");
    for (const component of ["host", "directory"]) {
      const labels = deployment(component).spec.template.metadata.labels;
      const pdb = pdbs.find((p) => Object.entries(p.spec.selector.matchLabels).every(([k, v]) => labels[k] === v));
      expect(pdb, `a PodDisruptionBudget for ${component}`).toBeDefined();
    }
  });

  it("run as the image's non-root user", () => {
    const [uid] = finalStage.instructions.filter((i) => i.keyword === "USER").at(-1)!.args.split(":");
    for (const d of deployments) {
      const sc = d.spec.template.spec.securityContext;
      expect(sc.runAsNonRoot, d.metadata.name).toBe(true);
      expect(String(sc.runAsUser), d.metadata.name).toBe(uid);
      const c = colonyContainer(d);
      expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
      if (c.securityContext.readOnlyRootFilesystem) {
        expect(c.volumeMounts.map((m: any) => m.mountPath), "a writable /tmp (os.tmpdir()) under a read-only root").toContain("/tmp");
      }
    }
  });

  it("keep secrets in a Secret with placeholders only, and NATS/Redis as external services", () => {
    const s = secrets.get("colony-secrets");
    expect(s).toBeDefined();
    expect(s.stringData.COLONY_ADMIN_TOKEN, "no usable token committed: an empty one makes pods refuse to start").toBe("");
    expect(s.stringData.ANTHROPIC_API_KEY).toBe("");
    for (const cm of configMaps.values()) {
      for (const k of Object.keys(cm.data ?? {})) expect(k, `ConfigMap ${cm.metadata.name} holds a secret`).not.toMatch(/TOKEN|API_KEY|PASSWORD/);
    }
    const external = ofKind("Service").filter((x) => x.spec.type === "ExternalName").map((x) => x.metadata.name);
    const env = containerEnvNames(colonyContainer(deployment("host")), configMaps, secrets).values;
    expect(external).toContain(new URL(env.NATS_URL!).hostname);
    expect(external).toContain(new URL(env.REDIS_URL!).hostname);
  });

  it("the ServiceMonitor scrapes both headless Services under the same job names as prometheus.yml", () => {
    const sm = ofKind("ServiceMonitor")[0];
    const services = ofKind("Service").filter(
      (svc) =>
        Object.entries(sm.spec.selector.matchLabels ?? {}).every(([k, v]) => svc.metadata.labels?.[k] === v) &&
        (sm.spec.selector.matchExpressions ?? []).every((e: any) => e.operator === "Exists" && e.key in (svc.metadata.labels ?? {})),
    );
    const jobs = services.map((svc) => svc.metadata.labels[sm.spec.jobLabel]).sort();
    expect(jobs).toEqual(["colony-directory", "colony-host"]);
    for (const svc of services) {
      expect(svc.spec.clusterIP).toBe("None");
      expect(svc.spec.publishNotReadyAddresses, `${svc.metadata.name}: draining (unready) pods are still scraped`).toBe(true);
      for (const ep of sm.spec.endpoints) {
        expect(svc.spec.ports.map((p: any) => p.name)).toContain(ep.port);
        expect(ep.path).toBe("/metrics");
      }
    }
    expect(sm.spec.namespaceSelector.matchNames).toContain(readYaml("deploy/kustomization.yaml").namespace);
  });
});

describe("Prometheus configs and alert rules", () => {
  const dir = () => mkdtempSync(path.join(os.tmpdir(), "colony-promtool-"));

  it("promtool accepts prometheus.yml (compose) and alerts.yml", () => {
    const out = runPromtool(["check", "config", at("deploy/prometheus/prometheus.yml")]);
    expect(out).toMatch(/SUCCESS/);
    expect(runPromtool(["check", "rules", at("deploy/prometheus/alerts.yml")])).toMatch(/SUCCESS: \d+ rules found/);
  });

  it("promtool accepts prometheus-kubernetes.yml (its kubernetes_sd_configs swapped for static targets: Debian's build has no Kubernetes discovery)", () => {
    const cfg = readYaml("deploy/prometheus/prometheus-kubernetes.yml");
    for (const job of cfg.scrape_configs) {
      expect(job.kubernetes_sd_configs, job.job_name).toBeDefined();
      delete job.kubernetes_sd_configs;
      job.static_configs = [{ targets: ["127.0.0.1:8080"] }];
    }
    const tmp = dir();
    try {
      writeFileSync(path.join(tmp, "prometheus.yml"), stringify(cfg));
      writeFileSync(path.join(tmp, "alerts.yml"), readFileSync(at("deploy/prometheus/alerts.yml")));
      expect(runPromtool(["check", "config", path.join(tmp, "prometheus.yml")])).toMatch(/SUCCESS/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("compose, Kubernetes and ServiceMonitor scrape under the same jobs, with the same paths and port; alerts use only those jobs", () => {
    const compose = readYaml("deploy/prometheus/prometheus.yml");
    const kube = readYaml("deploy/prometheus/prometheus-kubernetes.yml");
    const colonyJobs = (c: any) => c.scrape_configs.filter((j: any) => j.job_name.startsWith("colony-"));
    expect(colonyJobs(compose).map((j: any) => j.job_name).sort()).toEqual(["colony-directory", "colony-host"]);
    expect(colonyJobs(kube).map((j: any) => j.job_name).sort()).toEqual(["colony-directory", "colony-host"]);
    for (const j of [...colonyJobs(compose), ...colonyJobs(kube)]) expect(j.metrics_path ?? "/metrics").toBe("/metrics");
    // The Kubernetes variant keeps the pods of the right component on the `http` port.
    for (const j of colonyJobs(kube)) {
      const component = j.job_name.replace("colony-", "");
      expect(j.relabel_configs.some((r: any) => r.action === "keep" && r.regex === `colony;${component}`)).toBe(true);
      expect(j.relabel_configs.some((r: any) => r.action === "keep" && r.source_labels.includes("__meta_kubernetes_pod_container_port_name") && r.regex === "http")).toBe(true);
    }
    expect(compose.rule_files).toEqual(["alerts.yml"]);
    expect(kube.rule_files).toEqual(["alerts.yml"]);
    for (const r of ruleExprs(readYaml("deploy/prometheus/alerts.yml"))) {
      for (const m of r.expr.matchAll(/job\s*=~?\s*"([^"]+)"/g)) expect(["colony-host", "colony-directory"], r.name).toContain(m[1]);
    }
  });

  it("has the alerts the issue asks for", () => {
    const rules = readYaml("deploy/prometheus/alerts.yml");
    const all = ruleExprs(rules).map((r) => r.expr).join("\n");
    expect(all).toMatch(/up\{job="colony-host"\} == 0/); // host down
    expect(all).toMatch(/colony_agent_activations_total\{reason="failover"\}/);
    expect(all).toMatch(/colony_circuit_breaker_trips_total/);
    expect(all).toMatch(/colony_llm_requests_total\{status!="ok"\}/);
    expect(all).toMatch(/colony_snapshot_write_duration_seconds_bucket/);
    for (const g of rules.groups) for (const r of g.rules) expect(r.labels?.severity, r.alert).toMatch(/^(critical|warning|info)$/);
  });
});

describe("Grafana dashboard", () => {
  const dashboard = JSON.parse(read("deploy/grafana/dashboards/colony.json"));
  const exprs = dashboardExprs(dashboard);

  it("is a dashboard with unique panel ids and a query in every non-row panel", () => {
    expect(dashboard.uid).toBeTruthy();
    const panels = dashboard.panels as any[];
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels.filter((x) => x.type !== "row")) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      expect(p.datasource?.uid, `${p.title} uses the datasource variable`).toBe("${datasource}");
    }
    expect(dashboard.templating.list.find((v: any) => v.name === "datasource")?.query).toBe("prometheus");
  });

  it("shows what the issue asks for", () => {
    const all = exprs.join("\n");
    expect(all).toMatch(/colony_hosts/);
    expect(all).toMatch(/sum by \(type\) \(colony_agents_active\)/);
    expect(all).toMatch(/rate\(colony_messages_total\[/);
    expect(all).toMatch(/histogram_quantile\(0\.\d+, sum by \(le\) \(rate\(colony_turn_duration_seconds_bucket\[/);
    expect(all).toMatch(/colony_llm_tokens_total/);
    expect(all).toMatch(/colony_llm_cost_usd_total/);
    expect(all).toMatch(/sum by \(outcome\) \(rate\(colony_tool_calls_total\[/);
    expect(all).toMatch(/colony_circuit_breaker_trips_total/);
    expect(all).toMatch(/colony_escalations_total/);
    expect(all).toMatch(/colony_agent_activations_total\{reason="failover"\}/);
  });
});
