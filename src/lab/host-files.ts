import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCommand } from "./exec.js";

export interface HostFilesInput {
  name: string;
  address: string;
  prefixLength: number;
  bootstrapAddress: string;
  domain?: string;
  authorizedKeys: string[];
  sshUser: string;
  sshPort: number;
}

/** systemd-networkd config for the host's one link: a static address, no gateway (no way out). */
export function renderNetworkFile(input: HostFilesInput): string {
  return [
    "# airstrap lab (simulated site): this host's only link. No gateway: the site has no way out.",
    "[Match]",
    "Name=host0",
    "",
    "[Network]",
    `Address=${input.address}/${input.prefixLength}`,
    "LinkLocalAddressing=no",
    "IPv6AcceptRA=no",
    "ConfigureWithoutCarrier=yes",
    "IgnoreCarrierLoss=yes",
    "",
    "[Route]",
    `Destination=${input.bootstrapAddress}/32`,
    "Scope=link",
    "",
  ].join("\n");
}

/** The bootstrap machine answers DNS for the site until the node-local DNS servers take over. */
export function renderResolvConf(input: HostFilesInput): string {
  const lines = ["# airstrap lab (simulated site)"];
  if (input.domain) lines.push(`search ${input.domain}`);
  lines.push(`nameserver ${input.bootstrapAddress}`, "");
  return lines.join("\n");
}

export function renderHostsFile(input: HostFilesInput): string {
  const fqdn = input.domain ? `${input.name}.${input.domain} ` : "";
  return `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${fqdn}${input.name}\n`;
}

/**
 * Writes the folder bind-mounted read-only at /etc/airstrap-lab in the host's container, with a
 * freshly generated SSH host key; returns the host key's public line.
 */
export async function writeHostFiles(dir: string, input: HostFilesInput): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const key = join(dir, "ssh_host_ed25519_key");
  await runCommand(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `root@${input.name}`, "-f", key]);
  await chmod(key, 0o600);
  await writeFile(join(dir, "host0.network"), renderNetworkFile(input), { mode: 0o644 });
  await writeFile(join(dir, "resolv.conf"), renderResolvConf(input), { mode: 0o644 });
  await writeFile(join(dir, "hosts"), renderHostsFile(input), { mode: 0o644 });
  await writeFile(join(dir, "ssh-user"), `${input.sshUser}\n`, { mode: 0o644 });
  await writeFile(join(dir, "ssh-port"), `${input.sshPort}\n`, { mode: 0o644 });
  await writeFile(join(dir, "authorized_keys"), `${input.authorizedKeys.join("\n")}\n`, { mode: 0o600 });
  return (await readFile(`${key}.pub`, "utf8")).trim();
}
