import type { PlannedPxe, PlannedPxeHost } from "../../plan/types.js";

/**
 * The systemd-networkd file for the interface with the host's MAC. With dhcp: proxy the site's
 * DHCP server does not know the host's planned address, so it is written here; with dhcp: full
 * airstrap's reservation hands out that address, and the client identifies itself by MAC (the
 * initramfs and the booted root would otherwise send different client ids and get two leases).
 * DNS is the node's own airstrap DNS server, as install sets it for hosts it reaches over SSH.
 */
export function renderNetworkConfig(pxe: PlannedPxe, host: PlannedPxeHost, domain: string): string {
  const match = ["[Match]", `MACAddress=${host.mac}`, ""];
  if (host.network === "dhcp")
    return [...match, "[Network]", "DHCP=ipv4", "", "[DHCPv4]", "ClientIdentifier=mac", ""].join("\n");
  const prefix = pxe.subnet.split("/")[1];
  return [
    ...match,
    "[Network]",
    `Address=${host.address}/${prefix}`,
    ...(pxe.gateway === undefined ? [] : [`Gateway=${pxe.gateway}`]),
    `DNS=${host.address}`,
    `Domains=${domain}`,
    "",
  ].join("\n");
}
