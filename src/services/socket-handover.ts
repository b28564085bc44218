import type { Socket as UdpSocket } from "node:dgram";
import type { Server } from "node:net";

/**
 * Listening sockets that outlive the process that opened them: a process about to be replaced by
 * a newer executable passes its listening sockets to the new process (as inherited file
 * descriptors), which serves on them before the old one stops, so no query or connection finds
 * the port closed (see executable-handover.ts). Each place that binds asks `listenTarget` first
 * and `adopt`s what it bound; only listeners in this registry are handed over.
 */
export type SocketKind = "tcp" | "udp";

/** The environment variable that tells a new process which descriptors it inherited, and for what. */
export const INHERITED_SOCKETS_ENV = "AIRSTRAP_INHERITED_SOCKETS";

export interface InheritedSocket {
  kind: SocketKind;
  address: string;
  port: number;
  fd: number;
}

const keyOf = (kind: SocketKind, address: string, port: number) => `${kind} ${address} ${port}`;

let inherited: Map<string, number> | undefined;
const live = new Map<string, Server | UdpSocket>();

function inheritedSockets(): Map<string, number> {
  if (inherited) return inherited;
  inherited = new Map();
  const text = process.env[INHERITED_SOCKETS_ENV];
  // Read once and removed: the processes this one starts must not think they inherited them too.
  delete process.env[INHERITED_SOCKETS_ENV];
  if (!text) return inherited;
  for (const socket of JSON.parse(text) as InheritedSocket[]) {
    inherited.set(keyOf(socket.kind, socket.address, socket.port), socket.fd);
  }
  return inherited;
}

/** `{ fd }` when this process inherited a socket for that endpoint (each is taken once), else the options as given. */
export function listenTarget<T extends object>(
  kind: SocketKind,
  address: string,
  port: number,
  options: T,
): T | { fd: number } {
  const sockets = inheritedSockets();
  const key = keyOf(kind, address, port);
  const fd = sockets.get(key);
  if (fd === undefined || port === 0) return options;
  sockets.delete(key);
  return { fd };
}

/** Registers a bound listener for a later hand-over; it leaves the registry when it closes. */
export function adopt(kind: SocketKind, address: string, port: number, listener: Server | UdpSocket): void {
  const key = keyOf(kind, address, port);
  live.set(key, listener);
  listener.once("close", () => {
    if (live.get(key) === listener) live.delete(key);
  });
}

/**
 * The descriptor behind a listener. Node has no public accessor for it; its handles carry `fd`
 * on Unix (a net.Server's `_handle`, a dgram socket's handle in its state object).
 */
function descriptorOf(listener: Server | UdpSocket): number | undefined {
  const server = listener as unknown as { _handle?: { fd?: number } };
  if (server._handle?.fd !== undefined) return server._handle.fd;
  for (const symbol of Object.getOwnPropertySymbols(listener)) {
    const state = (listener as unknown as Record<symbol, { handle?: { fd?: number } } | undefined>)[symbol];
    if (typeof state?.handle?.fd === "number") return state.handle.fd;
  }
  return undefined;
}

/** Every adopted listener with its descriptor, in a stable order: what a new process is handed. */
export function handoverSockets(): Array<Omit<InheritedSocket, "fd"> & { parentFd: number }> {
  const sockets: Array<Omit<InheritedSocket, "fd"> & { parentFd: number }> = [];
  for (const [key, listener] of [...live].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [kind, address, port] = key.split(" ") as [SocketKind, string, string];
    const fd = descriptorOf(listener);
    if (fd !== undefined && fd >= 0) sockets.push({ kind, address, port: Number(port), parentFd: fd });
  }
  return sockets;
}
