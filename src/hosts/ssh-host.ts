import type { Readable } from "node:stream";
import type { ClientChannel, SFTPWrapper } from "ssh2";
import { type Events, silentEvents } from "../events.js";
import { type Host, TransientHostError } from "./host.js";
import type { KnownHosts } from "./known-hosts.js";
import { authMethods } from "./ssh-auth.js";
import { SshConnection } from "./ssh-connection.js";
import { operationError } from "./ssh-errors.js";
import type { SudoPasswordSource } from "./sudo.js";
import { type RunIo, signalNumber, TIMED_OUT_STATUS, TIMEOUT_GRACE_MS, type Transport } from "./transport.js";
import { TransportHost } from "./transport-host.js";

export interface SshHostOptions {
  name: string;
  address: string;
  port: number;
  user: string;
  identityFile?: string;
  /** Whether `sudo: true` operations use sudo (the manifest's spec.ssh.sudo); root never needs it. */
  sudo: boolean;
  /** Folder that relative identity file paths start from (the manifest's). */
  baseDir: string;
  knownHosts: KnownHosts;
  /** The bastion's connection, when the host is reached through one (see connect.ts). */
  via?: SshConnection;
  sudoPassword?: SudoPasswordSource;
  events?: Events;
  /** Bytes of each command output kept in memory (see output-cap.ts). */
  maxOutputBytes?: number;
  /** Environment for AIRSTRAP_SSH_PASSPHRASE, AIRSTRAP_SUDO_PASSWORD and SSH_AUTH_SOCK (default process.env). */
  env?: NodeJS.ProcessEnv;
  keepaliveIntervalMs?: number;
  readyTimeoutMs?: number;
}

export type SshConnectionOptions = Omit<SshHostOptions, "sudo" | "sudoPassword" | "via"> & {
  events: Events;
  env: NodeJS.ProcessEnv;
  via?: SshConnection;
  closeWhenUnused?: boolean;
};

/** A machine reached over SSH (ssh2): one reused connection, sudo, verified resumable uploads. */
export function sshHost(options: SshHostOptions): Host {
  const events = options.events ?? silentEvents;
  const env = options.env ?? process.env;
  const connection = sshConnection({ ...options, events, env });
  return new TransportHost(new SshTransport(connection), {
    sudo: options.sudo,
    sudoPassword: options.sudoPassword ?? (async () => env.AIRSTRAP_SUDO_PASSWORD),
    events,
    ...(options.maxOutputBytes === undefined ? {} : { maxOutputBytes: options.maxOutputBytes }),
  });
}

/** A connection for a host or a bastion, with its identities resolved on first use. */
export function sshConnection(options: SshConnectionOptions): SshConnection {
  const label = `host ${options.name} (${options.address}:${options.port})`;
  return new SshConnection({
    name: options.name,
    address: options.address,
    port: options.port,
    user: options.user,
    auth: () =>
      authMethods({
        user: options.user,
        ...(options.identityFile === undefined ? {} : { identityFile: options.identityFile }),
        baseDir: options.baseDir,
        env: options.env,
        label,
      }),
    knownHosts: options.knownHosts,
    ...(options.via === undefined ? {} : { via: options.via }),
    events: options.events,
    ...(options.keepaliveIntervalMs === undefined ? {} : { keepaliveIntervalMs: options.keepaliveIntervalMs }),
    ...(options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: options.readyTimeoutMs }),
    ...(options.closeWhenUnused === undefined ? {} : { closeWhenUnused: options.closeWhenUnused }),
  });
}

class SshTransport implements Transport {
  readonly name: string;
  readonly address: string;

  constructor(private readonly connection: SshConnection) {
    this.name = connection.settings.name;
    this.address = connection.settings.address;
  }

  async user(): Promise<string> {
    return this.connection.settings.user;
  }

  async run(command: string, io: RunIo): Promise<number> {
    const { attached: finished, dropped } = await this.connection.exec(command, (channel) => this.#follow(channel, io));
    try {
      return await Promise.race([finished, dropped]);
    } catch (error) {
      throw operationError(error, this.connection.context, "running a command");
    }
  }

  /** Wires a just-opened session to the caller's streams; resolves with its exit status. */
  #follow(channel: ClientChannel, io: RunIo): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      let status: number | undefined;
      let timedOut = false;
      // Backstop only: the command itself runs under timeout(1) (see TransportHost); this covers a stuck link.
      const timer =
        io.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              channel.signal("KILL");
              channel.close();
              resolve(TIMED_OUT_STATUS);
            }, io.timeoutMs + TIMEOUT_GRACE_MS);
      channel.on("exit", (code: number | null, signal?: string) => {
        if (code !== null && code !== undefined) status = code;
        else if (signal !== undefined) status = 128 + signalNumber(signal);
      });
      // Done when the session closed and both outputs were read to their end (a slow sink may lag behind).
      let pending = 3;
      const settle = () => {
        if (--pending > 0) return;
        clearTimeout(timer);
        if (timedOut) resolve(TIMED_OUT_STATUS);
        else if (status !== undefined) resolve(status);
        // Without an exit status the session died with the connection, which `dropped` reports;
        // this covers a server that closes a session without saying how it ended.
        else
          setTimeout(
            () =>
              reject(
                new TransientHostError(
                  `${this.connection.context.label}: the session ended without an exit status`,
                  this.name,
                ),
              ),
            1000,
          ).unref();
      };
      channel.on("close", settle);
      channel.once("end", settle);
      channel.stderr.once("end", settle);
      channel.pipe(io.stdout, { end: false });
      channel.stderr.pipe(io.stderr, { end: false });
      channel.end(io.stdin ?? Buffer.alloc(0));
    });
  }

  async writeAt(path: string, offset: number, source: Readable, onBytes: (count: number) => void): Promise<void> {
    const { sftp, dropped } = await this.connection.sftp();
    try {
      await Promise.race([pipelinedWrite(sftp, path, offset, source, onBytes), dropped]);
    } catch (error) {
      source.destroy();
      throw operationError(error, this.connection.context, `writing ${path}`);
    }
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/** SFTP write requests in flight at once: one at a time would wait a round trip per 32 KiB. */
const WRITES_IN_FLIGHT = 32;

/**
 * Streams `source` into `path` from `offset` with many SFTP write requests in flight (as OpenSSH's
 * sftp does). OpenSSH's sftp-server handles requests in order, so after a cut the file holds a
 * contiguous prefix, which the next attempt resumes from; the SHA-256 check catches anything else.
 * `onBytes` counts acknowledged bytes.
 */
async function pipelinedWrite(
  sftp: SFTPWrapper,
  path: string,
  offset: number,
  source: Readable,
  onBytes: (count: number) => void,
): Promise<void> {
  const handle = await new Promise<Buffer>((resolve, reject) =>
    sftp.open(path, offset === 0 ? "w" : "r+", { mode: 0o600 }, (error, handle) =>
      error ? reject(error) : resolve(handle),
    ),
  );
  let inFlight = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const settled = () => {
    inFlight--;
    wake?.();
  };
  const drainTo = async (limit: number) => {
    while (inFlight > limit && failure === undefined) await new Promise<void>((resolve) => (wake = resolve));
    if (failure) throw failure;
  };
  try {
    let position = offset;
    for await (const chunk of source as AsyncIterable<Buffer>) {
      await drainTo(WRITES_IN_FLIGHT - 1);
      const at = position;
      position += chunk.length;
      inFlight++;
      sftp.write(handle, chunk, 0, chunk.length, at, (error) => {
        if (error) failure ??= error;
        else onBytes(chunk.length);
        settled();
      });
    }
    await drainTo(0);
  } finally {
    await new Promise<void>((resolve) => sftp.close(handle, () => resolve()));
  }
}
