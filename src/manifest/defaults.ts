import type { HostSpec, ParsedManifest, PxeSpec } from "./schema.js";

export type DistroName = "rke2" | "k3s";
export type Arch = "amd64" | "arm64";

export interface SshSettings {
  user: string;
  port: number;
  identityFile?: string;
  sudo: boolean;
  bastion?: { address: string; port: number; user: string; identityFile?: string };
}

export const DEFAULT_MIRRORS = ["docker.io", "quay.io", "ghcr.io", "registry.k8s.io"] as const;

/** Both distros use the same defaults; see the RKE2/K3s server flag references. */
export const DISTRO_DEFAULTS: Record<DistroName, { podCIDR: string; serviceCIDR: string; joinBackendPort: number }> = {
  rke2: { podCIDR: "10.42.0.0/16", serviceCIDR: "10.43.0.0/16", joinBackendPort: 9345 },
  k3s: { podCIDR: "10.42.0.0/16", serviceCIDR: "10.43.0.0/16", joinBackendPort: 6443 },
};

/** The manifest with every default filled in: what the plan is derived from. */
export interface ClusterManifest {
  name: string;
  domain: string;
  clusterRecord: string;
  distro: { name: DistroName; version: string; arch: Arch };
  network: { podCIDR: string; serviceCIDR: string };
  bootstrapAddress?: string;
  /** Port of the file server install runs on the bootstrap address (hosts fetch artifacts from it). */
  bootstrapFilesPort: number;
  /** Whether hosts relay the carried files to each other during install. */
  bootstrapRelay: boolean;
  ssh: SshSettings;
  hosts: Array<
    Omit<HostSpec, "ssh" | "primary" | "labels" | "taints" | "connection"> & {
      primary: boolean;
      connection: "ssh" | "local";
      labels: Record<string, string>;
      taints: string[];
      ssh: SshSettings;
    }
  >;
  dns: {
    port: number;
    upstreams: string[];
    allowedNetworks?: string[];
    records: NonNullable<NonNullable<ParsedManifest["spec"]["dns"]>["records"]>;
    workers: number;
  };
  loadBalancer: { apiPort: number; joinPort: number; apiBackendPort: number; joinBackendPort: number };
  registry: { port: number; hosts: string[]; mirrors: string[] };
  /** signer: fingerprint of the key bundles must be signed with (bundle load and verify check it). */
  artifacts: { source?: string; images: string[]; signer?: string };
  /** PXE boot services; every host with a `mac` boots over PXE when this is set. */
  pxe?: PxeSettings;
  stages: NonNullable<ParsedManifest["spec"]["stages"]>;
  gitops: GitopsSettings;
}

/** `spec.gitops` with its defaults; `url` stays unset when neither it nor a bootstrap address is given. */
export interface GitopsSettings {
  url?: string;
  branch: string;
  flux: { version: string; source?: string };
  webhookNodePort: number;
}

/** The Flux release carried when spec.gitops.flux.version names none. */
export const DEFAULT_FLUX_VERSION = "v2.9.4";
export const DEFAULT_GIT_PORT = 8418;

export function applyDefaults(parsed: ParsedManifest): ClusterManifest {
  const { spec } = parsed;
  const distroName = spec.distro.name;
  const distroDefaults = DISTRO_DEFAULTS[distroName];
  const ssh = sshSettings(spec.ssh ?? {}, undefined);
  const explicitPrimary = spec.hosts.find((h) => h.primary === true && h.role === "server");
  const firstServer = spec.hosts.find((h) => h.role === "server");
  const primaryName = (explicitPrimary ?? firstServer)?.name;
  const hosts = spec.hosts.map((h) => ({
    name: h.name,
    address: h.address,
    role: h.role,
    primary: h.name === primaryName,
    ...(h.mac === undefined ? {} : { mac: h.mac.toLowerCase() }),
    ...dataDiskOf(h, spec.provisioning?.pxe),
    labels: h.labels ?? {},
    taints: h.taints ?? [],
    connection: h.connection ?? "ssh",
    // The local transport uses sudo only when airstrap does not run as root, and then it must.
    ssh: h.connection === "local" ? { ...sshSettings(h.ssh ?? {}, ssh), sudo: true } : sshSettings(h.ssh ?? {}, ssh),
  }));
  return {
    name: parsed.metadata.name,
    domain: spec.domain,
    clusterRecord: spec.clusterRecord ?? `${parsed.metadata.name}-cluster`,
    distro: { name: distroName, version: spec.distro.version, arch: spec.distro.arch ?? "amd64" },
    network: {
      podCIDR: spec.network?.podCIDR ?? distroDefaults.podCIDR,
      serviceCIDR: spec.network?.serviceCIDR ?? distroDefaults.serviceCIDR,
    },
    ...(spec.bootstrap === undefined ? {} : { bootstrapAddress: spec.bootstrap.address }),
    bootstrapFilesPort: spec.bootstrap?.filesPort ?? 8078,
    bootstrapRelay: spec.bootstrap?.relay ?? true,
    ssh,
    hosts,
    dns: {
      port: spec.dns?.port ?? 53,
      upstreams: spec.dns?.upstreams ?? [],
      ...(spec.dns?.allowedNetworks === undefined ? {} : { allowedNetworks: spec.dns.allowedNetworks }),
      records: spec.dns?.records ?? [],
      workers: spec.dns?.workers ?? 1,
    },
    loadBalancer: {
      apiPort: spec.loadBalancer?.apiPort ?? 16443,
      joinPort: spec.loadBalancer?.joinPort ?? 19345,
      apiBackendPort: spec.loadBalancer?.apiBackendPort ?? 6443,
      joinBackendPort: spec.loadBalancer?.joinBackendPort ?? distroDefaults.joinBackendPort,
    },
    registry: {
      port: spec.registry?.port ?? 5000,
      hosts: spec.registry?.hosts ?? hosts.filter((h) => h.role === "server").map((h) => h.name),
      mirrors: spec.registry?.mirrors ?? [...DEFAULT_MIRRORS],
    },
    artifacts: {
      ...(spec.artifacts?.source === undefined ? {} : { source: spec.artifacts.source }),
      images: spec.artifacts?.images ?? [],
      ...(spec.artifacts?.signer === undefined ? {} : { signer: spec.artifacts.signer }),
    },
    ...(spec.provisioning?.pxe === undefined
      ? {}
      : { pxe: pxeSettings(spec.provisioning.pxe, spec.bootstrap?.address) }),
    stages: spec.stages ?? [],
    gitops: gitopsSettings(parsed),
  };
}

function gitopsSettings(parsed: ParsedManifest): GitopsSettings {
  const { gitops, bootstrap } = parsed.spec;
  const host = bootstrap?.address.includes(":") ? `[${bootstrap.address}]` : bootstrap?.address;
  const url = gitops?.url ?? (host ? `http://${host}:${DEFAULT_GIT_PORT}/${parsed.metadata.name}.git` : undefined);
  return {
    ...(url === undefined ? {} : { url }),
    branch: gitops?.branch ?? "main",
    flux: {
      version: gitops?.flux?.version ?? DEFAULT_FLUX_VERSION,
      ...(gitops?.flux?.source === undefined ? {} : { source: gitops.flux.source }),
    },
    webhookNodePort: gitops?.webhookNodePort ?? 30292,
  };
}

export type IgnitionVersion = "3.3.0" | "3.4.0";

/** What a PXE-booted host runs: Flatcar by channel and version, or any kernel + initrd (+ live root) from the store. */
export type BootOs = (
  | { kind: "flatcar"; channel: "stable" | "beta" | "alpha" | "lts"; version: string; signer?: string }
  | { kind: "custom"; kernel: string; initrd: string[]; rootImage?: string }
) & {
  args: string[];
  /** Where artifacts pull fetches the OS files (a folder or mirror URL); default the publisher's site. */
  source?: string;
};

export interface PxeSettings {
  interface: string;
  /** Where the boot services listen: pxe.address, else the bootstrap address. */
  address: string;
  subnet: string;
  gateway?: string;
  dhcp: "proxy" | "full";
  pool?: { start: string; end: string };
  httpPort: number;
  ignitionVersion: IgnitionVersion;
  /** As written in the manifest (relative to its folder). */
  templates?: string;
  os: BootOs;
}

/** The host's data disk, or the PXE default: only for a host that boots over PXE. */
function dataDiskOf(host: HostSpec, pxe: PxeSpec | undefined): { dataDisk?: string } {
  const dataDisk = host.dataDisk ?? pxe?.dataDisk;
  return host.mac === undefined || pxe === undefined || dataDisk === undefined ? {} : { dataDisk };
}

function pxeSettings(pxe: PxeSpec, bootstrapAddress: string | undefined): PxeSettings {
  const { os } = pxe;
  const args = os.args ?? [];
  const source = os.source === undefined ? {} : { source: os.source };
  // semantic.ts guarantees one complete form of os and an address.
  const bootOs: BootOs =
    os.kernel !== undefined
      ? {
          kind: "custom",
          kernel: os.kernel,
          initrd: os.initrd ?? [],
          ...(os.rootImage === undefined ? {} : { rootImage: os.rootImage }),
          args,
          ...source,
        }
      : {
          kind: "flatcar",
          channel: os.channel ?? "stable",
          version: os.version ?? "",
          args,
          ...source,
          ...(os.signer === undefined ? {} : { signer: os.signer }),
        };
  return {
    interface: pxe.interface,
    address: pxe.address ?? bootstrapAddress ?? "",
    subnet: pxe.subnet,
    ...(pxe.gateway === undefined ? {} : { gateway: pxe.gateway }),
    dhcp: pxe.dhcp ?? "proxy",
    ...(pxe.pool === undefined ? {} : { pool: pxe.pool }),
    httpPort: pxe.httpPort ?? 8080,
    ignitionVersion: pxe.ignitionVersion ?? "3.3.0",
    ...(pxe.templates === undefined ? {} : { templates: pxe.templates }),
    os: bootOs,
  };
}

type SshInput = NonNullable<ParsedManifest["spec"]["ssh"]>;

function sshSettings(input: SshInput, inherited: SshSettings | undefined): SshSettings {
  const identityFile = input.identityFile ?? inherited?.identityFile;
  const bastionInput = input.bastion;
  const bastion = bastionInput
    ? {
        address: bastionInput.address,
        port: bastionInput.port ?? 22,
        user: bastionInput.user ?? input.user ?? inherited?.user ?? "root",
        ...((bastionInput.identityFile ?? identityFile)
          ? { identityFile: (bastionInput.identityFile ?? identityFile)! }
          : {}),
      }
    : inherited?.bastion;
  return {
    user: input.user ?? inherited?.user ?? "root",
    port: input.port ?? inherited?.port ?? 22,
    ...(identityFile === undefined ? {} : { identityFile }),
    sudo: input.sudo ?? inherited?.sudo ?? false,
    ...(bastion === undefined ? {} : { bastion }),
  };
}
