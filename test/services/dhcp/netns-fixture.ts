import type { DhcpConfig } from "../../../src/services/dhcp/config.js";
import { PXE_SUBNET } from "../../peers/pxe-network.js";

/** Configurations for the tests (and bench/pxe) that run the server in a network namespace on ports 67/68. */

export const SERVER = `${PXE_SUBNET}.1`;

export function netnsConfig(overrides: Partial<DhcpConfig> = {}): DhcpConfig {
  return {
    mode: "full",
    serverAddress: SERVER,
    netmask: "255.255.255.0",
    reservations: [],
    knownMacs: [],
    dnsServers: [],
    leaseSeconds: 600,
    boot: {
      tftpServer: SERVER,
      biosFile: "undionly.kpxe",
      uefiFile: "ipxe.efi",
      ipxeScriptUrl: `http://${SERVER}:8080/boot.ipxe`,
    },
    ports: { server: 67, client: 68, pxe: 4011 },
    ...overrides,
  };
}

/** `count` distinct MACs; `group` keeps known and unknown ones apart. */
export const stormMacs = (group: number, count: number) =>
  Array.from(
    { length: count },
    (_, i) =>
      `52:54:0${group}:00:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 0xff).toString(16).padStart(2, "0")}`,
  );

/** Full mode with one reservation per MAC, from .10 up. */
export function stormConfig(known: string[]): DhcpConfig {
  return netnsConfig({
    reservations: known.map((mac, i) => ({ mac, hostname: `node-${i}`, address: `${PXE_SUBNET}.${10 + i}` })),
    router: SERVER,
    dnsServers: [SERVER],
  });
}
