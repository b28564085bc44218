import { type ChildProcess, execFile, spawn } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * A private PXE network for one test: a hub namespace holding a bridge with no uplink, and one
 * namespace per machine attached to it by a veth pair (its end is "eth0"). Addresses exist only
 * inside these namespaces; `remove()` deletes every namespace, and with them the links.
 */
export interface PxeNetwork {
  /** Full namespace name of a machine. */
  ns(machine: string): string;
  /** Runs a command inside a machine's namespace. */
  exec(
    machine: string,
    command: string[],
    options?: { timeoutMs?: number },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  /** The namespace holding the bridge: where a VM's tap lives and its qemu runs. */
  hub: string;
  /** A tap device plugged into the bridge, for a VM. */
  addTap(): Promise<string>;
  /** Starts a long-running command inside a machine's namespace. */
  spawn(machine: string, command: string[], env?: NodeJS.ProcessEnv): ChildProcess;
  remove(): Promise<void>;
}

export const PXE_SUBNET = "10.231.0";

export async function canUseNetns(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return "needs root for network namespaces";
  try {
    await run("ip", ["netns", "list"]);
  } catch {
    return "ip netns is not available";
  }
  return undefined;
}

/** `machines`: name → { address (CIDR, optional), mac (optional) }. */
export async function createPxeNetwork(
  tag: string,
  machines: Record<string, { address?: string; mac?: string; defaultRoute?: boolean }>,
): Promise<PxeNetwork> {
  const prefix = `as-${tag}-${process.pid % 100000}`;
  const hub = `${prefix}-hub`;
  const names = [hub, ...Object.keys(machines).map((m) => `${prefix}-${m}`)];
  const ip = (...args: string[]) => run("ip", args);
  let taps = 0;
  const network: PxeNetwork = {
    ns: (machine) => `${prefix}-${machine}`,
    hub,
    async addTap() {
      const tap = `tap${taps++}`;
      await ip("-n", hub, "tuntap", "add", tap, "mode", "tap");
      await ip("-n", hub, "link", "set", tap, "master", "br0", "up");
      return tap;
    },
    async exec(machine, command, options = {}) {
      try {
        const { stdout, stderr } = await run("ip", ["netns", "exec", network.ns(machine), ...command], {
          timeout: options.timeoutMs ?? 30_000,
          maxBuffer: 64 * 1024 * 1024,
          killSignal: "SIGKILL",
        });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const failed = error as { code?: number | string; stdout?: string; stderr?: string };
        return {
          code: typeof failed.code === "number" ? failed.code : 1,
          stdout: failed.stdout ?? "",
          stderr: failed.stderr ?? "",
        };
      }
    },
    spawn(machine, command, env) {
      return spawn("ip", ["netns", "exec", network.ns(machine), ...command], {
        stdio: ["ignore", "pipe", "pipe"],
        env: env ?? process.env,
      });
    },
    async remove() {
      for (const name of names) await ip("netns", "delete", name).catch(() => undefined);
    },
  };
  try {
    for (const name of names) await ip("netns", "add", name);
    await ip("-n", hub, "link", "add", "br0", "type", "bridge");
    await ip("-n", hub, "link", "set", "br0", "up");
    let index = 0;
    for (const [machine, { address, mac, defaultRoute }] of Object.entries(machines)) {
      const ns = network.ns(machine);
      const hubEnd = `v${index++}`;
      await ip("-n", hub, "link", "add", hubEnd, "type", "veth", "peer", "name", "eth0", "netns", ns);
      await ip("-n", hub, "link", "set", hubEnd, "master", "br0", "up");
      if (mac) await ip("-n", ns, "link", "set", "eth0", "address", mac);
      await ip("-n", ns, "link", "set", "lo", "up");
      await ip("-n", ns, "link", "set", "eth0", "up");
      if (address) await ip("-n", ns, "addr", "add", address, "dev", "eth0");
      // Lets a scripted client broadcast; the bridge has no uplink, so nothing leaves the test's network.
      if (defaultRoute) await ip("-n", ns, "route", "add", "default", "dev", "eth0");
    }
  } catch (error) {
    await network.remove();
    throw error;
  }
  return network;
}

/**
 * A real send fault: `machine`'s kernel refuses every datagram to `address` (a "prohibit" route, so
 * sendto fails with EACCES), while datagrams from it still arrive (reverse-path filtering off).
 */
export async function refuseSendsTo(network: PxeNetwork, machine: string, address: string): Promise<void> {
  for (const setting of ["all", "default", "eth0"]) {
    await network.exec(machine, ["sysctl", "-qw", `net.ipv4.conf.${setting}.rp_filter=0`]);
  }
  const routed = await network.exec(machine, ["ip", "route", "add", "prohibit", `${address}/32`]);
  if (routed.code !== 0) throw new Error(`ip route add prohibit ${address}: ${routed.stderr}`);
}

/** Resolves once `pattern` shows on the child's stderr (or rejects when it exits or `ms` passes). */
export function waitForOutput(child: ChildProcess, pattern: RegExp, ms = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => done(new Error(`no ${pattern} within ${ms} ms; output so far:\n${seen}`)), ms);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) done();
    };
    const onExit = (code: number | null) => done(new Error(`exited (${code}) before ${pattern}:\n${seen}`));
    const done = (error?: Error) => {
      clearTimeout(timer);
      child.stderr?.off("data", onData);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
      if (error) reject(error);
      else resolve(seen);
    };
    child.stderr?.on("data", onData);
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
  });
}
