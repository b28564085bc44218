import { OperatorError } from "../errors.js";
import type { ClusterManifest } from "../manifest/defaults.js";
import { enclosingSiteNetwork, parseAddress } from "../net/ip.js";
import { isValidLabName } from "./names.js";

/** What the lab needs to know to build a site: taken from the manifest, nothing else. */
export interface LabSpec {
  name: string;
  domain?: string;
  bootstrapAddress: string;
  hosts: LabHostSpec[];
  /** The distro the lab's release mirror serves a SIMULATED release of. */
  distro?: { name: "rke2" | "k3s"; version: string; arch: "amd64" | "arm64" };
}

export interface LabHostSpec {
  name: string;
  address: string;
  role: "server" | "agent";
  /** The account and port the manifest's SSH settings use: the lab creates the account (with sudo) and listens there. */
  sshUser: string;
  sshPort: number;
  /**
   * A machine with no OS that boots from the network (a qemu VM): the manifest's hosts with a
   * `mac` when spec.provisioning.pxe is set, exactly the hosts a plan boots over PXE.
   */
  pxe?: { mac: string };
}

export const LAB_PREFIX_LENGTH = 24;

/** The /24 networks the hosts live in; the bootstrap machine routes each into the site. */
export function labSubnets(spec: LabSpec): string[] {
  return [...new Set(spec.hosts.map((host) => enclosingSiteNetwork(host.address)))];
}

export function labSpecFromManifest(manifest: ClusterManifest, file: string): LabSpec {
  if (!manifest.bootstrapAddress) {
    throw new OperatorError(`${file}: spec.bootstrap.address is missing; the lab needs it`, {
      hint: "set spec.bootstrap.address to the address this machine should have inside the site, e.g. 10.77.0.1 beside hosts in 10.77.0.0/24",
    });
  }
  const spec: LabSpec = {
    name: manifest.name,
    domain: manifest.domain,
    bootstrapAddress: manifest.bootstrapAddress,
    distro: manifest.distro,
    hosts: manifest.hosts.map((host) => ({
      name: host.name,
      address: host.address,
      role: host.role,
      sshUser: host.ssh.user,
      sshPort: host.ssh.port,
      ...(manifest.pxe && host.mac ? { pxe: { mac: host.mac } } : {}),
    })),
  };
  checkLabSpec(spec, file);
  return spec;
}

export function checkLabSpec(spec: LabSpec, where: string): void {
  if (!isValidLabName(spec.name)) {
    throw new OperatorError(`${where}: metadata.name "${spec.name}" cannot name a lab`, {
      hint: "the lab names its network namespace after metadata.name: use 1-32 lower-case letters, digits and dashes",
    });
  }
  const addresses = [spec.bootstrapAddress, ...spec.hosts.map((host) => host.address)];
  for (const address of addresses) {
    const parsed = parseAddress(address);
    if (parsed?.family !== 4 || !isPrivateIpv4(parsed.value)) {
      throw new OperatorError(`${where}: ${address} is not a private IPv4 address; the lab only builds private sites`, {
        hint: "use addresses from 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 for the bootstrap address and every host",
      });
    }
  }
  const seen = new Set<string>();
  for (const address of addresses) {
    if (seen.has(address)) {
      throw new OperatorError(`${where}: address ${address} is used twice (bootstrap address and hosts must differ)`, {
        hint: "give every host and the bootstrap machine an address of its own",
      });
    }
    seen.add(address);
  }
  for (const host of spec.hosts) {
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(host.sshUser)) {
      throw new OperatorError(
        `${where}: host ${host.name}: SSH user "${host.sshUser}" cannot be created as an account`,
        {
          hint: "use a lower-case account name such as root or airstrap",
        },
      );
    }
  }
  if (spec.hosts.length === 0) {
    throw new OperatorError(`${where}: spec.hosts is empty; the lab has nothing to start`, {
      hint: "list the hosts of the site under spec.hosts",
    });
  }
}

function isPrivateIpv4(value: bigint): boolean {
  const first = Number(value >> 24n);
  const second = Number((value >> 16n) & 0xffn);
  return first === 10 || (first === 172 && second >= 16 && second <= 31) || (first === 192 && second === 168);
}
