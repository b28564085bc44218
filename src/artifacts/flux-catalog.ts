import { OperatorError } from "../errors.js";
import { DEFAULT_FLUX_VERSION } from "../manifest/defaults.js";
import { artifactSource, encodeVersion, type ReleaseFile } from "./catalog.js";

export const FLUX_RELEASES = "https://github.com/fluxcd/flux2/releases/download";
export const FLUX_INSTALL_FILE = "install.yaml";

/**
 * The files of a Flux release that a site carries: the goreleaser checksums file and
 * `install.yaml` (every component, CRDs included, as `kustomize build manifests/install`
 * writes it), checked against it. Shaped like a distro's ReleaseCatalog, so the same pull
 * verifies it; the set's arch is "all": the manifests are the same for every architecture
 * (the images they name are pulled for the cluster's).
 */
export interface FluxCatalog {
  distro: "flux";
  version: string;
  arch: "all";
  sumsFile: ReleaseFile;
  installFile: ReleaseFile;
  files: ReleaseFile[];
}

/** Pure. `source`: a mirror base URL standing for FLUX_RELEASES, or a local folder holding the files. */
export function fluxCatalog(request: { version: string; source?: string; baseDir?: string }): FluxCatalog {
  const { version } = request;
  const match = /^v(\d+\.\d+\.\d+(?:-rc\.\d+)?)$/.exec(version);
  if (!match) {
    throw new OperatorError(`Flux version "${version}" is not a release version`, {
      hint: `name a release tag like ${DEFAULT_FLUX_VERSION}`,
    });
  }
  // goreleaser's default name: {{ .ProjectName }}_{{ .Version }}_checksums.txt, Version without the v.
  const sumsName = `flux_${match[1]}_checksums.txt`;
  const locate = fluxLocator(version, request.source, request.baseDir);
  const sumsFile: ReleaseFile = { name: sumsName, role: "sums", location: locate(sumsName), verification: "pinned" };
  const installFile: ReleaseFile = {
    name: FLUX_INSTALL_FILE,
    role: "manifests",
    location: locate(FLUX_INSTALL_FILE),
    verification: "sums",
  };
  return { distro: "flux", version, arch: "all", sumsFile, installFile, files: [sumsFile, installFile] };
}

function fluxLocator(version: string, source: string | undefined, baseDir: string | undefined) {
  if (source === undefined) return (name: string) => `${FLUX_RELEASES}/${encodeVersion(version)}/${name}`;
  const where = artifactSource(source, baseDir, "spec.gitops.flux.source");
  if (where.kind === "http") return (name: string) => `${where.base}/${encodeVersion(version)}/${name}`;
  return (name: string) => `${where.dir}/${name}`;
}
