/**
 * Readers for the deployment files (Dockerfile, docker-compose.yml, deploy/)
 * and for what they must agree with: the CLI's commands, config.ts's env
 * schema, the metric names, the workspace manifests.
 */
import { DEFAULTS, ENV_NAMES } from "../../packages/host/src/config.ts";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { parse, parseAllDocuments } from "yaml";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BIN = path.join(ROOT, "packages/host/bin/colony.js");
export const at = (...p: string[]): string => path.join(ROOT, ...p);
export const read = (rel: string): string => readFileSync(at(rel), "utf8");

// ---------------------------------------------------------------- YAML

/** One YAML document; `<<` merge keys resolved, as Docker Compose does. */
export function readYaml(rel: string): any {
  return parse(read(rel), { merge: true });
}

/** Every document of a multi-document YAML file (empty ones dropped); throws on a syntax error. */
export function readYamlDocs(rel: string): any[] {
  return parseAllDocuments(read(rel), { merge: true })
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`${rel}: ${d.errors.map((e) => e.message).join("; ")}`);
      return d.toJS();
    })
    .filter((d) => d !== null && d !== undefined);
}

// ---------------------------------------------------------------- the CLI and the config schema

let commands: string[] | undefined;

/** The commands `colony --help` lists (run through the same bin as the image). */
export function cliCommands(): string[] {
  if (commands) return commands;
  const help = execFileSync(process.execPath, [BIN, "--help"], { encoding: "utf8", env: { PATH: process.env.PATH ?? "" } });
  const section = help.split(/^Commands:\s*$/m)[1];
  if (!section) throw new Error(`no "Commands:" section in colony --help:\n${help}`);
  commands = [...section.matchAll(/^ {2}([a-z][a-z0-9-]*)\b/gm)].map((m) => m[1]!).filter((c) => c !== "help");
  return commands;
}

/** The env var names the processes read (config.ts's table, which also makes `--help`). */
export function configEnvKeys(): Set<string> {
  return new Set(ENV_NAMES);
}

/** The host's DEFAULTS.<name> (a number). */
export function configDefault(name: string): number {
  const value = (DEFAULTS as Record<string, unknown>)[name];
  if (typeof value !== "number") throw new Error(`no numeric default ${name} in the host's DEFAULTS`);
  return value;
}

// ---------------------------------------------------------------- Dockerfile

export interface Instruction {
  keyword: string;
  args: string;
  /** The JSON (exec) form's array, when the arguments are one. */
  json?: string[];
  line: number;
}

export interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** Instructions grouped by build stage; comments dropped, `\` continuations joined. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      i++;
      const next = lines[i]!;
      if (/^\s*#/.test(next)) continue;
      line = line.replace(/\\\s*$/, " ") + next.trim();
    }
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile line ${start + 1}: cannot parse ${JSON.stringify(line)}`);
    const keyword = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    const ins: Instruction = { keyword, args, line: start + 1 };
    // HEALTHCHECK [options] CMD [...]: the JSON form follows CMD.
    const jsonPart = keyword === "HEALTHCHECK" ? /\bCMD\s+(\[.*\])\s*$/.exec(args)?.[1] : /^\[.*\]$/.test(args) ? args : undefined;
    if (jsonPart) ins.json = JSON.parse(jsonPart) as string[];
    if (keyword === "FROM") {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: f?.[1] ?? args, ...(f?.[2] ? { name: f[2] } : {}), instructions: [] });
    }
    if (stages.length === 0) throw new Error(`Dockerfile line ${start + 1}: ${keyword} before FROM`);
    stages[stages.length - 1]!.instructions.push(ins);
  }
  return stages;
}

/** The build-context paths a COPY (without --from) copies: its arguments but the flags and the destination. */
export function copiedFromContext(i: Instruction): string[] {
  if (i.keyword !== "COPY" || /--from=/.test(i.args)) return [];
  return i.args.split(/\s+/).filter((a) => !a.startsWith("--")).slice(0, -1);
}

/** A tsconfig file and every one it extends or references, recursively, relative to the repository root. */
export function tsconfigFiles(rel: string): string[] {
  const { config, error } = ts.parseConfigFileTextToJson(rel, read(rel));
  if (error) throw new Error(`${rel}: ${ts.flattenDiagnosticMessageText(error.messageText, "\n")}`);
  const near = (p: string) => path.relative(ROOT, path.resolve(ROOT, path.dirname(rel), p));
  const next = [...(config.extends ? [near(config.extends)] : []), ...(config.references ?? []).map((r: { path: string }) => near(r.path))];
  return [rel, ...next.flatMap(tsconfigFiles)];
}

/** ENV KEY=VALUE pairs of a stage (both the `KEY=VALUE ...` and the `KEY VALUE` forms). */
export function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of stage.instructions.filter((x) => x.keyword === "ENV")) {
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(i.args)) {
      for (const m of i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, "");
    } else {
      const [k, ...v] = i.args.split(/\s+/);
      env[k!] = v.join(" ");
    }
  }
  return env;
}

// ---------------------------------------------------------------- compose

/**
 * A Compose value with `${NAME:-default}` / `${NAME-default}` resolved to the
 * default and `${NAME}` / `${NAME:?message}` (required, no default) to "".
 */
export function composeDefault(value: unknown): string {
  return String(value).replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (_all, _name, op: string | undefined, word: string | undefined) =>
    op === ":-" || op === "-" ? (word ?? "") : "",
  );
}

/** A service's `environment` as a map, whichever form (map or KEY=VALUE list) it uses. */
export function composeEnv(service: any): Record<string, string> {
  const env = service?.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((e: string) => [e.split("=")[0]!, e.includes("=") ? e.slice(e.indexOf("=") + 1) : ""]));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? "" : String(v)]));
}

/** A command in Compose may be a string or a list. */
export function composeCommand(service: any): string[] {
  const c = service?.command;
  if (c === undefined) return [];
  return Array.isArray(c) ? c.map(String) : String(c).trim().split(/\s+/);
}

// ---------------------------------------------------------------- Kubernetes

/** Every manifest a kustomization includes, recursively (resources may be files or directories with their own kustomization). */
export function kustomizeResources(dir: string): { file: string; doc: any }[] {
  const k = readYaml(path.join(dir, "kustomization.yaml"));
  const out: { file: string; doc: any }[] = [];
  for (const r of (k.resources ?? []) as string[]) {
    const rel = path.join(dir, r);
    if (!existsSync(at(rel))) throw new Error(`${dir}/kustomization.yaml lists ${r}, which does not exist`);
    if (statSync(at(rel)).isDirectory()) out.push(...kustomizeResources(rel));
    else for (const doc of readYamlDocs(rel)) out.push({ file: rel, doc });
  }
  return out;
}

export interface Workload {
  file: string;
  name: string;
  deployment: any;
  pod: any;
  container: any;
}

/** The pod spec's containers of each Deployment, with their env resolved from ConfigMaps and Secrets. */
export function containerEnvNames(container: any, configMaps: Map<string, any>, secrets: Map<string, any>): { names: string[]; values: Record<string, string> } {
  const names: string[] = [];
  const values: Record<string, string> = {};
  for (const from of (container.envFrom ?? []) as any[]) {
    if (from.configMapRef) {
      const cm = configMaps.get(from.configMapRef.name);
      if (!cm) throw new Error(`envFrom configMapRef ${from.configMapRef.name}: no such ConfigMap in the manifests`);
      for (const [k, v] of Object.entries(cm.data ?? {})) {
        names.push(k);
        values[k] = String(v);
      }
    }
    if (from.secretRef) {
      const s = secrets.get(from.secretRef.name);
      if (!s) throw new Error(`envFrom secretRef ${from.secretRef.name}: no such Secret in the manifests`);
      for (const [k, v] of Object.entries({ ...(s.data ?? {}), ...(s.stringData ?? {}) })) {
        names.push(k);
        values[k] = String(v);
      }
    }
  }
  for (const e of (container.env ?? []) as any[]) {
    names.push(e.name);
    if (e.value !== undefined) values[e.name] = String(e.value);
    const cmRef = e.valueFrom?.configMapKeyRef;
    if (cmRef) {
      const v = configMaps.get(cmRef.name)?.data?.[cmRef.key];
      if (v === undefined) throw new Error(`env ${e.name}: ConfigMap ${cmRef.name} has no key ${cmRef.key}`);
      values[e.name] = String(v);
    }
    const sRef = e.valueFrom?.secretKeyRef;
    if (sRef) {
      const s = secrets.get(sRef.name);
      const v = s?.stringData?.[sRef.key] ?? s?.data?.[sRef.key];
      if (v === undefined) throw new Error(`env ${e.name}: Secret ${sRef.name} has no key ${sRef.key}`);
      values[e.name] = String(v);
    }
  }
  return { names, values };
}

/** A probe's or Service's port (a number or a container port name) as a number. */
export function resolvePort(port: number | string, container: any): number {
  if (typeof port === "number") return port;
  if (/^\d+$/.test(port)) return Number(port);
  const p = (container.ports ?? []).find((x: any) => x.name === port);
  if (!p) throw new Error(`port name ${port} is not a port of container ${container.name}`);
  return p.containerPort;
}

// ---------------------------------------------------------------- metrics

/** Series names in PromQL text, histogram series reduced to their metric (…_bucket/_sum/_count → …). */
export function metricNames(text: string, prefixes = ["colony", "process", "nodejs"]): Set<string> {
  const re = new RegExp(`\\b(?:${prefixes.join("|")})_[a-z0-9_]*[a-z0-9]`, "g");
  return new Set([...text.matchAll(re)].map((m) => m[0].replace(/_(bucket|sum|count)$/, "")));
}

/** Every PromQL expression of the Grafana dashboard (panel targets, nested rows and templating queries). */
export function dashboardExprs(dashboard: any): string[] {
  const out: string[] = [];
  const walk = (panels: any[]) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (typeof t.expr === "string") out.push(t.expr);
      if (p.panels) walk(p.panels);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    const q = typeof v.query === "string" ? v.query : v.query?.query;
    if (v.type === "query" && typeof q === "string") out.push(q);
  }
  return out;
}

/** Every alert and recording rule of a Prometheus rule file. */
export function ruleExprs(rules: any): { name: string; expr: string }[] {
  return (rules.groups as any[]).flatMap((g) => (g.rules as any[]).map((r) => ({ name: r.alert ?? r.record, expr: String(r.expr) })));
}

/** `# HELP <name>` lines of a Prometheus text exposition. */
export function exportedMetricNames(exposition: string): Set<string> {
  return new Set([...exposition.matchAll(/^# HELP (\S+) /gm)].map((m) => m[1]!));
}

/** Grafana's own variables, replaced so that Prometheus can evaluate a dashboard query. */
export function grafanaToPromql(expr: string): string {
  return expr
    .replaceAll("$__rate_interval", "1m")
    .replaceAll("$__interval", "15s")
    .replaceAll("$__range", "5m")
    .replaceAll("${__range}", "5m");
}

// ---------------------------------------------------------------- sources and the lockfile

/** Non-relative, non-builtin packages imported at run time (type-only imports excluded) by the files under `dir`. */
export function runtimeImports(dir: string): Map<string, string[]> {
  const byPkg = new Map<string, string[]>();
  const builtins = new Set(builtinModules);
  const walk = (rel: string) => {
    for (const entry of readdirSync(at(rel), { withFileTypes: true })) {
      const child = path.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (/\.(ts|js|mjs)$/.test(entry.name)) {
        const src = read(child);
        const specs = [
          ...[...src.matchAll(/^\s*(?:import|export)\s+(?!type\s)[^;'"]*?\bfrom\s*["']([^"']+)["']/gm)].map((m) => m[1]!),
          ...[...src.matchAll(/^\s*import\s*["']([^"']+)["']/gm)].map((m) => m[1]!),
          ...[...src.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!),
        ];
        for (const spec of specs) {
          if (spec.startsWith(".") || spec.startsWith("/") || spec.startsWith("node:") || builtins.has(spec)) continue;
          const parts = spec.split("/");
          const pkg = spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
          if (builtins.has(pkg)) continue;
          byPkg.set(pkg, [...(byPkg.get(pkg) ?? []), child]);
        }
      }
    }
  };
  walk(dir);
  return byPkg;
}
