import { OperatorError } from "../errors.js";
import type { Events } from "../events.js";
import type { StateDir } from "../state/state-dir.js";
import {
  entryNamesHost,
  formatKnownHostsLine,
  hostKeyAlgorithmsFor,
  type KnownHostsEntry,
  keyTypeLabel,
  keyTypeOfBlob,
  knownHostsName,
  parseKnownHosts,
  sha256Fingerprint,
} from "./known-hosts-format.js";

export const KNOWN_HOSTS_FILE = "known_hosts";

/** Who is being checked: the manifest name (for messages and events) and where it is reached. */
export interface HostIdentity {
  name: string;
  address: string;
  port: number;
}

export interface PinnedKey {
  keyType: string;
  fingerprint: string;
  hashed: boolean;
}

/**
 * Host keys pinned in the state dir's `known_hosts` on first contact (trust on first use) and
 * checked on every later connection. A changed key is never accepted silently.
 */
export interface KnownHosts {
  readonly path: string;
  /** Resolves when `key` is the pinned key (pinning it if the host has none); throws OperatorError if it changed. */
  verify(host: HostIdentity, key: Buffer): Promise<void>;
  /** The host-key algorithms to offer first, so a host pinned with an RSA key is not asked for its ED25519 key. */
  preferredAlgorithms(address: string, port: number): Promise<string[]>;
  pinned(address: string, port: number): Promise<PinnedKey[]>;
  /** Removes every pin of that address and port; returns how many lines were removed. */
  forget(address: string, port: number): Promise<number>;
}

export function openKnownHosts(state: StateDir, events: Events): KnownHosts {
  // One writer at a time inside this process; each write re-reads the file so pins made meanwhile are kept.
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };

  const entriesFor = async (address: string, port: number): Promise<KnownHostsEntry[]> => {
    const name = knownHostsName(address, port);
    const text = (await state.read(KNOWN_HOSTS_FILE)) ?? "";
    return parseKnownHosts(text).filter((entry) => entry.marker !== "cert-authority" && entryNamesHost(entry, name));
  };

  return {
    path: state.file(KNOWN_HOSTS_FILE),

    verify: (host, key) =>
      serialized(async () => {
        const keyType = keyTypeOfBlob(key);
        const encoded = key.toString("base64");
        const fingerprint = sha256Fingerprint(key);
        const entries = await entriesFor(host.address, host.port);
        const same = entries.filter((entry) => entry.keyType === keyType && entry.key === encoded);
        if (same.some((entry) => entry.marker === "revoked")) throw keyChanged(host, fingerprint, "is revoked");
        if (same.length > 0) return;
        if (entries.length > 0) throw keyChanged(host, fingerprint, "changed");

        const text = (await state.read(KNOWN_HOSTS_FILE)) ?? "";
        const line = formatKnownHostsLine(knownHostsName(host.address, host.port), keyType, encoded);
        await state.write(KNOWN_HOSTS_FILE, `${text}${text === "" || text.endsWith("\n") ? "" : "\n"}${line}\n`);
        events.emit({
          level: "info",
          kind: "host.key.pinned",
          host: host.name,
          message: `${host.name}: pinned SSH host key ${keyTypeLabel(keyType)} ${fingerprint} (${knownHostsName(host.address, host.port)})`,
          detail: { address: host.address, port: host.port, keyType, fingerprint },
        });
      }),

    async preferredAlgorithms(address, port) {
      const entries = await entriesFor(address, port);
      const types = [...new Set(entries.filter((e) => e.marker === undefined).map((e) => e.keyType))];
      return types.flatMap(hostKeyAlgorithmsFor);
    },

    async pinned(address, port) {
      const entries = await entriesFor(address, port);
      return entries
        .filter((entry) => entry.marker === undefined)
        .map((entry) => ({
          keyType: entry.keyType,
          fingerprint: sha256Fingerprint(Buffer.from(entry.key, "base64")),
          hashed: entry.hosts.startsWith("|1|"),
        }));
    },

    forget: (address, port) =>
      serialized(async () => {
        const text = await state.read(KNOWN_HOSTS_FILE);
        if (text === undefined) return 0;
        const name = knownHostsName(address, port);
        const drop = new Set(
          parseKnownHosts(text)
            .filter((entry) => entryNamesHost(entry, name))
            .map((entry) => entry.line),
        );
        if (drop.size === 0) return 0;
        const kept = text.split("\n").filter((_, line) => !drop.has(line));
        await state.write(KNOWN_HOSTS_FILE, kept.join("\n"));
        return drop.size;
      }),
  };
}

function keyChanged(host: HostIdentity, fingerprint: string, what: "changed" | "is revoked"): OperatorError {
  return new OperatorError(
    `host ${host.name} (${knownHostsName(host.address, host.port)}): SSH host key ${what} — it now presents ${fingerprint}, which does not match the key pinned in the state dir's known_hosts. Someone may be intercepting the connection, or the machine was reinstalled.`,
    { hint: `if the machine was reinstalled, run: airstrap hosts forget ${host.name}` },
  );
}
