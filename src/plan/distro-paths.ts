import type { DistroName } from "../manifest/defaults.js";

/** Where each distro keeps its files on a node (as documented by RKE2 and K3s). */
export const DISTRO_PATHS: Record<
  DistroName,
  {
    configDir: string;
    config: string;
    registries: string;
    nodeToken: string;
    kubeconfig: string;
    imagesDir: string;
    /** Servers apply every file here at start and on change: the offline way the distro deploys its own parts. */
    manifestsDir: string;
  }
> = {
  rke2: {
    configDir: "/etc/rancher/rke2",
    config: "/etc/rancher/rke2/config.yaml",
    registries: "/etc/rancher/rke2/registries.yaml",
    nodeToken: "/var/lib/rancher/rke2/server/node-token",
    kubeconfig: "/etc/rancher/rke2/rke2.yaml",
    imagesDir: "/var/lib/rancher/rke2/agent/images",
    manifestsDir: "/var/lib/rancher/rke2/server/manifests",
  },
  k3s: {
    configDir: "/etc/rancher/k3s",
    config: "/etc/rancher/k3s/config.yaml",
    registries: "/etc/rancher/k3s/registries.yaml",
    nodeToken: "/var/lib/rancher/k3s/server/token",
    kubeconfig: "/etc/rancher/k3s/k3s.yaml",
    imagesDir: "/var/lib/rancher/k3s/agent/images",
    manifestsDir: "/var/lib/rancher/k3s/server/manifests",
  },
};

/** Where airstrap itself lives on a node. */
export const AIRSTRAP_PATHS = {
  binary: "/usr/local/bin/airstrap",
  configDir: "/etc/airstrap",
  plan: "/etc/airstrap/plan.json",
  siteCa: "/etc/airstrap/site-ca.crt",
  nodeUnit: "/etc/systemd/system/airstrap-node.service",
  registryUnit: "/etc/systemd/system/airstrap-registry.service",
  registryRoot: "/var/lib/airstrap/registry",
  registryCert: "/etc/airstrap/registry/server.crt",
  registryKey: "/etc/airstrap/registry/server.key",
  registryPushToken: "/etc/airstrap/registry/push-token",
} as const;
