import { setTimeout as sleep } from "node:timers/promises";
import { shellQuote } from "../hosts/shell.js";
import { formatEndpoint } from "../net/endpoint.js";
import { AIRSTRAP_PATHS } from "../plan/distro-paths.js";
import type { PlannedHost } from "../plan/types.js";

/** Each host passes the carried files on to at most this many others. */
export const RELAY_FANOUT = 2;
/**
 * How long a host waits for its parent's relay before it fetches from the bootstrap machine. The
 * parent first fetches the executable the relay runs from, so on a slow link this is a while; a
 * parent that fails settles at once, so the bound only matters should something hang.
 */
const PARENT_WAIT_MS = 120_000;
export const RELAY_UNIT = "airstrap-relay";

/**
 * Who fetches the carried files (the executable, the release files) from whom: the bootstrap machine serves the first `fanout` hosts
 * and every host serves the next `fanout` (a k-ary tree in the plan's order, servers first). So
 * the bootstrap link carries each file `fanout` times whatever the number of hosts, each host's
 * link at most `fanout` + 1 times, and a host that fails or stalls costs only its own subtree a
 * fall-back to the bootstrap machine.
 */
export function relayTree(hosts: readonly string[], fanout = RELAY_FANOUT): Map<string, string | undefined> {
  const parents = new Map<string, string | undefined>();
  for (const [i, host] of hosts.entries()) {
    // Position i + 1 in a heap whose root (position 0) is the bootstrap machine.
    const parent = Math.floor(i / fanout) - 1;
    parents.set(host, parent < 0 ? undefined : hosts[parent]);
  }
  return parents;
}

/** The files a relay offers (the executable and the release files), where the host puts them. */
export interface RelayedFile {
  sha256: string;
  size: number;
  path: string;
}

/**
 * The relay, as install runs it on a host: a transient systemd unit (stopped at the end of the
 * install, and by systemd after an hour should install never get to stop it).
 */
export function relayStartCommand(
  host: PlannedHost,
  port: number,
  allowedNetworks: readonly string[],
  files: readonly RelayedFile[],
): string {
  const args = [
    AIRSTRAP_PATHS.binary,
    "relay",
    "--listen",
    formatEndpoint({ address: host.address, port }),
    ...allowedNetworks.flatMap((cidr) => ["--allow", cidr]),
    ...files.flatMap((f) => ["--file", `${f.sha256}:${f.size}:${f.path}`]),
  ];
  // Type=notify: systemd-run returns once the relay listens, so no child is refused and made to wait.
  const properties = ["Type=notify", "NotifyAccess=all", "TimeoutStartSec=30", "RuntimeMaxSec=3600"];
  return [
    // --collect: a failed relay leaves no unit behind, so only a running one can be in the way.
    `systemctl stop ${RELAY_UNIT} 2>/dev/null`,
    `systemd-run --quiet --unit=${RELAY_UNIT} --collect ${properties.map((p) => `--property=${p}`).join(" ")} ${args.map(shellQuote).join(" ")}`,
  ].join("\n");
}

export const relayStopCommand = `systemctl stop ${RELAY_UNIT} 2>/dev/null; true`;

/**
 * The tree for one install, and who has started serving: a host asks for its parent's relay and
 * waits (a bounded time) until that parent has started it or given up.
 */
export class RelayPlan {
  private readonly parents: Map<string, string | undefined>;
  private readonly started = new Map<string, { promise: Promise<boolean>; resolve: (up: boolean) => void }>();
  /** Hosts whose relay was started, to stop at the end of the install. */
  readonly running = new Set<string>();
  /** Hosts that could not fetch from their parent's relay and no longer ask it. */
  private readonly avoiding = new Set<string>();

  constructor(
    hosts: readonly PlannedHost[],
    readonly port: number,
    fanout = RELAY_FANOUT,
  ) {
    this.parents = relayTree(
      hosts.map((h) => h.name),
      fanout,
    );
    for (const host of hosts) {
      let resolve!: (up: boolean) => void;
      const promise = new Promise<boolean>((r) => {
        resolve = r;
      });
      this.started.set(host.name, { promise, resolve });
    }
  }

  /** The host could not fetch from its parent's relay: it stops asking. */
  avoid(host: string): void {
    this.avoiding.add(host);
  }

  children(host: string): string[] {
    return [...this.parents].filter(([, parent]) => parent === host).map(([child]) => child);
  }

  /** Whether this host's relay is up (true) or will not be (false); waiters are released either way. */
  settle(host: string, up: boolean): void {
    if (up) this.running.add(host);
    this.started.get(host)?.resolve(up);
  }

  parentOf(host: string): string | undefined {
    return this.parents.get(host);
  }

  /** Waits (a bounded time) until the host's parent has started its relay or given up; true when it serves. */
  async parentUp(host: string, waitMs = PARENT_WAIT_MS): Promise<boolean> {
    const parent = this.parents.get(host);
    const started = parent === undefined || this.avoiding.has(host) ? undefined : this.started.get(parent);
    if (!started) return false;
    const timer = new AbortController();
    try {
      return await Promise.race([started.promise, sleep(waitMs, false, { signal: timer.signal })]);
    } finally {
      timer.abort();
    }
  }
}
