import { type Network, networkContains } from "../../net/ip.js";

/** Whether a peer address (as a socket reports it, IPv4-mapped or not) lies in one of the networks. */
export function clientAllowed(remoteAddress: string | undefined, networks: readonly Network[]): boolean {
  if (remoteAddress === undefined) return false;
  const address = remoteAddress.startsWith("::ffff:") ? remoteAddress.slice("::ffff:".length) : remoteAddress;
  return networks.some((network) => networkContains(network, address));
}
