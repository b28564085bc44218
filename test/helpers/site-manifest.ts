/**
 * A small cluster manifest as an object (stringify it for a file): one rke2 server at 10.77.0.11
 * unless `spec` says otherwise; `spec` is merged over that.
 */
export function siteManifest(spec: Record<string, unknown> = {}, name = "site") {
  return {
    apiVersion: "airstrap.io/v1alpha1",
    kind: "Cluster",
    metadata: { name },
    spec: {
      domain: `${name}.lan`,
      distro: { name: "rke2", version: "v1.31.4+rke2r1" },
      hosts: [{ name: "k8s-server-01", address: "10.77.0.11", role: "server" }],
      ...spec,
    },
  };
}
