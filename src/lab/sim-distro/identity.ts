import { hostname, networkInterfaces } from "node:os";
import type { SimNodeConfig } from "./node-config.js";
import type { NodeRegistration } from "./nodes.js";

/** The node's name and address as the real distro picks them: flags first, else hostname and first non-loopback IPv4. */
export function nodeRegistration(config: SimNodeConfig, version: string): NodeRegistration {
  const address =
    config.nodeIp ??
    Object.values(networkInterfaces())
      .flat()
      .find((entry) => entry && entry.family === "IPv4" && !entry.internal)?.address ??
    "127.0.0.1";
  const labels: Record<string, string> = {};
  for (const label of config.nodeLabels) {
    const [key = "", value = ""] = label.split("=");
    if (key) labels[key] = value;
  }
  return {
    name: config.nodeName ?? hostname(),
    address,
    role: config.role,
    labels,
    taints: config.nodeTaints,
    version,
  };
}
