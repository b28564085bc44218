import { type Network, networkContains, unmapIPv4 } from "../../net/ip.js";

/** Whether a peer address (as a socket reports it, IPv4-mapped or not) lies in one of the networks. */
export function clientAllowed(remoteAddress: string | undefined, networks: readonly Network[]): boolean {
  if (remoteAddress === undefined) return false;
  const address = unmapIPv4(remoteAddress);
  return networks.some((network) => networkContains(network, address));
}
