/** kubectl against a cluster, arguments after the kubeconfig/context: what the helpers below run. */
export type Kubectl = (args: string[]) => Promise<string>;

/**
 * Plays kustomize-controller for one stage: its Kustomization's status Ready (or not) for the
 * current generation at `revision` (`main@sha1:<commit>`), written through the status subresource
 * with real kubectl, as the controller would.
 */
export async function setKustomizationStatus(
  kubectl: Kubectl,
  stage: string,
  revision: string,
  ready: "True" | "False",
  reason: string,
  message: string,
): Promise<void> {
  const generation = Number(
    await kubectl(["-n", "flux-system", "get", "kustomization", stage, "-o", "jsonpath={.metadata.generation}"]),
  );
  const status = {
    observedGeneration: generation,
    lastAttemptedRevision: revision,
    ...(ready === "True" ? { lastAppliedRevision: revision } : {}),
    conditions: [{ type: "Ready", status: ready, reason, message, lastTransitionTime: "2026-12-07T00:00:00Z" }],
  };
  await kubectl([
    "-n",
    "flux-system",
    "patch",
    "kustomization",
    stage,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({ status }),
  ]);
}

/** Every container image of flux-system's Deployments, sorted. */
export async function fluxDeploymentImages(kubectl: Kubectl): Promise<string[]> {
  const images = await kubectl([
    "-n",
    "flux-system",
    "get",
    "deployments",
    "-o",
    "jsonpath={.items[*].spec.template.spec.containers[*].image}",
  ]);
  return images.split(" ").sort();
}
