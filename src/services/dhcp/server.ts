import { createSocket, type Socket } from "node:dgram";
import { OperatorError } from "../../errors.js";
import { literalAddress } from "../dns/server.js";
import type { Arrival } from "./answer.js";
import type { DhcpConfig } from "./config.js";

/**
 * The sockets of the DHCP server. Node's dgram has no IP_PKTINFO or SO_BINDTODEVICE, so:
 * - a wildcard socket on the DHCP port receives the clients' broadcasts;
 * - a socket bound to the server's own address on the same port sends every reply, so the kernel
 *   sends a 255.255.255.255 reply out of the interface holding that address (not along the
 *   default route), with the server identifier as source; it also receives unicast renewals;
 * - a wildcard socket on the PXE port (4011) receives boot server requests and answers them.
 * The two DHCP-port sockets share the port through SO_REUSEADDR; an exclusive probe bind first
 * makes sure no other DHCP server holds it, which sharing would otherwise hide.
 */

export type OnDatagram = (datagram: Buffer, arrival: Arrival, from: { address: string; port: number }) => void;

export interface DhcpSockets {
  /** "addr:port" of every socket. */
  readonly addresses: string[];
  /** Fire and forget: without a callback Node tries the send at once (no request object, no later tick). */
  send(datagram: Buffer, arrival: Arrival, to: { address: string; port: number }): void;
  close(): Promise<void>;
}

/** A reply the kernel refused (no route, no permission to broadcast …). */
export type OnSendError = (error: Error) => void;

const WILDCARD = "0.0.0.0";
/** Room for a boot storm's burst; the kernel caps it at net.core.rmem_max. */
const RECEIVE_BUFFER = 4 * 1024 * 1024;

export async function openDhcpSockets(
  config: DhcpConfig,
  onDatagram: OnDatagram,
  onSendError: OnSendError,
): Promise<DhcpSockets> {
  const { ports, serverAddress } = config;
  const opened: Socket[] = [];
  try {
    await closeSocket(await bindSocket({ address: WILDCARD, port: ports.server, reuse: false }, onSendError));
    const broadcasts = await bindSocket({ address: WILDCARD, port: ports.server, reuse: true }, onSendError);
    opened.push(broadcasts);
    const replies = await bindSocket({ address: serverAddress, port: ports.server, reuse: true }, onSendError);
    opened.push(replies);
    const pxe = await bindSocket({ address: WILDCARD, port: ports.pxe, reuse: false }, onSendError);
    opened.push(pxe);
    broadcasts.on("message", (datagram, from) => onDatagram(datagram, "dhcp", from));
    replies.on("message", (datagram, from) => onDatagram(datagram, "dhcp", from));
    pxe.on("message", (datagram, from) => onDatagram(datagram, "pxe", from));
    // Node reports a refused send only to a send callback, never as an "error" event.
    const sent = (error: Error | null) => {
      if (error) onSendError(error);
    };
    return {
      addresses: [
        `${WILDCARD}:${broadcasts.address().port}`,
        `${serverAddress}:${replies.address().port}`,
        `${WILDCARD}:${pxe.address().port}`,
      ],
      send(datagram, arrival, to) {
        (arrival === "pxe" ? pxe : replies).send(datagram, to.port, to.address, sent);
      },
      close: () => Promise.all(opened.map(closeSocket)).then(() => undefined),
    };
  } catch (error) {
    await Promise.all(opened.map(closeSocket));
    throw error;
  }
}

function bindSocket(
  where: { address: string; port: number; reuse: boolean },
  onSendError: OnSendError,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // Replies go to IP literals: skip the resolver hop (and its tick) on every send.
    const socket = createSocket({ type: "udp4", reuseAddr: where.reuse, lookup: literalAddress });
    const onBindError = (error: Error) => {
      socket.close();
      reject(explainDhcpBindError(error, `${where.address}:${where.port}`));
    };
    socket.once("error", onBindError);
    socket.bind({ address: where.address, port: where.port }, () => {
      socket.off("error", onBindError);
      // Once bound, the only errors are replies that could not be sent.
      socket.on("error", onSendError);
      socket.setBroadcast(true);
      try {
        socket.setRecvBufferSize(RECEIVE_BUFFER);
      } catch {
        // The default buffer works, it only drops sooner in a storm.
      }
      resolve(socket);
    });
  });
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

/** Bind failures the operator can fix, said in DHCP's terms. */
export function explainDhcpBindError(error: unknown, where: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "EACCES")
    return new OperatorError(`cannot serve DHCP on ${where}: permission denied`, {
      hint: "DHCP needs ports 67 and 4011 (below 1024) and broadcasts: run as root, or grant CAP_NET_BIND_SERVICE (setcap cap_net_bind_service=+ep on the airstrap executable, or AmbientCapabilities= in its systemd unit)",
    });
  if (code === "EADDRINUSE")
    return new OperatorError(`cannot serve DHCP on ${where}: another DHCP server already holds the port`, {
      hint: "stop the other server (dnsmasq, isc-dhcp-server, systemd-networkd's DHCP server) on this machine; proxy mode works beside the site's DHCP server only when that runs on another machine",
    });
  if (code === "EADDRNOTAVAIL")
    return new OperatorError(`cannot serve DHCP on ${where}: the address is not on this machine`, {
      hint: "set serverAddress to this machine's address on the PXE network",
    });
  return error;
}
