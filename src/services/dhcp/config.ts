import { isIPv4 } from "node:net";
import { z } from "zod";
import { OperatorError } from "../../errors.js";

/**
 * The DHCP server's configuration. `proxy` answers PXE clients with boot information only and
 * leaves addresses to the site's DHCP server; `full` hands out exactly the reserved addresses.
 * Either way only the machines listed here are ever answered.
 */

export type DhcpMode = "proxy" | "full";

export interface DhcpReservation {
  /** Lowercase colon form, "52:54:00:a1:9c:ae". */
  mac: string;
  hostname: string;
  address: string;
  /** This machine's DNS servers, in place of the network's: an airstrap node resolves through itself. */
  dnsServers?: string[];
}

export interface DhcpBoot {
  /** Next server (siaddr): where the NBP is fetched over TFTP. */
  tftpServer: string;
  /** NBP for BIOS PXE ROMs (arch 0). */
  biosFile: string;
  /** NBP for x64 UEFI PXE (arch 6, 7, 9). */
  uefiFile: string;
  /** What iPXE gets instead of an NBP (no boot loop): e.g. http://10.0.0.1:8080/boot.ipxe. */
  ipxeScriptUrl: string;
  /** UEFI HTTP boot (arch 16, vendor class HTTPClient): URL of an EFI binary; absent = not answered. */
  httpBootUrl?: string;
}

export interface DhcpPorts {
  /** Where servers listen (67). */
  server: number;
  /** Where clients listen (68). */
  client: number;
  /** PXE boot server discovery (4011). */
  pxe: number;
}

export interface DhcpConfig {
  mode: DhcpMode;
  /** This server's address on the PXE network: the server identifier, and replies leave from it. */
  serverAddress: string;
  /** Netmask of the PXE network, dotted ("255.255.255.0"). */
  netmask: string;
  /** Full mode: the only addresses handed out. Proxy mode: their MACs are known machines too. */
  reservations: DhcpReservation[];
  /** Further machines answered (proxy mode boots them; full mode gives them a pool address, if a pool is set). */
  knownMacs: string[];
  /** Full mode only, never by default: addresses for known MACs without a reservation. */
  pool?: { start: string; end: string };
  router?: string;
  /** The nodes' own DNS servers. */
  dnsServers: string[];
  domain?: string;
  leaseSeconds: number;
  boot: DhcpBoot;
  ports: DhcpPorts;
}

export const DHCP_PORTS: DhcpPorts = { server: 67, client: 68, pxe: 4011 };
export const DEFAULT_LEASE_SECONDS = 3600;

const mac = z
  .string()
  .transform((text) => text.toLowerCase().replaceAll("-", ":"))
  .refine((text) => /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(text), "expected a MAC address like 52:54:00:a1:9c:ae");
const ipv4 = z.string().refine((text) => isIPv4(text), "expected an IPv4 address");
const port = z.number().int().min(0).max(65535);

/** The --config file form: the same fields, with defaults for lease time and ports. */
export const dhcpConfigSchema = z.strictObject({
  mode: z.enum(["proxy", "full"]),
  serverAddress: ipv4,
  netmask: ipv4,
  reservations: z
    .array(z.strictObject({ mac, hostname: z.string().min(1), address: ipv4, dnsServers: z.array(ipv4).optional() }))
    .default([]),
  knownMacs: z.array(mac).default([]),
  pool: z.strictObject({ start: ipv4, end: ipv4 }).optional(),
  router: ipv4.optional(),
  dnsServers: z.array(ipv4).default([]),
  domain: z.string().min(1).optional(),
  leaseSeconds: z.number().int().min(60).default(DEFAULT_LEASE_SECONDS),
  boot: z.strictObject({
    tftpServer: ipv4,
    biosFile: z.string().min(1).max(127).default("undionly.kpxe"),
    uefiFile: z.string().min(1).max(127).default("ipxe.efi"),
    ipxeScriptUrl: z.string().url().max(127),
    httpBootUrl: z.string().url().max(127).optional(),
  }),
  ports: z.strictObject({ server: port, client: port, pxe: port }).partial().default({}),
});

/** Parses a decoded JSON/YAML document; `source` names it in errors. */
export function parseDhcpConfig(document: unknown, source: string): DhcpConfig {
  const parsed = dhcpConfigSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new OperatorError(`${source}: ${issue.path.join(".") || "(top)"}: ${issue.message}`, {
      hint: "see docs/pxe-dhcp.md for the fields of a DHCP configuration",
    });
  }
  const { ports, router, domain, boot, pool, ...rest } = parsed.data;
  const config: DhcpConfig = {
    ...rest,
    ...(pool === undefined ? {} : { pool }),
    ...(router === undefined ? {} : { router }),
    ...(domain === undefined ? {} : { domain }),
    boot: { ...boot, ...(boot.httpBootUrl === undefined ? {} : { httpBootUrl: boot.httpBootUrl }) },
    ports: { ...DHCP_PORTS, ...ports },
  };
  checkDhcpConfig(config, source);
  return config;
}

/** What a schema cannot say: the netmask is contiguous, reservations are unique and inside the network. */
export function checkDhcpConfig(config: DhcpConfig, source: string): void {
  const fail = (message: string, hint: string) => {
    throw new OperatorError(`${source}: ${message}`, { hint });
  };
  const mask = ipv4Number(config.netmask);
  if (mask === 0 || (~mask >>> 0) & ((~mask >>> 0) + 1))
    fail(`netmask ${config.netmask} is not contiguous`, 'write it like "255.255.255.0"');
  const network = (ipv4Number(config.serverAddress) & mask) >>> 0;
  const macs = new Set<string>();
  const addresses = new Set<string>([config.serverAddress]);
  for (const reservation of config.reservations) {
    if (macs.has(reservation.mac)) fail(`MAC ${reservation.mac} is reserved twice`, "keep one reservation per MAC");
    macs.add(reservation.mac);
    if (addresses.has(reservation.address))
      fail(`address ${reservation.address} is used twice`, "give every machine its own address");
    addresses.add(reservation.address);
    if ((ipv4Number(reservation.address) & mask) >>> 0 !== network)
      fail(
        `${reservation.hostname}: ${reservation.address} is outside ${config.serverAddress}/${config.netmask}`,
        "reserve addresses from the PXE network this server is on",
      );
  }
  if (config.pool !== undefined) {
    const [start, end] = [ipv4Number(config.pool.start), ipv4Number(config.pool.end)];
    if (config.mode !== "full") fail("a pool is for full mode only", "remove pool, or set mode: full");
    if (start > end) fail(`pool ${config.pool.start}-${config.pool.end} is empty`, "give the lower address as start");
    if ((start & mask) >>> 0 !== network || (end & mask) >>> 0 !== network)
      fail(
        `pool ${config.pool.start}-${config.pool.end} is outside ${config.serverAddress}/${config.netmask}`,
        "take the pool from the PXE network this server is on",
      );
  }
}

export function ipv4Number(address: string): number {
  return address.split(".").reduce((value, octet) => ((value << 8) | Number(octet)) >>> 0, 0);
}

export function ipv4Text(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join(".");
}

/** Every MAC this server answers. */
export function knownMacsOf(config: DhcpConfig): Set<string> {
  return new Set([...config.reservations.map((r) => r.mac), ...config.knownMacs]);
}
