import { z } from "zod";

/**
 * The one definition of cluster.yaml. The validator, the TypeScript types and the JSON Schema
 * (`airstrap schema`) all come from here. Defaults that depend on other fields (the distro's
 * CIDRs and ports) are applied afterwards in defaults.ts.
 */

export const API_VERSION = "airstrap.io/v1alpha1";
export const KIND = "Cluster";

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const RECORD_NAME = /^(\*|@|[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?)*\.?$/i;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const TAINT = /^[A-Za-z0-9]([A-Za-z0-9._/-]*[A-Za-z0-9])?(=[A-Za-z0-9._-]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$/;
const LABEL_KEY = /^([a-z0-9]([a-z0-9.-]*[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;
/** v1.31.4+rke2r1 or v1.31.4+k3s1; which suffix fits which distro is checked in semantic.ts. */
export const DISTRO_VERSION = /^v\d+\.\d+\.\d+\+(rke2r|k3s)\d+$/;
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[0-9.]+|[0-9a-fA-F:]+)(:\d{1,5})?$/;

const ipAddress = z.union([z.ipv4(), z.ipv6()], { error: "must be an IPv4 or IPv6 address" });
const cidr = z.union([z.cidrv4(), z.cidrv6()], { error: "must be a network in CIDR form, like 10.42.0.0/16" });
const port = z.int({ error: "must be a whole number" }).min(1).max(65535);
const dnsName = (_what: string) => z.string().regex(DNS_NAME, `must be a lower-case DNS name, like edge.lan`);

const sshOptions = {
  user: z.string().min(1).optional().describe("SSH user (default root)"),
  port: port.optional().describe("SSH port (default 22)"),
  identityFile: z.string().min(1).optional().describe("private key file; ~ expands to the home directory"),
  sudo: z.boolean({ error: "must be true or false" }).optional().describe("run commands through sudo"),
};

const bastion = z
  .strictObject({
    address: z.string().min(1).describe("bastion (jump host) address or name"),
    port: port.optional(),
    user: z.string().min(1).optional(),
    identityFile: z.string().min(1).optional(),
  })
  .describe("jump host through which every SSH connection goes");

const ssh = z.strictObject({ ...sshOptions, bastion: bastion.optional() }).describe("SSH defaults for every host");

/**
 * A disk Ignition formats (ext4, label airstrap-data, kept when it already carries that
 * filesystem) and mounts at /var/lib: a machine booted over PXE runs from RAM, and the distro's
 * images need room that RAM does not give.
 */
const dataDisk = z
  .string()
  .regex(
    /^\/dev\/[A-Za-z0-9._:+@/-]+$/,
    "must be a device path under /dev, like /dev/disk/by-id/nvme-eui.0025388b91c0d1a2",
  )
  .refine((path) => !path.split("/").includes(".."), "must not contain ..");

const host = z.strictObject({
  name: z
    .string()
    .regex(DNS_LABEL, "must be a lower-case DNS label (a-z, 0-9, '-'), like k8s-server-01")
    .describe("host name; its FQDN is <name>.<domain>"),
  address: ipAddress.describe("the address the site reaches this host at"),
  role: z.enum(["server", "agent"]).describe("server (control plane + etcd) or agent (worker)"),
  primary: z
    .boolean({ error: "must be true or false" })
    .optional()
    .describe("the server that initialises the cluster (default: the first server)"),
  mac: z
    .string()
    .regex(MAC, "must look like 52:54:00:12:34:56")
    .optional()
    .describe("with spec.provisioning.pxe: this host boots over PXE (and, with dhcp: full, gets its address reserved)"),
  dataDisk: dataDisk
    .optional()
    .describe("a host that boots over PXE: its data disk, overriding spec.provisioning.pxe.dataDisk"),
  labels: z
    .record(z.string().regex(LABEL_KEY, "label keys look like zone or example.com/zone"), z.string())
    .optional()
    .describe("Kubernetes node labels"),
  taints: z
    .array(
      z
        .string()
        .regex(TAINT, "taints look like key=value:NoSchedule (effects: NoSchedule, PreferNoSchedule, NoExecute)"),
    )
    .optional()
    .describe("Kubernetes node taints"),
  ssh: z
    .strictObject({ ...sshOptions, bastion: bastion.optional() })
    .optional()
    .describe("per-host SSH overrides"),
  connection: z
    .enum(["ssh", "local"], { error: 'must be "ssh" or "local"' })
    .optional()
    .describe(
      "how airstrap reaches this host: ssh (default), or local — it is the machine airstrap runs on (commands run there directly, as root or through sudo)",
    ),
});

const dnsRecord = z.discriminatedUnion(
  "type",
  [
    z.strictObject({
      name: z.string().regex(RECORD_NAME, "not a valid record name"),
      type: z.literal("A"),
      value: z.ipv4({ error: "an A record's value must be an IPv4 address" }),
      ttl: z.int().min(0).max(2147483647).optional(),
    }),
    z.strictObject({
      name: z.string().regex(RECORD_NAME, "not a valid record name"),
      type: z.literal("AAAA"),
      value: z.ipv6({ error: "an AAAA record's value must be an IPv6 address" }),
      ttl: z.int().min(0).max(2147483647).optional(),
    }),
    z.strictObject({
      name: z.string().regex(RECORD_NAME, "not a valid record name"),
      type: z.literal("CNAME"),
      value: z.string().regex(RECORD_NAME, "a CNAME's value must be a DNS name"),
      ttl: z.int().min(0).max(2147483647).optional(),
    }),
    z.strictObject({
      name: z.string().regex(RECORD_NAME, "not a valid record name"),
      type: z.literal("SRV"),
      value: z
        .string()
        .regex(/^\d{1,5} \d{1,5} \d{1,5} \S+$/, 'an SRV value is "priority weight port target", like "10 5 389 ldap"'),
      ttl: z.int().min(0).max(2147483647).optional(),
    }),
    z.strictObject({
      name: z.string().regex(RECORD_NAME, "not a valid record name"),
      type: z.literal("TXT"),
      value: z.string().max(4000),
      ttl: z.int().min(0).max(2147483647).optional(),
    }),
  ],
  { error: "record type must be one of A, AAAA, CNAME, SRV, TXT" },
);

const dns = z.strictObject({
  port: port.optional().describe("port the node-local DNS server listens on (default 53)"),
  upstreams: z
    .array(z.string().regex(HOST_PORT, 'upstreams are "address" or "address:port" ([v6]:port for IPv6)'))
    .optional()
    .describe("forwarders for names outside the site; none means outside names are refused"),
  allowedNetworks: z
    .array(cidr)
    .optional()
    .describe("clients allowed to recurse (default: the hosts' networks and loopback)"),
  records: z
    .array(dnsRecord)
    .optional()
    .describe("extra records; names are relative to the domain unless they end with '.'"),
  workers: z
    .int({ error: "must be a whole number" })
    .min(1)
    .max(16)
    .optional()
    .describe("processes answering UDP on each node (default 1; more only for heavy use by other systems)"),
});

const loadBalancer = z.strictObject({
  apiPort: port.optional().describe("node-local LB port for the Kubernetes API (default 16443)"),
  joinPort: port.optional().describe("node-local LB port for the supervisor/join API (default 19345)"),
  apiBackendPort: port.optional().describe("the servers' API port (default 6443)"),
  joinBackendPort: port.optional().describe("the servers' supervisor port (default 9345 for RKE2, 6443 for K3s)"),
});

const registry = z.strictObject({
  port: port.optional().describe("registry port (default 5000)"),
  hosts: z.array(z.string()).optional().describe("hosts that run a registry replica (default: every server)"),
  mirrors: z
    .array(z.string().regex(/^[a-z0-9.-]+(:\d+)?$/, "must be a registry name like docker.io"))
    .optional()
    .describe("upstream registry names containerd pulls through airstrap"),
});

const artifacts = z.strictObject({
  source: z.string().min(1).optional().describe("local folder or mirror base URL holding the distro release files"),
  images: z.array(z.string().min(1)).optional().describe("extra images to carry across the gap"),
  signer: z
    .string()
    .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, "must be a key fingerprint like SHA256:… as bundle create prints it")
    .optional()
    .describe("fingerprint of the key this site's bundles are signed with; bundle load and verify refuse others"),
});

/** The Ignition spec versions airstrap writes: 3.3.0 (Flatcar's and Debian's Ignition 2.14 both accept it) and 3.4.0. */
export const IGNITION_VERSIONS = ["3.3.0", "3.4.0"] as const;
/** A file named by its path in the artifact store, served under the boot server's /assets/. */
const ASSET_NAME = /^[A-Za-z0-9_+-][A-Za-z0-9._+-]*(\/[A-Za-z0-9_+-][A-Za-z0-9._+-]*)*$/;
const assetName = z
  .string()
  .regex(ASSET_NAME, "must be a file in the artifact store, like debian/vmlinuz (no leading /, no ..)");

const bootOs = z
  .strictObject({
    name: z.enum(["flatcar"]).optional().describe("flatcar (the only named OS; leave out for kernel + initrd)"),
    channel: z.enum(["stable", "beta", "alpha", "lts"]).optional().describe("Flatcar channel (default stable)"),
    version: z
      .string()
      .regex(/^\d+\.\d+\.\d+$/, "an OS version like 3975.2.2")
      .optional()
      .describe("Flatcar version"),
    kernel: assetName.optional().describe("any other OS: the kernel, by file name in the artifact store"),
    initrd: z.array(assetName).min(1).optional().describe("any other OS: the initrd files, in order"),
    rootImage: assetName
      .optional()
      .describe("any other OS: a live root image (dracut root=live:), by file name in the artifact store"),
    args: z
      .array(z.string().regex(/^\S+$/, "one kernel argument per item, without spaces"))
      .optional()
      .describe("extra kernel arguments, after airstrap's own"),
    source: z
      .string()
      .min(1)
      .optional()
      .describe(
        "where artifacts pull fetches the OS files: a local folder or a mirror URL (for Flatcar one standing for https://<channel>.release.flatcar-linux.net/<arch>-usr); default Flatcar's release site",
      ),
    signer: z
      .string()
      .regex(/^(?:[0-9A-Fa-f]{4}\s?){10}$/, "an OpenPGP key fingerprint: 40 hex digits")
      .optional()
      .describe("Flatcar: the fingerprint of the key its files are signed with (default Flatcar's image signing key)"),
  })
  .describe(
    "the OS the hosts boot: Flatcar (channel, version) or a kernel + initrd (+ root image) from the artifact store",
  );

const pxe = z.strictObject({
  interface: z.string().min(1).describe("network interface on the bootstrap machine that faces the site"),
  address: z
    .ipv4({ error: "must be an IPv4 address (PXE boots over DHCPv4)" })
    .optional()
    .describe("the address the boot services (DHCP, TFTP, HTTP) bind to (default spec.bootstrap.address)"),
  subnet: z
    .cidrv4({ error: "must be an IPv4 network in CIDR form, like 10.77.0.0/24" })
    .describe("the provisioning subnet; every host that boots over PXE must be inside it"),
  gateway: z.ipv4({ error: "must be an IPv4 address" }).optional().describe("the hosts' default gateway"),
  dhcp: z
    .enum(["proxy", "full"])
    .optional()
    .describe(
      "proxy (default): the site's DHCP server hands out addresses, airstrap adds boot information; full: airstrap hands each host its own address, reserved by MAC",
    ),
  pool: z
    .strictObject({
      start: z.ipv4({ error: "must be an IPv4 address" }),
      end: z.ipv4({ error: "must be an IPv4 address" }),
    })
    .optional()
    .describe("dhcp: full only: a dynamic range for machines not in the manifest (default: none, reservations only)"),
  httpPort: port.optional().describe("the boot HTTP server's port (Matchbox API, Ignition, assets; default 8080)"),
  ignitionVersion: z
    .enum(IGNITION_VERSIONS)
    .optional()
    .describe("Ignition spec version of the generated configs (default 3.3.0)"),
  templates: z
    .string()
    .min(1)
    .optional()
    .describe("folder whose files replace built-in Ignition templates of the same name (relative to the manifest)"),
  dataDisk: dataDisk
    .optional()
    .describe(
      "every host that boots over PXE: the disk Ignition formats (ext4, label airstrap-data; an existing one is kept) and mounts at /var/lib",
    ),
  os: bootOs,
});

const stage = z.strictObject({
  name: z.string().regex(DNS_LABEL, "must be a lower-case label, like base-apps"),
  path: z.string().min(1).describe("folder of manifests applied in this stage"),
  dependsOn: z.array(z.string()).optional().describe("earlier stages only"),
});

const gitops = z
  .strictObject({
    url: z
      .string()
      .regex(/^https?:\/\/[^\s/]+\/\S+$/, "must be an http(s) URL of a repository, like http://10.77.0.1:8418/site.git")
      .optional()
      .describe(
        "the site repository on the git server: where airstrap pushes and Flux clones (default http://<bootstrap.address>:8418/<metadata.name>.git)",
      ),
    branch: z
      .string()
      .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, "must be a branch name, like main")
      .optional()
      .describe("the branch Flux follows (default main)"),
    flux: z
      .strictObject({
        version: z
          .string()
          .regex(/^v\d+\.\d+\.\d+(-rc\.\d+)?$/, "must be a Flux release tag, like v2.9.4")
          .optional()
          .describe("the Flux release carried and installed"),
        source: z
          .string()
          .min(1)
          .optional()
          .describe(
            "where artifacts pull fetches Flux's install.yaml and checksums: a local folder or a mirror standing for https://github.com/fluxcd/flux2/releases/download",
          ),
      })
      .optional(),
    webhookNodePort: z
      .int({ error: "must be a whole number" })
      .min(30000)
      .max(32767)
      .optional()
      .describe("the node port the git server reaches Flux's webhook receiver on (default 30292)"),
  })
  .describe("how the stages are handed over to Flux");

export const clusterManifestSchema = z
  .strictObject({
    apiVersion: z.literal(API_VERSION, { error: `apiVersion must be ${API_VERSION}` }),
    kind: z.literal(KIND, { error: `kind must be ${KIND}` }),
    metadata: z.strictObject({
      name: z.string().regex(DNS_LABEL, "must be a lower-case DNS label, like edge"),
    }),
    spec: z.strictObject({
      domain: dnsName("domain").describe("the site's DNS domain; hosts are <name>.<domain>"),
      clusterRecord: z
        .string()
        .regex(DNS_LABEL, "must be a lower-case DNS label, like edge-cluster")
        .optional()
        .describe("name of the record that resolves to the node itself (default <metadata.name>-cluster)"),
      distro: z.strictObject({
        name: z.enum(["rke2", "k3s"]),
        version: z.string().regex(DISTRO_VERSION, "must look like v1.31.4+rke2r1 (RKE2) or v1.31.4+k3s1 (K3s)"),
        arch: z.enum(["amd64", "arm64"]).optional().describe("default amd64"),
      }),
      network: z
        .strictObject({
          podCIDR: cidr.optional().describe("default 10.42.0.0/16"),
          serviceCIDR: cidr.optional().describe("default 10.43.0.0/16"),
        })
        .optional(),
      bootstrap: z
        .strictObject({
          address: ipAddress.describe("the machine airstrap runs on, as the site sees it"),
          filesPort: port
            .optional()
            .describe("where install serves release files and the airstrap executable to the hosts (default 8078)"),
          relay: z
            .boolean()
            .optional()
            .describe(
              "hosts pass the carried files on to each other during install, on filesPort (default true); false where hosts may not reach each other there",
            ),
        })
        .optional(),
      ssh: ssh.optional(),
      hosts: z.array(host).min(1, "at least one host is needed"),
      dns: dns.optional(),
      loadBalancer: loadBalancer.optional(),
      registry: registry.optional(),
      artifacts: artifacts.optional(),
      provisioning: z.strictObject({ pxe: pxe.optional() }).optional(),
      stages: z.array(stage).optional(),
      gitops: gitops.optional(),
    }),
  })
  .describe("airstrap cluster manifest");

export type ManifestInput = z.input<typeof clusterManifestSchema>;
export type ParsedManifest = z.output<typeof clusterManifestSchema>;
export type HostSpec = ParsedManifest["spec"]["hosts"][number];
export type PxeSpec = NonNullable<NonNullable<ParsedManifest["spec"]["provisioning"]>["pxe"]>;
export type DnsRecordSpec = NonNullable<NonNullable<ParsedManifest["spec"]["dns"]>["records"]>[number];
