import { OperatorError } from "../errors.js";
import type { Events } from "../events.js";
import type { Plan, PlannedHost } from "../plan/types.js";
import type { StateDir } from "../state/state-dir.js";
import type { Host } from "./host.js";
import { type KnownHosts, openKnownHosts } from "./known-hosts.js";
import { localHost } from "./local-host.js";
import type { SshConnection } from "./ssh-connection.js";
import { sshConnection, sshHost } from "./ssh-host.js";
import { memoizedPassword, type SudoPasswordSource } from "./sudo.js";

export interface HostsFromPlanOptions {
  stateDir: StateDir;
  events: Events;
  /** Folder relative identity files start from: the manifest's. */
  baseDir: string;
  /** The sudo password, or a function that asks for it (called at most once, only if a host needs it). Default: AIRSTRAP_SUDO_PASSWORD. */
  sudoPassword?: string | SudoPasswordSource;
  env?: NodeJS.ProcessEnv;
}

/**
 * One Host per planned host, keyed by name: this machine through the local transport for the host
 * with `connection: local`, every other one over SSH. Nothing connects until a host is used. Hosts
 * behind the same bastion share one connection to it; host keys are pinned in the state dir.
 */
export function hostsFromPlan(plan: Plan, options: HostsFromPlanOptions): Map<string, Host> {
  const env = options.env ?? process.env;
  const knownHosts = openKnownHosts(options.stateDir, options.events);
  const given = options.sudoPassword;
  const sudoPassword = memoizedPassword(
    typeof given === "function" ? given : async () => given ?? env.AIRSTRAP_SUDO_PASSWORD,
  );
  const maxOutputBytes = outputCapFrom(env);
  const cap = maxOutputBytes === undefined ? {} : { maxOutputBytes };
  const bastions = new Map<string, SshConnection>();
  const hosts = new Map<string, Host>();
  for (const planned of plan.hosts) {
    const { ssh } = planned;
    if (planned.connection === "local") {
      hosts.set(
        planned.name,
        localHost({ name: planned.name, sudo: true, sudoPassword, events: options.events, ...cap }),
      );
      continue;
    }
    const via = ssh.bastion === undefined ? undefined : bastionFor(ssh.bastion, bastions, knownHosts, options, env);
    hosts.set(
      planned.name,
      sshHost({
        name: planned.name,
        address: planned.address,
        port: ssh.port,
        user: ssh.user,
        ...(ssh.identityFile === undefined ? {} : { identityFile: ssh.identityFile }),
        sudo: ssh.sudo,
        baseDir: options.baseDir,
        knownHosts,
        ...(via === undefined ? {} : { via }),
        sudoPassword,
        events: options.events,
        env,
        ...cap,
      }),
    );
  }
  return hosts;
}

/** AIRSTRAP_MAX_OUTPUT_MIB: how much of each command's output is kept (docs/hosts.md, Output is capped). */
function outputCapFrom(env: NodeJS.ProcessEnv): number | undefined {
  const text = env.AIRSTRAP_MAX_OUTPUT_MIB;
  if (text === undefined || text === "") return undefined;
  const mebibytes = Number(text);
  if (!Number.isFinite(mebibytes) || mebibytes <= 0)
    throw new OperatorError(`AIRSTRAP_MAX_OUTPUT_MIB is ${JSON.stringify(text)}, not a positive number`, {
      hint: "give the MiB of each command's output to keep, e.g. 8 (the default)",
    });
  return Math.round(mebibytes * 2 ** 20);
}

/** How a bastion is named in messages, events and `airstrap hosts forget`: its address (and port when not 22). */
export function bastionName(bastion: { address: string; port: number }): string {
  return bastion.port === 22 ? bastion.address : `${bastion.address}:${bastion.port}`;
}

function bastionFor(
  bastion: NonNullable<PlannedHost["ssh"]["bastion"]>,
  bastions: Map<string, SshConnection>,
  knownHosts: KnownHosts,
  options: HostsFromPlanOptions,
  env: NodeJS.ProcessEnv,
): SshConnection {
  const key = `${bastion.user}@${bastion.address}:${bastion.port}:${bastion.identityFile ?? ""}`;
  let connection = bastions.get(key);
  if (connection === undefined) {
    connection = sshConnection({
      name: bastionName(bastion),
      address: bastion.address,
      port: bastion.port,
      user: bastion.user,
      ...(bastion.identityFile === undefined ? {} : { identityFile: bastion.identityFile }),
      baseDir: options.baseDir,
      knownHosts,
      events: options.events,
      env,
      closeWhenUnused: true,
    });
    bastions.set(key, connection);
  }
  return connection;
}
