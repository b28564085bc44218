import type { DhcpConfig } from "../../../src/services/dhcp/config.js";
import { BOOTREQUEST, encodeMessage, MessageType, Option } from "../../../src/services/dhcp/wire.js";

/** A DHCP configuration and client requests shared by the DHCP tests. */

export const KNOWN_MAC = "52:54:00:00:00:01";
export const SECOND_MAC = "52:54:00:00:00:02";
export const UNKNOWN_MAC = "52:54:00:99:99:99";

export function dhcpConfig(overrides: Partial<DhcpConfig> = {}): DhcpConfig {
  return {
    mode: "full",
    serverAddress: "10.200.0.1",
    netmask: "255.255.255.0",
    reservations: [
      { mac: KNOWN_MAC, hostname: "node-1", address: "10.200.0.11" },
      { mac: SECOND_MAC, hostname: "node-2", address: "10.200.0.12" },
    ],
    knownMacs: [],
    router: "10.200.0.254",
    dnsServers: ["10.200.0.11", "10.200.0.12"],
    domain: "edge.lan",
    leaseSeconds: 3600,
    boot: {
      tftpServer: "10.200.0.1",
      biosFile: "undionly.kpxe",
      uefiFile: "ipxe.efi",
      ipxeScriptUrl: "http://10.200.0.1:8080/boot.ipxe",
    },
    ports: { server: 67, client: 68, pxe: 4011 },
    ...overrides,
  };
}

export function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(":").map((part) => Number.parseInt(part, 16)));
}

export interface RequestShape {
  type: number;
  mac?: string;
  xid?: number;
  flags?: number;
  ciaddr?: string;
  giaddr?: string;
  /** Vendor class 60, e.g. "PXEClient:Arch:00000:UNDI:002001". */
  vendor?: string;
  arch?: number;
  userClass?: string;
  ipxe?: boolean;
  serverId?: string;
  requested?: string;
  uuid?: Buffer;
  parameters?: number[];
}

const addressOf = (text: string) => Buffer.from(text.split(".").map(Number));

/** Encodes a client request the way PXE ROMs, iPXE and ordinary clients build them. */
export function request(shape: RequestShape): Buffer {
  const options: [number, Buffer][] = [[Option.MESSAGE_TYPE, Buffer.from([shape.type])]];
  if (shape.serverId) options.push([Option.SERVER_ID, addressOf(shape.serverId)]);
  if (shape.requested) options.push([Option.REQUESTED_ADDRESS, addressOf(shape.requested)]);
  if (shape.vendor) options.push([Option.VENDOR_CLASS, Buffer.from(shape.vendor)]);
  if (shape.arch !== undefined) options.push([Option.CLIENT_ARCH, Buffer.from([shape.arch >> 8, shape.arch & 0xff])]);
  if (shape.userClass) options.push([Option.USER_CLASS, Buffer.from(shape.userClass)]);
  if (shape.ipxe) options.push([Option.IPXE_ENCAPSULATED, Buffer.from([19, 1, 1])]);
  if (shape.uuid) options.push([Option.CLIENT_UUID, shape.uuid]);
  if (shape.parameters) options.push([Option.PARAMETER_REQUEST_LIST, Buffer.from(shape.parameters)]);
  return encodeMessage({
    op: BOOTREQUEST,
    xid: shape.xid ?? 0x1234,
    flags: shape.flags ?? 0,
    ...(shape.ciaddr ? { ciaddr: shape.ciaddr } : {}),
    ...(shape.giaddr ? { giaddr: shape.giaddr } : {}),
    chaddr: macBytes(shape.mac ?? KNOWN_MAC),
    options,
  });
}

export const pxeDiscover = (shape: Partial<RequestShape> = {}) =>
  request({ type: MessageType.DISCOVER, vendor: "PXEClient:Arch:00000:UNDI:002001", arch: 0, flags: 0x8000, ...shape });
