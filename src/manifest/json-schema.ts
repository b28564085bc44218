import { z } from "zod";
import { API_VERSION, clusterManifestSchema } from "./schema.js";

/**
 * The JSON Schema of cluster.yaml, generated from the same definition the validator uses, plus
 * the two cross-field rules JSON Schema can express (at least one server; the version suffix of
 * the chosen distro). Uniqueness of host names and addresses, network overlaps and identity files
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
  return {
    ...schema,
    $id: `https://airstrap.io/schemas/${API_VERSION}/cluster.json`,
    title: "airstrap Cluster manifest",
  };
}

interface JsonObject {
  properties: Record<string, unknown>;
  [key: string]: unknown;
}
