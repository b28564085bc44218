import { createSocket, type Socket } from "node:dgram";
import type { AddressInfo } from "node:net";
import type { DhcpConfig } from "../../../src/services/dhcp/config.js";
import { type DhcpMessage, decodeMessage } from "../../../src/services/dhcp/wire.js";
import { dhcpConfig, KNOWN_MAC } from "./fixture.js";

/** A DHCP client socket on loopback: sends requests, collects the replies it receives. */
export interface LoopbackClient {
  port: number;
  replies: DhcpMessage[];
  send(datagram: Buffer, port: number, address?: string): Promise<void>;
  /** Waits until a reply with this xid arrived (bounded by `ms`), or returns undefined. */
  reply(xid: number, ms?: number): Promise<DhcpMessage | undefined>;
  close(): Promise<void>;
}

export async function loopbackClient(address = "127.0.0.1", port = 0): Promise<LoopbackClient> {
  const socket: Socket = createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(port, address, () => resolve());
  });
  const replies: DhcpMessage[] = [];
  const waiters = new Set<() => void>();
  socket.on("message", (datagram) => {
    try {
      replies.push(decodeMessage(datagram));
    } catch {
      return;
    }
    for (const wake of waiters) wake();
  });
  return {
    port: (socket.address() as AddressInfo).port,
    replies,
    send: (datagram, toPort, toAddress = "127.0.0.1") =>
      new Promise((resolve, reject) => socket.send(datagram, toPort, toAddress, (e) => (e ? reject(e) : resolve()))),
    reply(xid, ms = 3000) {
      const found = () => replies.find((r) => r.xid === xid);
      if (found()) return Promise.resolve(found());
      return new Promise((resolve) => {
        const wake = () => {
          if (!found()) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(found());
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          resolve(undefined);
        }, ms);
        waiters.add(wake);
      });
    },
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** A free UDP port on loopback (bound then released). */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "0.0.0.0", () => resolve()));
  const { port } = socket.address() as AddressInfo;
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** The fixture's configuration moved onto loopback high ports, replies going to `clientPort`. */
export async function loopbackConfig(clientPort: number, overrides: Partial<DhcpConfig> = {}): Promise<DhcpConfig> {
  const base = dhcpConfig();
  return {
    ...base,
    serverAddress: "127.0.0.1",
    netmask: "255.0.0.0",
    reservations: [{ mac: KNOWN_MAC, hostname: "node-1", address: "127.0.0.1" }],
    boot: { ...base.boot, tftpServer: "127.0.0.1" },
    ports: { server: await freeUdpPort(), client: clientPort, pxe: await freeUdpPort() },
    ...overrides,
  };
}
