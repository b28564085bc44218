import { OperatorError } from "../errors.js";
import { runCommand } from "./exec.js";
import { hostMachine, type LabNames } from "./names.js";

/**
 * The site's network: a namespace holding a bridge with no uplink and no route out, and one veth
 * pair whose host end carries the bootstrap address so this machine reaches the site.
 */
export interface SiteNetwork {
  names: LabNames;
  bootstrapAddress: string;
  /** The site's subnets (CIDR) this machine routes into the link. */
  subnets: string[];
}

const ip = (...args: string[]) => runCommand(["ip", ...args]);
const ipQuiet = (...args: string[]) => runCommand(["ip", ...args], { allowFailure: true });

export async function namespaceExists(netns: string): Promise<boolean> {
  const { stdout } = await ipQuiet("-j", "netns", "list");
  if (stdout.trim() === "") return false;
  return (JSON.parse(stdout) as { name: string }[]).some((entry) => entry.name === netns);
}

export async function linkExists(name: string, netns?: string): Promise<boolean> {
  const args = netns ? ["-n", netns, "link", "show", name] : ["link", "show", name];
  return (await ipQuiet(...args)).code === 0;
}

/** Refuses to build a site whose addresses this machine already uses elsewhere. */
export async function checkAddressesFree(site: SiteNetwork): Promise<void> {
  const { stdout } = await ip("-j", "-4", "addr", "show");
  const interfaces = JSON.parse(stdout) as { ifname: string; addr_info?: { local: string }[] }[];
  for (const entry of interfaces) {
    if (entry.ifname === site.names.hostLink) continue;
    if (entry.addr_info?.some((info) => info.local === site.bootstrapAddress)) {
      throw new OperatorError(
        `the bootstrap address ${site.bootstrapAddress} is already on interface ${entry.ifname} of this machine`,
        {
          hint: "the lab puts the bootstrap address on its own link; pick a spec.bootstrap.address (and host addresses) in a private range this machine does not use, or run lab down for the lab that holds it",
        },
      );
    }
  }
  for (const subnet of site.subnets) {
    const { stdout: routes } = await ip("-j", "-4", "route", "show", "exact", subnet);
    const taken = (JSON.parse(routes || "[]") as { dev?: string }[]).find((route) => route.dev !== site.names.hostLink);
    if (taken) {
      throw new OperatorError(`this machine already routes ${subnet} through ${taken.dev ?? "another route"}`, {
        hint: "the lab's hosts need a range this machine does not already reach; choose other host addresses in the manifest",
      });
    }
  }
}

export async function createSiteNetwork(site: SiteNetwork): Promise<void> {
  const { netns, bridge, hostLink, siteLink } = site.names;
  if (!(await namespaceExists(netns))) await ip("netns", "add", netns);
  await ip("-n", netns, "link", "set", "lo", "up");
  if (!(await linkExists(bridge, netns))) {
    await ip("-n", netns, "link", "add", bridge, "type", "bridge", "stp_state", "0", "forward_delay", "0");
  }
  await ip("-n", netns, "link", "set", bridge, "up");
  if (!(await linkExists(hostLink))) {
    await ip("link", "add", hostLink, "type", "veth", "peer", "name", siteLink, "netns", netns);
  }
  await ip("-n", netns, "link", "set", siteLink, "master", bridge, "up");
  await ipQuiet("addr", "add", `${site.bootstrapAddress}/32`, "dev", hostLink);
  await ip("link", "set", hostLink, "up");
  for (const subnet of site.subnets) {
    await ip("route", "replace", subnet, "dev", hostLink, "src", site.bootstrapAddress);
  }
}

/** Removes the link (its routes go with it) and the namespace; absent pieces are fine. */
export async function removeSiteNetwork(names: LabNames): Promise<void> {
  if (await linkExists(names.hostLink)) await ipQuiet("link", "del", names.hostLink);
  if (await namespaceExists(names.netns)) await ip("netns", "del", names.netns);
}

/** Cuts a host off the site (and from this machine) by unplugging its link from the bridge. */
export async function setHostAttached(names: LabNames, index: number, attached: boolean): Promise<void> {
  const bridgeLink = await hostLinkName(names, index);
  if (!(await linkExists(bridgeLink, names.netns))) return;
  if (attached) await ip("-n", names.netns, "link", "set", bridgeLink, "master", names.bridge);
  else await ip("-n", names.netns, "link", "set", bridgeLink, "nomaster");
}

/** Whether the host's link is plugged into the bridge; undefined when the host has no link. */
export async function hostAttached(names: LabNames, index: number): Promise<boolean | undefined> {
  const bridgeLink = await hostLinkName(names, index);
  const { code, stdout } = await ipQuiet("-n", names.netns, "-j", "link", "show", bridgeLink);
  if (code !== 0) return undefined;
  const [link] = JSON.parse(stdout) as { master?: string }[];
  return link?.master === names.bridge;
}

/** The host's end on the bridge: nspawn's veth for a container, the tap for a VM. */
async function hostLinkName(names: LabNames, index: number): Promise<string> {
  const { bridgeLink, tap } = hostMachine(names, index);
  return (await linkExists(tap, names.netns)) ? tap : bridgeLink;
}
