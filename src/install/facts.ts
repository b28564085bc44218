import { sha256Command } from "../hosts/shell.js";
import type { DistroName } from "../manifest/defaults.js";
import { AIRSTRAP_PATHS } from "../plan/distro-paths.js";

/** What a host is, read from the host itself at the start of every run (k0sctl style: no state file). */
export interface HostFacts {
  os: string;
  /** Normalised to the distro's naming: amd64, arm64, or what uname said. */
  arch: string;
  hostname: string;
  machineId: string;
  /** Remote clock minus local clock, in seconds (positive: the host is ahead). */
  clockSkewSeconds: number;
  /** Bytes free where the distro keeps its data. */
  diskFreeBytes: number;
  /** Installed distro binary version, e.g. v1.31.4+rke2r1. */
  installedVersion?: string;
  /** systemd state of the distro's service for the host's role. */
  distroActive: boolean;
  /**
   * Active and joined, by the same check install waits on (readyCheckCommand, run with sudo like
   * it): an agent whose service runs but never reached a server is not ready, so a re-run works on it.
   */
  distroReady?: boolean;
  /** TCP sockets something listens on ("*" for every address). */
  listening: Array<{ address: string; port: number }>;
  /** Whether airstrap's per-node service is active. */
  nodeServiceActive: boolean;
  /**
   * Whether it is active or still starting: a machine booted by Ignition starts it on its own, and
   * the ports it already holds are then ours, though systemd does not call it active yet.
   */
  nodeServiceRunning: boolean;
  /** Whether airstrap's registry replica service is active. */
  registryServiceActive: boolean;
  /** Whether the host can fetch over HTTP (curl); without it, files go over SSH. */
  hasCurl: boolean;
  /** SHA-256 of the airstrap executable installed on the host, if there is one. */
  executableSha256?: string;
}

const DISTRO_SERVICE: Record<DistroName, Record<"server" | "agent", string>> = {
  rke2: { server: "rke2-server", agent: "rke2-agent" },
  k3s: { server: "k3s", agent: "k3s-agent" },
};

export function distroService(distro: DistroName, role: "server" | "agent"): string {
  return DISTRO_SERVICE[distro][role];
}

/** One POSIX shell script that prints `key=value` lines; it changes nothing on the host. */
export function factsScript(distro: DistroName, role: "server" | "agent"): string {
  const binary = distro === "rke2" ? "/usr/local/bin/rke2" : "/usr/local/bin/k3s";
  const dataDir = distro === "rke2" ? "/var/lib/rancher" : "/var/lib/rancher";
  return [
    "set +e",
    "if [ -r /etc/os-release ]; then . /etc/os-release; fi",
    'echo "os=${ID:-unknown} ${VERSION_ID:-}"',
    'echo "arch=$(uname -m)"',
    'echo "hostname=$(hostname)"',
    'echo "machineId=$(cat /etc/machine-id 2>/dev/null)"',
    'echo "time=$(date +%s.%N)"',
    `d=${dataDir}; while [ ! -d "$d" ]; do d=$(dirname "$d"); done`,
    'echo "diskFree=$(df -P -B1 "$d" 2>/dev/null | awk \'NR==2 {print $4}\')"',
    `if [ -x ${binary} ]; then echo "version=$(${binary} --version 2>/dev/null | head -n1)"; fi`,
    `if [ -f ${AIRSTRAP_PATHS.binary} ]; then echo "executable=$(${sha256Command(AIRSTRAP_PATHS.binary)})"; fi`,
    `echo "distroActive=$(systemctl is-active ${distroService(distro, role)} 2>/dev/null)"`,
    'echo "nodeServiceActive=$(systemctl is-active airstrap-node 2>/dev/null)"',
    'echo "registryActive=$(systemctl is-active airstrap-registry 2>/dev/null)"',
    'echo "curl=$(command -v curl)"',
    "echo \"listening=$( (ss -Hltn 2>/dev/null || netstat -ltn 2>/dev/null | tail -n +3) | awk '{print $4}' | sort -u | tr '\\n' ' ')\"",
  ].join("\n");
}

/** Parses the script's output; `sentAt`/`receivedAt` bracket the command so skew is measured from the midpoint. */
export function parseFacts(output: string, sentAt: number, receivedAt: number): HostFacts {
  const values = new Map<string, string>();
  for (const line of output.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) values.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  const remoteTime = Number(values.get("time"));
  const version = values.get("version")?.match(/v\d+\.\d+\.\d+\+[a-z0-9]+/)?.[0];
  return {
    os: values.get("os") ?? "unknown",
    arch: normaliseArch(values.get("arch") ?? ""),
    hostname: values.get("hostname") ?? "",
    machineId: values.get("machineId") ?? "",
    clockSkewSeconds: Number.isFinite(remoteTime) ? remoteTime - (sentAt + receivedAt) / 2000 : 0,
    diskFreeBytes: Number(values.get("diskFree") ?? 0) || 0,
    ...(version ? { installedVersion: version } : {}),
    distroActive: values.get("distroActive") === "active",
    nodeServiceActive: values.get("nodeServiceActive") === "active",
    nodeServiceRunning: ["active", "activating", "reloading"].includes(values.get("nodeServiceActive") ?? ""),
    registryServiceActive: values.get("registryActive") === "active",
    hasCurl: (values.get("curl") ?? "") !== "",
    ...(/^[0-9a-f]{64}$/.test(values.get("executable") ?? "") ? { executableSha256: values.get("executable")! } : {}),
    listening: (values.get("listening") ?? "").split(/\s+/).flatMap(parseListening),
  };
}

/** `0.0.0.0:22`, `[::]:22`, `*:22`, `127.0.0.53%lo:53` → address and port; wildcards become "*". */
export function parseListening(text: string): Array<{ address: string; port: number }> {
  const match = text.match(/^\[?(.*?)\]?:(\d+)$/);
  if (!match) return [];
  const address = match[1]!.replace(/%.*$/, "");
  const port = Number(match[2]);
  const wildcard = address === "*" || address === "0.0.0.0" || address === "::" || address === "";
  return [{ address: wildcard ? "*" : address, port }];
}

export function normaliseArch(uname: string): string {
  const known: Record<string, string> = { x86_64: "amd64", amd64: "amd64", aarch64: "arm64", arm64: "arm64" };
  return known[uname] ?? uname;
}
