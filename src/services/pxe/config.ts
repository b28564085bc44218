import type { Plan, PlannedPxe } from "../../plan/types.js";
import { type AssetSource, BOOT_HTTP_DEFAULTS, type BootHttpConfig } from "../boot-http/config.js";
import { DEFAULT_LEASE_SECONDS, DHCP_PORTS, type DhcpConfig, type DhcpPorts, ipv4Text } from "../dhcp/config.js";
import { TFTP_PORT, type TftpConfig, tftpConfig } from "../tftp/config.js";

/**
 * Everything a machine needs to boot from the network, as one service: DHCP (proxy or full) that
 * sends PXE firmware to TFTP and iPXE to the boot HTTP server, TFTP for the iPXE binaries, and the
 * Matchbox-compatible HTTP server for scripts, Ignition and the OS files.
 */
export interface PxeConfig {
  dhcp: DhcpConfig;
  tftp: TftpConfig;
  http: BootHttpConfig;
}

/** Where the prepared boot files are on this machine (see serve/boot-site.ts). */
export interface PxeSite {
  /** The Matchbox data folder: groups/, profiles/, ignition/. */
  dataDir: string;
  /** The folder TFTP serves: the iPXE binaries. */
  tftpRoot: string;
  /** What /assets/ serves: the OS files and airstrap's own, by the names the plan gives them. */
  assets: AssetSource;
}

export interface PxePorts {
  dhcp: DhcpPorts;
  tftp: number;
  /** Default: the plan's httpPort. */
  http?: number;
}

export const PXE_BOOT_FILES = { bios: "undionly.kpxe", uefi: "ipxe.efi" } as const;

/** The three services' configs from the plan. Pure. */
export function pxeConfigFromPlan(
  plan: Plan,
  site: PxeSite,
  ports: PxePorts = { dhcp: DHCP_PORTS, tftp: TFTP_PORT },
): PxeConfig {
  const pxe = requirePxe(plan);
  const address = pxe.address;
  const httpPort = ports.http ?? pxe.httpPort;
  return {
    dhcp: {
      mode: pxe.dhcp,
      serverAddress: address,
      netmask: netmaskOf(pxe.subnet),
      reservations: pxe.hosts.map((host) => ({
        mac: host.mac,
        hostname: host.name,
        address: host.address,
        // Each node resolves through its own airstrap DNS server (seed 000).
        dnsServers: [host.address],
      })),
      knownMacs: [],
      ...(pxe.pool === undefined ? {} : { pool: pxe.pool }),
      ...(pxe.gateway === undefined ? {} : { router: pxe.gateway }),
      dnsServers: [],
      domain: plan.domain,
      leaseSeconds: DEFAULT_LEASE_SECONDS,
      boot: {
        tftpServer: address,
        biosFile: PXE_BOOT_FILES.bios,
        uefiFile: PXE_BOOT_FILES.uefi,
        ipxeScriptUrl: `http://${address}:${httpPort}/boot.ipxe`,
      },
      ports: ports.dhcp,
    },
    tftp: tftpConfig([{ address, port: ports.tftp }], site.tftpRoot),
    http: {
      ...BOOT_HTTP_DEFAULTS,
      listen: [{ address, port: httpPort }],
      dataDir: site.dataDir,
      assets: site.assets,
      // The Ignition configs carry the join token: only the provisioning network may fetch them.
      allowedNetworks: [pxe.subnet],
    },
  };
}

export function requirePxe(plan: Plan): PlannedPxe {
  if (!plan.pxe) throw new Error("the plan has no PXE settings (spec.provisioning.pxe)");
  return plan.pxe;
}

/** "10.77.0.0/24" → "255.255.255.0". */
export function netmaskOf(cidr: string): string {
  const prefix = Number(cidr.split("/")[1]);
  return ipv4Text(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
}
