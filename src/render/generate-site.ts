import { DEFAULT_IMAGE_REPOSITORY, imageTagFor } from "../image/image-config.js";
import { findNodeBinary } from "../install/install.js";
import type { Plan } from "../plan/types.js";
import { runningAsSingleExecutable } from "../single-executable.js";
import { generateToken, type StateDir } from "../state/state-dir.js";
import { VERSION } from "../version.js";
import { renderHostFiles } from "./host-files.js";
import { renderKustomizeFolder } from "./in-cluster/kustomize.js";
import { inClusterObjects } from "./in-cluster/objects.js";
import { renderPxeFolder } from "./pxe/pxe-folder.js";
import { writeGeneratedTree } from "./write-tree.js";

export interface GeneratedSite {
  /** Files written. */
  count: number;
  /** The executable PXE hosts fetch, when one was found (its SHA-256 is then pinned in their Ignition). */
  executable?: string;
}

/**
 * `airstrap generate`: every host's files, the in-cluster Kustomize folder and, with PXE, the
 * Matchbox folder, written as one tree
 * (replaced whole). `airstrap serve` writes the same tree for the boot services to serve.
 */
export async function generateSite(options: {
  plan: Plan;
  state: StateDir;
  manifestDir: string;
  outputDir: string;
  templates?: string;
  nodeBinary?: string;
  /** PXE hosts must get an executable: refuse to go on without one instead of leaving it unpinned. */
  requireExecutable?: boolean;
  /** The manifest as written: the in-cluster ConfigMap carries it. */
  manifestText: string;
}): Promise<GeneratedSite> {
  const { plan, state } = options;
  const token = await state.ensureSecret("token", generateToken);
  const files = renderHostFiles(plan, { token });
  const executable = plan.pxe
    ? findExecutable(plan.distro.arch, options.nodeBinary, options.requireExecutable === true)
    : undefined;
  const pxeFiles = await renderPxeFolder({
    plan,
    token,
    state,
    manifestDir: options.manifestDir,
    ...(options.templates === undefined ? {} : { templates: options.templates }),
    ...(executable === undefined ? {} : { executable }),
  });
  const inCluster = renderKustomizeFolder(
    inClusterObjects({
      plan,
      manifestText: options.manifestText,
      image: `${DEFAULT_IMAGE_REPOSITORY}:${imageTagFor(VERSION)}`,
    }),
  );
  const count = await writeGeneratedTree(options.outputDir, plan, files, [...pxeFiles, ...inCluster]);
  return { count, ...(executable === undefined ? {} : { executable }) };
}

/** The executable hosts will fetch, if one is here to hash; an explicit one (or a required one) must exist. */
function findExecutable(arch: string, given: string | undefined, required: boolean): string | undefined {
  try {
    return findNodeBinary(arch, given, runningAsSingleExecutable());
  } catch (error) {
    if (given !== undefined || required) throw error;
    return undefined;
  }
}
