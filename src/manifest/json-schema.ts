import { z } from "zod";
import { API_VERSION, clusterManifestSchema } from "./schema.js";

/**
 * The JSON Schema of cluster.yaml, generated from the same definition the validator uses, plus
 * the cross-field rules JSON Schema can express (at least one server; the version suffix of the
 * chosen distro; the two forms of a PXE OS; a DHCP pool only with dhcp: full). Uniqueness of host names and addresses, network overlaps and identity files
 * are beyond JSON Schema: `airstrap validate` checks those.
 */
export function manifestJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(clusterManifestSchema, { io: "input", target: "draft-2020-12" }) as JsonObject;
  const spec = schema.properties.spec as JsonObject;
  const hosts = spec.properties.hosts as Record<string, unknown>;
  hosts.contains = { type: "object", properties: { role: { const: "server" } }, required: ["role"] };
  spec.allOf = [
    {
      if: { properties: { distro: { properties: { name: { const: "k3s" } } } } },
      // biome-ignore lint/suspicious/noThenProperty: if/then/else are JSON Schema keywords, not a thenable
      then: { properties: { distro: { properties: { version: { pattern: "\\+k3s\\d+$" } } } } },
      else: { properties: { distro: { properties: { version: { pattern: "\\+rke2r\\d+$" } } } } },
    },
  ];
  addPxeRules(spec);
  return {
    ...schema,
    $id: `https://airstrap.io/schemas/${API_VERSION}/cluster.json`,
    title: "airstrap Cluster manifest",
  };
}

/**
 * The OS is either Flatcar (version) or a kernel + initrd of one's own, never both; a dynamic pool
 * only with dhcp: full. Subnet membership and the bootstrap address are left to validate.
 */
function addPxeRules(spec: JsonObject): void {
  const provisioning = spec.properties.provisioning as JsonObject;
  const pxe = provisioning.properties.pxe as JsonObject;
  const os = pxe.properties.os as JsonObject;
  const anyOf = (keys: string[]) => ({ anyOf: keys.map((key) => ({ required: [key] })) });
  os.oneOf = [
    { required: ["version"], not: anyOf(["kernel", "initrd", "rootImage"]) },
    { required: ["kernel", "initrd"], not: anyOf(["name", "channel", "version"]) },
  ];
  pxe.allOf = [
    {
      if: { required: ["pool"] },
      // biome-ignore lint/suspicious/noThenProperty: if/then are JSON Schema keywords, not a thenable
      then: { required: ["dhcp"], properties: { dhcp: { const: "full" } } },
    },
  ];
}

interface JsonObject {
  properties: Record<string, unknown>;
  [key: string]: unknown;
}
