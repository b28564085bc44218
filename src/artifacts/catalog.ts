import { isAbsolute, join, resolve } from "node:path";
import { OperatorError } from "../errors.js";
import type { Arch, DistroName } from "../manifest/defaults.js";

export type { Arch, DistroName };

/**
 * How a release file is trusted: by the release's own sums file, by its publisher's OpenPGP
 * signature, or pinned on first pull.
 */
export type Verification = "sums" | "signature" | "pinned";

export interface ReleaseFile {
  /** The upstream file name, kept as is so install.sh finds it under INSTALL_*_ARTIFACT_PATH. */
  name: string;
  /** Where to fetch it: an http(s) URL, or an absolute local path when the source is a folder. */
  location: string;
  role: "sums" | "installer" | "binary" | "images" | "manifests";
  verification: Verification;
}

export interface ReleaseCatalog {
  distro: DistroName;
  version: string;
  arch: Arch;
  /** The `sha256sum-<arch>.txt` entry of `files`. */
  sumsFile: ReleaseFile;
  /** Every file to carry, the sums file first. */
  files: ReleaseFile[];
}

export interface CatalogRequest {
  distro: DistroName;
  version: string;
  arch: Arch;
  /** `artifacts.source`: a mirror base URL replacing `.../releases/download`, or a local folder. */
  source?: string;
  /** Folder relative local sources are resolved against (the manifest's folder). */
  baseDir?: string;
  /**
   * RKE2 only: carry the split core image tarball plus this CNI's instead of the combined
   * `rke2-images` tarball (which holds core + canal).
   */
  rke2Cni?: "canal" | "calico" | "cilium" | "flannel";
}

const RELEASE_SITES: Record<DistroName, { releases: string; installer: string }> = {
  rke2: { releases: "https://github.com/rancher/rke2/releases/download", installer: "https://get.rke2.io" },
  k3s: { releases: "https://github.com/k3s-io/k3s/releases/download", installer: "https://get.k3s.io" },
};

const VERSION_PATTERN: Record<DistroName, RegExp> = {
  rke2: /^v\d+\.\d+\.\d+(-rc\d+)?\+rke2r\d+$/,
  k3s: /^v\d+\.\d+\.\d+(-rc\d+)?\+k3s\d+$/,
};

/** The exact files of one distro release for one architecture, and where each comes from. Pure. */
export function releaseCatalog(request: CatalogRequest): ReleaseCatalog {
  const { distro, version, arch } = request;
  if (!VERSION_PATTERN[distro].test(version)) {
    throw new OperatorError(`${distro} version "${version}" is not a release version`, {
      hint: distro === "rke2" ? "for example v1.31.4+rke2r1" : "for example v1.31.4+k3s1",
    });
  }
  const names = distro === "rke2" ? rke2Files(arch, request.rke2Cni) : k3sFiles(arch);
  const locate = locator(request);
  const files: ReleaseFile[] = names.map(({ name, role }) => ({
    name,
    role,
    location: role === "installer" ? locate.installer() : locate.releaseFile(name),
    // The sums file is the root of trust for the others; it and the unversioned installer are pinned on first pull.
    verification: role === "installer" || role === "sums" ? "pinned" : "sums",
  }));
  return { distro, version, arch, sumsFile: files[0]!, files };
}

function rke2Files(arch: Arch, cni: CatalogRequest["rke2Cni"]): Array<{ name: string; role: ReleaseFile["role"] }> {
  const suffix = `linux-${arch}`;
  const images =
    cni === undefined
      ? [`rke2-images.${suffix}.tar.zst`]
      : [`rke2-images-core.${suffix}.tar.zst`, `rke2-images-${cni}.${suffix}.tar.zst`];
  return [
    { name: `sha256sum-${arch}.txt`, role: "sums" },
    { name: `rke2.${suffix}.tar.gz`, role: "binary" },
    ...images.map((name) => ({ name, role: "images" as const })),
    { name: "install.sh", role: "installer" },
  ];
}

function k3sFiles(arch: Arch): Array<{ name: string; role: ReleaseFile["role"] }> {
  return [
    { name: `sha256sum-${arch}.txt`, role: "sums" },
    { name: arch === "amd64" ? "k3s" : `k3s-${arch}`, role: "binary" },
    { name: `k3s-airgap-images-${arch}.tar.zst`, role: "images" },
    { name: "install.sh", role: "installer" },
  ];
}

/** The release site's path segment for a version: `+` must be sent as %2B (a literal + may become a space). */
export function encodeVersion(version: string): string {
  return encodeURIComponent(version);
}

function locator(request: CatalogRequest) {
  const site = RELEASE_SITES[request.distro];
  const version = encodeVersion(request.version);
  if (request.source === undefined) {
    return {
      releaseFile: (name: string) => `${site.releases}/${version}/${encodeURIComponent(name)}`,
      installer: () => site.installer,
    };
  }
  const source = artifactSource(request.source, request.baseDir, "artifacts.source");
  if (source.kind === "http") {
    return {
      releaseFile: (name: string) => `${source.base}/${version}/${encodeURIComponent(name)}`,
      installer: () => `${source.base}/install.sh`,
    };
  }
  return { releaseFile: (name: string) => join(source.dir, name), installer: () => join(source.dir, "install.sh") };
}

/**
 * Where files come from when not from their publisher: an http(s) mirror base URL (no trailing
 * slash), or a local folder (relative to `baseDir`, the manifest's folder). Pure.
 */
export function artifactSource(
  source: string,
  baseDir: string | undefined,
  setting: string,
): { kind: "http"; base: string } | { kind: "dir"; dir: string } {
  if (/^https?:\/\//.test(source)) return { kind: "http", base: source.replace(/\/+$/, "") };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    throw new OperatorError(`${setting} "${source}" uses an unsupported scheme`, {
      hint: "use an http(s) mirror base URL or a local folder",
    });
  }
  return { kind: "dir", dir: isAbsolute(source) ? source : resolve(baseDir ?? process.cwd(), source) };
}

export function isRemote(file: { location: string }): boolean {
  return /^https?:\/\//.test(file.location);
}
