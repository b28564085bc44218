import type { Arch, DistroName, GitopsSettings, PxeSettings, SshSettings } from "../manifest/defaults.js";

/**
 * Everything decided without touching a machine. A pure function of manifest + state; printed by
 * `airstrap plan`, consumed by render, serve and install. Holds no secret: the join token and keys
 * stay in the state dir and are passed to renderers separately.
 */
export interface Plan {
  name: string;
  domain: string;
  clusterRecord: string;
  /** `<clusterRecord>.<domain>`: resolves, on every node, to that node itself. */
  clusterFqdn: string;
  distro: { name: DistroName; version: string; arch: Arch };
  network: { podCIDR: string; serviceCIDR: string };
  bootstrapAddress?: string;
  /** What airstrap serves from the bootstrap machine while it installs; absent without a bootstrap address. */
  bootstrap?: PlannedBootstrap;
  hosts: PlannedHost[];
  joinOrder: JoinOrder;
  /** Where joining servers and agents register: the node-local LB's join port via the cluster FQDN. */
  joinUrl: string;
  /** The Kubernetes API as kubeconfigs reach it: the node-local LB's API port via the cluster FQDN. */
  apiUrl: string;
  dns: PlannedDns;
  loadBalancer: { listeners: PlannedListener[] };
  registry: PlannedRegistry;
  artifacts: { source?: string; images: string[] };
  /** Per host name: the files that host receives, in a fixed order. */
  files: Record<string, PlannedFile[]>;
  stages: Array<{ name: string; path: string; dependsOn: string[] }>;
  /** The hand-over to Flux (spec.gitops with defaults): present when the manifest has stages. */
  gitops?: GitopsSettings;
  /** PXE boot: present when the manifest sets spec.provisioning.pxe. */
  pxe?: PlannedPxe;
}

/** The three kinds of Ignition config (seed 003's bootstrap, controller and worker). */
export type PxeRole = "primary-server" | "server" | "agent";

/** The manifest's PXE settings with their defaults, and what follows from them. */
export interface PlannedPxe extends PxeSettings {
  /** `http://<address>:<httpPort>`: the Matchbox API, Ignition and /assets/. */
  bootUrl: string;
  /** Every host with a mac, in manifest order. */
  hosts: PlannedPxeHost[];
}

export interface PlannedPxeHost {
  name: string;
  /** Lower-case, colon form (what Matchbox selectors compare). */
  mac: string;
  address: string;
  role: PxeRole;
  /** Matchbox group and profile id (one each per host: each host has its own Ignition config). */
  profile: string;
  /** File under ignition/ that the profile names (`ignition_id`). */
  ignitionFile: string;
  /** static: an address in a systemd-networkd file (dhcp: proxy); dhcp: the reservation by MAC (dhcp: full). */
  network: "static" | "dhcp";
  /** The disk Ignition formats (ext4, label airstrap-data, kept when present) and mounts at /var/lib. */
  dataDisk?: string;
  /** What the host fetches from the boot HTTP server, in the order it does. */
  urls: PxeHostUrls;
}

export interface PxeHostUrls {
  kernel: string;
  initrd: string[];
  /** The live root image (dracut root=live:), for an OS of one's own that has one. */
  rootImage?: string;
  ignition: string;
  /** The airstrap executable and the plan, fetched by the node services' first unit. */
  executable: string;
  plan: string;
  /** Where the host reports its first boot, or a boot stopped in its initramfs. */
  report: string;
}

export type Role = "server" | "agent";

export interface PlannedBootstrap {
  address: string;
  /** `http://<address>:<filesPort>`: release files and the airstrap executable, by SHA-256. */
  filesUrl: string;
  /** `https://<address>:<registry port>`: the store's images and releases, the seed of every replica. */
  registryUrl: string;
  /** Whether the hosts pass the carried files on to each other during install (install.md, the relay). */
  relay: boolean;
}

export interface PlannedHost {
  name: string;
  fqdn: string;
  address: string;
  role: Role;
  primary: boolean;
  mac?: string;
  /** A host booted over PXE: the disk Ignition formats and mounts at /var/lib. */
  dataDisk?: string;
  labels: Record<string, string>;
  taints: string[];
  ssh: SshSettings;
  /** "local": the machine airstrap runs on, reached without SSH (its ssh settings are not used). */
  connection: "ssh" | "local";
  runsRegistry: boolean;
}

/** The primary first; then the other servers one at a time (etcd admits one learner at a time); then agents in parallel. */
export interface JoinOrder {
  primary: string;
  servers: string[];
  agents: string[];
}

export interface PlannedDns {
  port: number;
  upstreams: Array<{ address: string; port: number }>;
  allowedNetworks: string[];
  /** Processes answering UDP on each node (the node service's DNS; `airstrap dns` has its own flag). */
  workers: number;
  /** Extra records with absolute, lower-case names (no trailing dot); host and cluster records are implied by `hosts`. */
  records: Array<{ name: string; type: "A" | "AAAA" | "CNAME" | "SRV" | "TXT"; value: string; ttl: number }>;
}

export interface PlannedListener {
  name: "api" | "join";
  port: number;
  backendPort: number;
  backends: Array<{ host: string; address: string; port: number }>;
}

export interface PlannedRegistry {
  port: number;
  hosts: string[];
  mirrors: string[];
  /** `https://<fqdn>:<port>` of every registry replica, in manifest order. */
  endpoints: string[];
}

export type FileKind = "distro-config" | "registries" | "node-unit" | "registry-unit" | "node-plan";

export interface PlannedFile {
  /** Absolute path on the host. */
  path: string;
  mode: number;
  kind: FileKind;
}

/** What earlier runs decided and must not be decided differently now. */
export interface PlanState {
  /** The server that initialised the cluster; it stays primary even if the manifest's order changes. */
  initializedPrimary?: string;
}
