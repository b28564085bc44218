import { join } from "node:path";
import { OperatorError } from "../errors.js";
import type { Arch } from "../manifest/defaults.js";
import { PXE_ASSETS } from "../plan/pxe.js";
import { artifactSource } from "./catalog.js";
import type { FetchableFile, FileSetKey } from "./fetch-file.js";

/**
 * What a PXE site carries besides the distro: the OS its machines boot (Flatcar's PXE kernel and
 * initramfs, verified against Flatcar's signatures) and the iPXE binaries the firmware chains to.
 */
export interface BootFile extends FetchableFile {
  role: "kernel" | "initrd" | "root-image" | "bios-nbp" | "uefi-nbp";
  /** The detached OpenPGP signature over this file, when the publisher signs it. */
  signature?: FetchableFile;
}

export interface BootCatalog {
  set: FileSetKey;
  files: BootFile[];
  /** The publisher's key; the pinned fingerprint is what is trusted, not where the file came from. */
  signingKey?: { file: FetchableFile; fingerprint: string };
}

/** The Flatcar Image Signing Key ("Flatcar Buildbot (Official Builds)"), as Flatcar publishes it. */
export const FLATCAR_SIGNING_KEY = {
  name: "Flatcar_Image_Signing_Key.asc",
  url: "https://www.flatcar.org/security/image-signing-key/Flatcar_Image_Signing_Key.asc",
  fingerprint: "F88CFEDEFF29A5B4D9523864E25D9AED0593B34A",
};

export const FLATCAR_PXE_KERNEL = PXE_ASSETS.flatcarKernel;
export const FLATCAR_PXE_INITRD = PXE_ASSETS.flatcarInitrd;

export type FlatcarChannel = "stable" | "beta" | "alpha" | "lts";

export interface FlatcarRequest {
  channel: FlatcarChannel;
  version: string;
  arch: Arch;
  /**
   * A mirror standing for `https://<channel>.release.flatcar-linux.net/<arch>-usr` (files at
   * `<source>/<version>/<file>`, the key at `<source>/Flatcar_Image_Signing_Key.asc`), or a local
   * folder holding the files and the key by their upstream names.
   */
  source?: string;
  baseDir?: string;
  /** Another pinned key, for a site that builds and signs its own Flatcar images. */
  fingerprint?: string;
}

/** Flatcar's PXE kernel and initramfs for one version, each with its `.sig`, and the signing key. Pure. */
export function flatcarCatalog(request: FlatcarRequest): BootCatalog {
  const { channel, version, arch } = request;
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    throw new OperatorError(`Flatcar version "${version}" is not a release version`, {
      hint: 'name an exact version like 4081.2.0 ("current" moves, and a site needs the same bytes every time)',
    });
  }
  const source = sourceLocator(
    request.source ?? `https://${channel}.release.flatcar-linux.net/${arch}-usr`,
    request.baseDir,
    version,
  );
  const signed = (name: string, role: BootFile["role"]): BootFile => ({
    name,
    role,
    location: source.file(name),
    verification: "signature",
    signature: { name: `${name}.sig`, location: source.file(`${name}.sig`), verification: "pinned" },
  });
  return {
    set: { distro: "flatcar", version, arch },
    files: [signed(FLATCAR_PXE_KERNEL, "kernel"), signed(FLATCAR_PXE_INITRD, "initrd")],
    signingKey: {
      file: {
        name: FLATCAR_SIGNING_KEY.name,
        location: request.source === undefined ? FLATCAR_SIGNING_KEY.url : source.key(FLATCAR_SIGNING_KEY.name),
        verification: "pinned",
      },
      fingerprint: request.fingerprint ?? FLATCAR_SIGNING_KEY.fingerprint,
    },
  };
}

/** Debian's `ipxe` package puts its network boot programs here. */
export const DEBIAN_IPXE_DIR = "/usr/lib/ipxe";
export const IPXE_BIOS_NBP = "undionly.kpxe";
export const IPXE_UEFI_NBP = "ipxe.efi";

/**
 * The iPXE binaries BIOS and UEFI firmware chain to, from a folder (Debian's `ipxe` package by
 * default) or a mirror URL. Nothing publishes sums for them, so they are pinned on the first pull:
 * a later pull that finds other bytes under the same name is refused. Pure.
 */
export function ipxeCatalog(request: { arch: Arch; source?: string; baseDir?: string }): BootCatalog {
  if (request.arch !== "amd64") {
    throw new OperatorError(`no iPXE binaries for ${request.arch}: airstrap boots amd64 machines over PXE`, {
      hint: "boot arm64 machines another way, or leave them out of spec.provisioning.pxe",
    });
  }
  const source = sourceLocator(request.source ?? DEBIAN_IPXE_DIR, request.baseDir);
  const file = (name: string, role: BootFile["role"]): BootFile => ({
    name,
    role,
    location: source.file(name),
    verification: "pinned",
  });
  return {
    set: { distro: "ipxe", version: "1", arch: request.arch },
    files: [file(IPXE_BIOS_NBP, "bios-nbp"), file(IPXE_UEFI_NBP, "uefi-nbp")],
  };
}

/** The store's set for the files of an OS of one's own, named as the manifest names them. */
export const CUSTOM_OS_SET = { distro: "boot-files", version: "1" } as const;

/**
 * An OS of one's own: its kernel, initrd files and live root image, by the names the manifest
 * gives them (`debian/vmlinuz`), fetched from `source` (a folder or mirror holding them under
 * those names) and pinned on the first pull. Without a source they must already be in the store
 * (the lab puts the image it builds there). Pure.
 */
export function customOsCatalog(request: {
  arch: Arch;
  kernel: string;
  initrd: string[];
  rootImage?: string;
  source?: string;
  baseDir?: string;
}): BootCatalog {
  const source = request.source === undefined ? undefined : sourceLocator(request.source, request.baseDir);
  const file = (name: string, role: BootFile["role"]): BootFile => ({
    name,
    role,
    location: source ? source.key(name) : "",
    verification: "pinned",
  });
  return {
    set: { ...CUSTOM_OS_SET, arch: request.arch },
    files: [
      file(request.kernel, "kernel"),
      ...request.initrd.map((name) => file(name, "initrd")),
      ...(request.rootImage === undefined ? [] : [file(request.rootImage, "root-image")]),
    ],
  };
}

/** Every file a boot catalog carries, signatures and key included, in a stable order. */
export function bootCatalogFiles(catalog: BootCatalog): FetchableFile[] {
  return [
    ...(catalog.signingKey ? [catalog.signingKey.file] : []),
    ...catalog.files.flatMap((file) => (file.signature ? [file, file.signature] : [file])),
  ];
}

function sourceLocator(source: string, baseDir: string | undefined, version?: string) {
  const where = artifactSource(source, baseDir, "boot artifact source");
  if (where.kind === "http") {
    return {
      file: (name: string) => `${where.base}/${version === undefined ? "" : `${version}/`}${encodeURIComponent(name)}`,
      key: (name: string) => `${where.base}/${name.split("/").map(encodeURIComponent).join("/")}`,
    };
  }
  return { file: (name: string) => join(where.dir, name), key: (name: string) => join(where.dir, name) };
}
