/** Clients and fixtures shared by the load balancer's socket tests (loopback only). */
import { once } from "node:events";
import net from "node:net";
import { type TestContext, test } from "node:test";
import type { AirstrapEvent, Events } from "../../../src/events.js";
import { type LbConfig, type LbListenerConfig, listenerWithDefaults } from "../../../src/services/lb/config.js";
import { DATA_PATH_ENV, type DataPathKind } from "../../../src/services/lb/proxy/data-path.js";
import type { TestBackend } from "../../peers/tcp-backend.js";

export function split(endpoint: string): { host: string; port: number } {
  const index = endpoint.lastIndexOf(":");
  return { host: endpoint.slice(0, index).replace(/^\[|\]$/g, ""), port: Number(endpoint.slice(index + 1)) };
}

/** A loopback port free a moment ago (for a child process that must be told its port). */
export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export const DATA_PATHS: DataPathKind[] = ["handles", "sockets"];

/**
 * Registers a test once per data path (libuv handles, net.Socket): the load balancers it starts
 * move bytes through that path (AIRSTRAP_LB_DATA_PATH, read when a listener starts).
 */
export function testBothPaths(name: string, run: (t: TestContext, path: DataPathKind) => Promise<void>): void {
  for (const path of DATA_PATHS) {
    test(`${name} [${path}]`, async (t) => {
      const before = process.env[DATA_PATH_ENV];
      process.env[DATA_PATH_ENV] = path;
      try {
        await run(t, path);
      } finally {
        if (before === undefined) delete process.env[DATA_PATH_ENV];
        else process.env[DATA_PATH_ENV] = before;
      }
    });
  }
}

export function lbConfigFor(
  backends: TestBackend[],
  overrides: Partial<Omit<LbListenerConfig, "backends">> & { discovered?: TestBackend[] } = {},
  top: Partial<LbConfig> = {},
): LbConfig {
  const { discovered, ...rest } = overrides;
  const address = (b: TestBackend) => ({ name: b.name, address: b.address, port: b.port });
  return {
    listeners: [
      listenerWithDefaults({
        name: "test",
        address: "127.0.0.1",
        port: 0,
        backends: backends.map(address),
        ...(discovered ? { discovered: discovered.map(address) } : {}),
        ...rest,
      }),
    ],
    drainTimeoutMs: 2000,
    ...top,
  };
}

/** A client connection that collects what it receives, line by line. */
export interface LineClient {
  socket: net.Socket;
  received(): string;
  /** Resolves with the first `count` lines, rejects if the connection ends or closes first. */
  lines(count: number, timeoutMs?: number): Promise<string[]>;
  /** Resolves when the other side has sent FIN. */
  ended: Promise<void>;
  closed: Promise<void>;
}

const openSockets = new Set<net.Socket>();

/** For afterEach: a failed test must not leave a socket that keeps the process alive. */
export function destroyClients(): void {
  for (const socket of openSockets) socket.destroy();
  openSockets.clear();
}

export function openClient(endpoint: string): Promise<LineClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ ...split(endpoint), allowHalfOpen: true });
    openSockets.add(socket);
    socket.once("close", () => openSockets.delete(socket));
    let data = "";
    const listeners = new Set<() => void>();
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      data += chunk;
      for (const listener of listeners) listener();
    });
    const ended = new Promise<void>((r) => socket.once("end", () => r()));
    const closed = new Promise<void>((r) => socket.once("close", () => r()));
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      socket.on("error", () => {});
      resolve({
        socket,
        received: () => data,
        ended,
        closed,
        lines(count, timeoutMs = 5000) {
          return new Promise((resolveLines, rejectLines) => {
            const check = () => {
              const lines = data.split("\n");
              if (lines.length > count) {
                done();
                resolveLines(lines.slice(0, count));
              }
            };
            const timer = setTimeout(
              () => fail(new Error(`timed out waiting for ${count} line(s); got ${JSON.stringify(data)}`)),
              timeoutMs,
            );
            const onClose = () => fail(new Error(`closed after ${JSON.stringify(data)}`));
            const onEnd = () =>
              setImmediate(() => {
                check();
                fail(new Error(`ended (closed by peer) after ${JSON.stringify(data)}`));
              });
            const fail = (error: Error) => {
              done();
              rejectLines(error);
            };
            const done = () => {
              clearTimeout(timer);
              listeners.delete(check);
              socket.off("close", onClose);
              socket.off("end", onEnd);
            };
            listeners.add(check);
            socket.once("close", onClose);
            socket.once("end", onEnd);
            check();
          });
        },
      });
    });
  });
}

/** Connects, reads the backend's greeting (its name), closes. Rejects on any failure or after the timeout. */
export async function greeting(endpoint: string, timeoutMs = 3000): Promise<string> {
  const client = await withTimeout(openClient(endpoint), timeoutMs, "connect");
  try {
    const [name] = await client.lines(1, timeoutMs);
    return name!;
  } finally {
    client.socket.destroy();
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export { waitFor } from "../../helpers/wait-for.js";

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An Events bus that keeps everything, for assertions on what was logged. */
export function recordingEvents(): Events & { log: AirstrapEvent[] } {
  const log: AirstrapEvent[] = [];
  return {
    log,
    emit(input) {
      log.push({ time: new Date().toISOString(), ...input });
    },
    subscribe: () => () => {},
  };
}
