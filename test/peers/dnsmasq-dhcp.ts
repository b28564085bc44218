import type { ChildProcess } from "node:child_process";
import type { PxeNetwork } from "./pxe-network.js";
import { waitForOutput } from "./pxe-network.js";

/**
 * dnsmasq as a DHCP server (DNS off) in one machine of a test's PXE network, in the foreground.
 * `options` are dnsmasq's own long options (dhcp-range, dhcp-host, …) without the leading dashes.
 */
export async function startDnsmasqDhcp(network: PxeNetwork, machine: string, options: string[]): Promise<ChildProcess> {
  const child = network.spawn(machine, [
    "dnsmasq",
    "--keep-in-foreground",
    "--conf-file=/dev/null",
    "--port=0",
    "--interface=eth0",
    "--bind-interfaces",
    "--leasefile-ro",
    "--user=root",
    "--log-facility=-",
    ...options.map((option) => `--${option}`),
  ]);
  await waitForOutput(child, /DHCP, (IP range|proxy on subnet|static leases only)/);
  return child;
}
