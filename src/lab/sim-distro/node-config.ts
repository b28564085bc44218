import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { OperatorError } from "../../errors.js";
import type { DistroName } from "../../manifest/defaults.js";
import { DISTRO_PATHS } from "../../plan/distro-paths.js";
import type { Role } from "../../plan/types.js";

export type SimDistro = DistroName;
export type SimRole = Role;

/** SIMULATION: the subset of the real distro's config.yaml / flags / environment this simulation honours. */
export interface SimNodeConfig {
  distro: SimDistro;
  role: SimRole;
  token?: string;
  /** The `server:` URL exactly as written; absent on the server that initialises the cluster. */
  server?: string;
  nodeName?: string;
  nodeIp?: string;
  nodeLabels: string[];
  nodeTaints: string[];
  tlsSan: string[];
  dataDir: string;
  writeKubeconfig: string;
  bindAddress: string;
  apiPort: number;
  supervisorPort: number;
}

export const DEFAULT_PORTS: Record<SimDistro, { api: number; supervisor: number }> = {
  rke2: { api: 6443, supervisor: 9345 },
  k3s: { api: 6443, supervisor: 6443 },
};

/** Flags as given on the command line (after the role), e.g. --token X --server URL --config FILE. */
export type SimFlags = Record<string, string | string[] | undefined>;

export function dataDirDefault(distro: SimDistro): string {
  return `/var/lib/rancher/${distro}`;
}

/** config.yaml, then config.yaml.d/*.yaml in name order, then environment, then flags (as the real distros do). */
export async function loadSimNodeConfig(
  distro: SimDistro,
  role: SimRole,
  flags: SimFlags,
  env: Readonly<Record<string, string | undefined>>,
): Promise<SimNodeConfig> {
  const configFile = single(flags.config) ?? DISTRO_PATHS[distro].config;
  const file: Record<string, unknown> = { ...(await readYamlObject(configFile)) };
  const dropIns = `${configFile}.d`;
  const names = (await readdir(dropIns).catch(() => [] as string[])).filter((name) => /\.ya?ml$/.test(name)).sort();
  for (const name of names) Object.assign(file, await readYamlObject(join(dropIns, name)));
  const prefix = distro === "rke2" ? "RKE2" : "K3S";
  const pick = (key: string, envName?: string): string | undefined =>
    single(flags[key]) ??
    (envName ? env[`${prefix}_${envName}`] : undefined) ??
    stringValue(file[key], configFile, key);
  const list = (key: string): string[] => [...listValue(file[key], configFile, key), ...listFlag(flags[key])];
  const ports = DEFAULT_PORTS[distro];
  const dataDir = pick("data-dir") ?? dataDirDefault(distro);
  const token = pick("token", "TOKEN") ?? (await readTokenFile(pick("token-file")));
  const server = pick("server", "URL");
  return {
    distro,
    role,
    ...(token ? { token } : {}),
    ...(server ? { server } : {}),
    ...optional("nodeName", pick("node-name")),
    ...optional("nodeIp", pick("node-ip")),
    nodeLabels: list("node-label"),
    nodeTaints: list("node-taint"),
    tlsSan: list("tls-san"),
    dataDir,
    writeKubeconfig: pick("write-kubeconfig") ?? DISTRO_PATHS[distro].kubeconfig,
    bindAddress: pick("bind-address") ?? "0.0.0.0",
    apiPort: Number(pick("https-listen-port") ?? ports.api),
    supervisorPort: Number(
      pick("supervisor-port") ??
        (distro === "k3s" ? (pick("https-listen-port") ?? ports.supervisor) : ports.supervisor),
    ),
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

async function readYamlObject(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return {};
  }
  const parsed: unknown = parseYaml(text);
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new OperatorError(`${path}: not a YAML mapping of options`, {
      hint: "write it as key: value lines, e.g. token: …",
    });
  }
  return parsed as Record<string, unknown>;
}

async function readTokenFile(path: string | undefined): Promise<string | undefined> {
  if (!path) return undefined;
  return (await readFile(path, "utf8")).trim();
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[value.length - 1] : value;
}

function listFlag(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).flatMap((item) => item.split(","));
}

function stringValue(value: unknown, file: string, key: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return String(value);
  throw new OperatorError(`${file}: ${key} must be a single value`, { hint: `write ${key}: VALUE` });
}

function listValue(value: unknown, file: string, key: string): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === "string") return value.split(",");
  throw new OperatorError(`${file}: ${key} must be a list`, { hint: `write ${key}: [a, b]` });
}

/** Parses the role's arguments: --key value, --key=value; repeated keys collect into lists. */
export function parseSimFlags(args: string[]): SimFlags {
  const flags: SimFlags = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--"))
      throw new OperatorError(`unexpected argument ${arg}`, { hint: "options are --name value" });
    const eq = arg.indexOf("=");
    const key = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (args[i + 1] !== undefined && !args[i + 1]!.startsWith("--")) value = args[++i]!;
    else value = "true";
    const existing = flags[key];
    flags[key] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return flags;
}
