import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer, isIPv6, type Server, type Socket } from "node:net";
import type { Events } from "../../events.js";
import { formatEndpoint } from "../../net/endpoint.js";
import { adopt, listenTarget } from "../socket-handover.js";
import type { DnsEndpoint } from "./config.js";
import type { HandlerResult } from "./handler.js";
import type { DnsMetrics, Transport } from "./metrics.js";

/** UDP and TCP listeners (RFC 7766: length-prefixed, pipelined, idle timeout) around a query handler. */

export type Handle = (
  message: Buffer,
  local: string,
  listenerKey: string,
  remote: string,
  transport: Transport,
) => HandlerResult;

export interface DnsListener {
  endpoint: DnsEndpoint;
  /** Actual "addr:port" bound (port resolved when 0 was asked for). */
  bound: DnsEndpoint;
  /** The UDP socket, which worker processes share (see worker-pool.ts). */
  udp: UdpSocket;
  listenerKey: string;
  close(): Promise<void>;
}

/** Told of an error a UDP socket reports after binding; the listener keeps serving. */
export type UdpErrorReport = (error: Error, listener: string) => void;

/**
 * Counts every UDP error after binding and tells the operator of the 1st, 2nd, 4th, 8th …: a
 * reply the kernel refuses to send (a firewall rule, a spoofed unreachable source) may repeat
 * per query, and the log must not grow with the query rate.
 */
export function reportUdpErrors(metrics: DnsMetrics, events: Events): UdpErrorReport {
  return (error, listener) => {
    metrics.udpErrors += 1;
    const count = metrics.udpErrors;
    if ((count & (count - 1)) !== 0) return;
    events.emit({
      level: "warn",
      kind: "dns.udp.error",
      service: "dns",
      message: `DNS UDP listener ${listener}: ${error.message} (${count} UDP error${count === 1 ? "" : "s"} so far; it keeps serving)`,
      detail: { code: (error as NodeJS.ErrnoException).code, count },
    });
  };
}

/** Queries one TCP connection may have in progress before we stop reading from it. */
const MAX_PENDING_PER_CONNECTION = 64;
const MAX_TCP_CONNECTIONS = 1024;

/** Binds UDP then TCP on the same address and port (the UDP port when 0 was asked for). */
export async function listen(
  endpoint: DnsEndpoint,
  listenerKey: string,
  handle: Handle,
  tcpIdleTimeoutMs: number,
  onUdpError: UdpErrorReport,
): Promise<DnsListener> {
  const udp = await bindUdp(endpoint, listenerKey, handle, onUdpError);
  const port = udp.address().port;
  let tcp: TcpListener;
  try {
    tcp = await bindTcp({ address: endpoint.address, port }, listenerKey, handle, tcpIdleTimeoutMs);
  } catch (error) {
    udp.close();
    throw error;
  }
  return {
    endpoint,
    bound: { address: endpoint.address, port },
    udp,
    listenerKey,
    close: async () => {
      await Promise.all([new Promise<void>((resolve) => udp.close(() => resolve())), tcp.close()]);
    },
  };
}

function bindUdp(
  endpoint: DnsEndpoint,
  listenerKey: string,
  handle: Handle,
  onUdpError: UdpErrorReport,
): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({
      type: isIPv6(endpoint.address) ? "udp6" : "udp4",
      ipv6Only: isIPv6(endpoint.address),
      // Replies go where a query came from, always an IP literal: skip the resolver hop (and its tick) per send.
      lookup: literalAddress,
    });
    const onBindError = (error: Error) => reject(error);
    socket.once("error", onBindError);
    const target = { address: endpoint.address, port: endpoint.port, exclusive: true };
    socket.bind(listenTarget("udp", endpoint.address, endpoint.port, target), () => {
      socket.off("error", onBindError);
      adopt("udp", endpoint.address, socket.address().port, socket);
      try {
        // Room for bursts; the kernel caps it at net.core.rmem_max.
        socket.setRecvBufferSize(4 * 1024 * 1024);
      } catch {
        // Keeping the default buffer is fine.
      }
      serveUdp(socket, listenerKey, handle, onUdpError);
      resolve(socket);
    });
  });
}

/** Answers every datagram on a bound socket (here, or in a worker process that was handed the socket). */
export function serveUdp(socket: UdpSocket, listenerKey: string, handle: Handle, onError: UdpErrorReport): void {
  // Errors after binding (a reply the kernel refused to send) must not kill the listener: counted and told.
  const bound = socket.address();
  const name = formatEndpoint(bound);
  socket.on("error", (error) => onError(error, name));
  // Node reports a refused send only to a send callback, never as an "error" event.
  const sent = (error: Error | null) => {
    if (error) onError(error, name);
  };
  const local = bound.address;
  const localForAnswers = local === "0.0.0.0" || local === "::" ? "" : local;
  const reply = (response: Buffer | undefined, port: number, address: string) => {
    if (response !== undefined) socket.send(response, port, address, sent);
  };
  socket.on("message", (message, remote) => {
    const result = handle(message, localForAnswers, listenerKey, remote.address, "udp");
    if (result instanceof Promise) {
      result.then(
        (response) => reply(response, remote.port, remote.address),
        () => {},
      );
    } else {
      reply(result, remote.port, remote.address);
    }
  });
}

/** A `lookup` that passes IP literals straight through, without the resolver's extra tick. */
export function literalAddress(
  address: string,
  options: unknown,
  callback: (error: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  const family = typeof options === "number" ? options : isIPv6(address) ? 6 : 4;
  callback(null, address, family);
}

interface TcpListener {
  close(): Promise<void>;
}

function bindTcp(
  endpoint: DnsEndpoint,
  listenerKey: string,
  handle: Handle,
  idleTimeoutMs: number,
): Promise<TcpListener> {
  const connections = new Set<Socket>();
  // Half-open: a client may send its queries and shut its side; the answers still go out before we close ours.
  const server: Server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
    connections.add(socket);
    socket.on("close", () => connections.delete(socket));
    serveConnection(socket, listenerKey, handle, idleTimeoutMs);
  });
  server.maxConnections = MAX_TCP_CONNECTIONS;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    const target = { host: endpoint.address, port: endpoint.port, exclusive: true, ipv6Only: isIPv6(endpoint.address) };
    server.listen(listenTarget("tcp", endpoint.address, endpoint.port, target), () => {
      server.off("error", reject);
      adopt("tcp", endpoint.address, endpoint.port, server);
      resolve({
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const socket of connections) socket.destroy();
          }),
      });
    });
  });
}

function serveConnection(socket: Socket, listenerKey: string, handle: Handle, idleTimeoutMs: number): void {
  socket.setTimeout(idleTimeoutMs, () => socket.destroy());
  socket.on("error", () => socket.destroy());
  const local = socket.localAddress ?? "";
  const remote = socket.remoteAddress ?? "";
  let buffered: Buffer = Buffer.alloc(0);
  let pending = 0;
  let clientDone = false;
  socket.on("end", () => {
    clientDone = true;
    if (pending === 0) socket.end();
  });
  const send = (response: Buffer | undefined) => {
    if (response === undefined || socket.destroyed) return;
    const frame = Buffer.allocUnsafe(response.length + 2);
    frame.writeUInt16BE(response.length, 0);
    response.copy(frame, 2);
    socket.write(frame);
  };
  socket.on("data", (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    let offset = 0;
    while (buffered.length - offset >= 2) {
      const size = buffered.readUInt16BE(offset);
      if (buffered.length - offset - 2 < size) break;
      // A copy: the handler may keep the bytes while the connection buffer moves on.
      const message = Buffer.from(buffered.subarray(offset + 2, offset + 2 + size));
      offset += 2 + size;
      const result = handle(message, local, listenerKey, remote, "tcp");
      if (result instanceof Promise) {
        pending += 1;
        if (pending >= MAX_PENDING_PER_CONNECTION) socket.pause();
        result
          .then(send, () => {})
          .finally(() => {
            pending -= 1;
            if (pending < MAX_PENDING_PER_CONNECTION && socket.isPaused()) socket.resume();
            if (clientDone && pending === 0) socket.end();
          });
      } else {
        send(result);
      }
    }
    buffered = offset === buffered.length ? Buffer.alloc(0) : buffered.subarray(offset);
  });
}
