import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { OperatorError } from "../errors.js";
import { formatEndpoint, parseEndpoint } from "../net/endpoint.js";
import { httpRequest } from "../net/http-client.js";
import { registerSecret } from "../secrets.js";
import type { StateDir } from "../state/state-dir.js";

/**
 * How `airstrap teardown` finds and stops a running `airstrap serve`: a record in the state dir
 * (which process, where its control endpoint listens) and a token only the state dir's owner can
 * read. The control endpoint is on loopback, so it works where a process id does not: `serve` in a
 * container with host networking and the state dir mounted, stopped from the host.
 */
export interface ServeRecord {
  pid: number;
  /** "127.0.0.1:port" of the control endpoint. */
  control: string;
  startedAt: string;
  addresses: string[];
}

export const SERVE_RECORD = "serve.json";
export const SERVE_TOKEN = "serve-token";

export interface ServeControl {
  record: ServeRecord;
  /** Removes the record and the token, and closes the control endpoint. */
  close(): Promise<void>;
}

/** Starts the control endpoint and writes the record; `onStop` runs when teardown asks. */
export async function publishServeRecord(
  state: StateDir,
  addresses: string[],
  onStop: () => void,
): Promise<ServeControl> {
  const running = await readServeRecord(state);
  if (running && (await controlAnswers(state, running))) {
    throw new OperatorError(`airstrap serve is already running for this site (pid ${running.pid})`, {
      hint: "stop it with: airstrap teardown -f cluster.yaml",
    });
  }
  const token = registerSecret(randomBytes(24).toString("base64url"));
  const server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${token}`) return void res.writeHead(401).end();
    if (req.method === "GET" && req.url === "/status") return void res.writeHead(200).end(JSON.stringify(record));
    if (req.method === "POST" && req.url === "/stop") {
      res.writeHead(202).end();
      onStop();
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const record: ServeRecord = {
    pid: process.pid,
    control: `127.0.0.1:${port}`,
    startedAt: new Date().toISOString(),
    addresses,
  };
  await state.write(SERVE_TOKEN, token);
  await state.write(SERVE_RECORD, `${JSON.stringify(record, null, 2)}\n`);
  let closing: Promise<void> | undefined;
  return {
    record,
    close() {
      closing ??= (async () => {
        await removeServeRecord(state);
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closing;
    },
  };
}

export async function readServeRecord(state: StateDir): Promise<ServeRecord | undefined> {
  const text = await state.read(SERVE_RECORD);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as ServeRecord;
  } catch {
    return undefined;
  }
}

export async function removeServeRecord(state: StateDir): Promise<void> {
  await rm(state.file(SERVE_RECORD), { force: true });
  await rm(state.file(SERVE_TOKEN), { force: true });
}

/** Asks the running serve to stop; false when nothing answers there. */
export async function askServeToStop(state: StateDir, record: ServeRecord): Promise<boolean> {
  return (await controlCall(state, record, "POST", "/stop")) === 202;
}

export async function controlAnswers(state: StateDir, record: ServeRecord): Promise<boolean> {
  return (await controlCall(state, record, "GET", "/status")) === 200;
}

async function controlCall(state: StateDir, record: ServeRecord, method: string, path: string): Promise<number> {
  const token = await state.read(SERVE_TOKEN);
  if (token === undefined) return 0;
  registerSecret(token);
  const control = parseEndpoint(record.control, `${state.file(SERVE_RECORD)} control`);
  try {
    const res = await httpRequest(`http://${formatEndpoint(control)}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}` },
      connectTimeoutMs: 2000,
      idleTimeoutMs: 2000,
    });
    res.resume();
    return res.statusCode ?? 0;
  } catch {
    // Nothing listens there (serve is gone, or runs in another network namespace).
    return 0;
  }
}
