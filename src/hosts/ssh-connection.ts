import type { Duplex } from "node:stream";
import type { AgentAuthMethod, ClientChannel, PublicKeyAuthMethod, SFTPWrapper } from "ssh2";
import ssh2 from "ssh2";
import type { Events } from "../events.js";
import { TransientHostError } from "./host.js";
import type { KnownHosts } from "./known-hosts.js";
import { knownHostsName } from "./known-hosts-format.js";
import { connectError, operationError, type SshErrorContext } from "./ssh-errors.js";

export interface SshConnectionSettings {
  /** The manifest's host name (or the bastion's label): what messages, events and pins are about. */
  name: string;
  address: string;
  port: number;
  user: string;
  /** Computed on first connect, so a missing key file is reported when the host is used, not when listed. */
  auth: () => Promise<Array<PublicKeyAuthMethod | AgentAuthMethod>>;
  knownHosts: KnownHosts;
  /** Reach the host through this connection (a bastion / jump host) with a direct-tcpip channel. */
  via?: SshConnection;
  events: Events;
  keepaliveIntervalMs?: number;
  readyTimeoutMs?: number;
  /** For a bastion: close once the last tunnel through it closes (it reopens when needed again). */
  closeWhenUnused?: boolean;
}

/** sshd's MaxSessions defaults to 10 per connection; stay below it (the SFTP session takes one). */
const MAX_SESSIONS = 8;
const SESSION_OPEN_ATTEMPTS = 5;
const HOST_KEY_ALGORITHMS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
];

interface Live {
  client: ssh2.Client;
  /** Rejects with a TransientHostError when this connection drops. */
  dropped: Promise<never>;
  sftp?: Promise<SFTPWrapper>;
}

/**
 * One SSH connection per host, opened on first use, kept alive, shared by every command and
 * transfer to that host (sessions are multiplexed on it), and opened again after a drop.
 */
export class SshConnection {
  readonly context: SshErrorContext;
  #live: Live | undefined;
  #connecting: Promise<Live> | undefined;
  #slotsFree = MAX_SESSIONS;
  #waiting: Array<() => void> = [];
  #tunnels = 0;

  constructor(readonly settings: SshConnectionSettings) {
    this.context = {
      label: `host ${settings.name} (${settings.address}:${settings.port})`,
      name: settings.name,
      user: settings.user,
    };
  }

  /**
   * Opens a session running `command`; at most MAX_SESSIONS run at once, the rest wait their turn.
   * `attach` runs synchronously as the channel opens: ssh2 may deliver the command's exit and close
   * in the same packet batch as the open confirmation, before any awaiting code would see them.
   */
  async exec<T>(
    command: string,
    attach: (channel: ClientChannel) => T,
  ): Promise<{ attached: T; dropped: Promise<never> }> {
    await this.#acquire();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#release();
    };
    try {
      for (let attempt = 1; ; attempt++) {
        const live = await this.#connection();
        try {
          const attached = await this.#guard(
            live,
            new Promise<T>((resolve, reject) =>
              live.client.exec(command, (error, channel) => {
                if (error) return reject(error);
                channel.once("close", release);
                resolve(attach(channel));
              }),
            ),
            "starting a command",
          );
          live.dropped.catch(release);
          return { attached, dropped: live.dropped };
        } catch (error) {
          // sshd counts a closed session against MaxSessions until it has reaped it, so a refused
          // session on a live connection is retried a few times after a short pause.
          const refusedSession = /channel open failure/i.test(String((error as Error).cause ?? error));
          if (!refusedSession || attempt === SESSION_OPEN_ATTEMPTS || this.#live !== live) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        }
      }
    } catch (error) {
      release();
      throw error;
    }
  }

  async sftp(): Promise<{ sftp: SFTPWrapper; dropped: Promise<never> }> {
    const live = await this.#connection();
    live.sftp ??= this.#guard(
      live,
      new Promise<SFTPWrapper>((resolve, reject) =>
        live.client.sftp((error, sftp) => {
          if (error) return reject(error);
          sftp.on("close", () => {
            live.sftp = undefined;
          });
          resolve(sftp);
        }),
      ),
      "starting SFTP",
    );
    live.sftp.catch(() => {
      live.sftp = undefined;
    });
    return { sftp: await live.sftp, dropped: live.dropped };
  }

  /** A TCP stream to address:port opened from the far side of this connection (for a host behind it). */
  async forwardOut(address: string, port: number): Promise<Duplex> {
    // Counted from the start, so a tunnel being opened keeps a bastion from closing under it.
    this.#tunnels++;
    const release = () => {
      this.#tunnels--;
      if (this.#tunnels === 0 && this.settings.closeWhenUnused) void this.close();
    };
    try {
      const live = await this.#connection();
      const stream = await this.#guard(
        live,
        new Promise<Duplex>((resolve, reject) =>
          live.client.forwardOut("127.0.0.1", 0, address, port, (error, stream) =>
            error ? reject(error) : resolve(stream),
          ),
        ),
        `opening a tunnel to ${address}:${port}`,
      );
      stream.once("close", release);
      return stream;
    } catch (error) {
      release();
      throw error;
    }
  }

  /** Session slots bound how many commands run at once on this connection. */
  async #acquire(): Promise<void> {
    if (this.#slotsFree > 0) {
      this.#slotsFree--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#slotsFree++;
  }

  async close(): Promise<void> {
    const live = this.#live;
    this.#live = undefined;
    if (!live) return;
    await new Promise<void>((resolve) => {
      live.client.once("close", () => resolve());
      live.client.end();
      setTimeout(resolve, 2000).unref();
    });
  }

  /** Rejects as soon as the connection drops, so no operation waits forever on a dead link. */
  async #guard<T>(live: Live, work: Promise<T>, what: string): Promise<T> {
    try {
      return await Promise.race([work, live.dropped]);
    } catch (error) {
      throw operationError(error, this.context, what);
    }
  }

  #connection(): Promise<Live> {
    if (this.#live) return Promise.resolve(this.#live);
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #connect(): Promise<Live> {
    const { settings, context } = this;
    let sock: Duplex | undefined;
    try {
      const auth = await settings.auth();
      sock = settings.via ? await settings.via.forwardOut(settings.address, settings.port) : undefined;
      const pinned = await settings.knownHosts.preferredAlgorithms(settings.address, settings.port);
      const algorithms = [...new Set([...pinned, ...HOST_KEY_ALGORITHMS])];
      const client = new ssh2.Client();
      let keyProblem: unknown;
      let ready = false;
      let rejectDropped: (error: Error) => void = () => {};
      const dropped = new Promise<never>((_, reject) => {
        rejectDropped = reject;
      });
      dropped.catch(() => undefined);

      const live = await new Promise<Live>((resolve, reject) => {
        client.on("ready", () => {
          ready = true;
          // Recorded at once, so a drop right after the handshake is seen by the close handler below.
          const live = { client, dropped };
          this.#live = live;
          resolve(live);
        });
        client.on("error", (error) => {
          if (!ready) reject(keyProblem ?? error);
        });
        client.on("close", () => {
          rejectDropped(new TransientHostError(`${context.label}: SSH connection lost`, settings.name));
          if (!ready)
            reject(
              keyProblem ??
                new TransientHostError(`${context.label}: connection closed during the SSH handshake`, settings.name),
            );
          if (this.#live?.client === client) {
            this.#live = undefined;
            settings.events.emit({
              level: "debug",
              kind: "host.disconnected",
              host: settings.name,
              message: `${settings.name}: SSH connection closed`,
            });
          }
        });
        client.connect({
          host: settings.address,
          port: settings.port,
          username: settings.user,
          ...(sock === undefined ? {} : { sock }),
          authHandler: auth,
          algorithms: { serverHostKey: algorithms as ssh2.ServerHostKeyAlgorithm[] },
          keepaliveInterval: settings.keepaliveIntervalMs ?? 10_000,
          keepaliveCountMax: 3,
          readyTimeout: settings.readyTimeoutMs ?? 20_000,
          hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
            settings.knownHosts
              .verify({ name: settings.name, address: settings.address, port: settings.port }, key)
              .then(
                () => verify(true),
                (error: unknown) => {
                  keyProblem = error;
                  verify(false);
                },
              );
          },
        } as ssh2.ConnectConfig);
      });
      settings.events.emit({
        level: "debug",
        kind: "host.connected",
        host: settings.name,
        message: `${settings.name}: connected as ${settings.user} to ${knownHostsName(settings.address, settings.port)}${settings.via ? ` via ${settings.via.settings.name}` : ""}`,
        detail: {
          address: settings.address,
          port: settings.port,
          user: settings.user,
          ...(settings.via ? { via: settings.via.settings.name } : {}),
        },
      });
      return live;
    } catch (error) {
      // A tunnel through a bastion that led to a failed login is closed, so the bastion can close too.
      sock?.destroy();
      throw connectError(error, context);
    }
  }
}
