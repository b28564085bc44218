import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { customOsCatalog, ipxeCatalog } from "../../src/artifacts/boot-catalog.js";
import { pullBootFiles } from "../../src/artifacts/pull-boot-files.js";
import { silentEvents } from "../../src/events.js";
import { openBlobStore } from "../../src/store/blob-store.js";
import type { PxeNetwork } from "../peers/pxe-network.js";
import { waitForOutput } from "../peers/pxe-network.js";
import { REPO, tempDir } from "./cli.js";

const TSX = import.meta.resolve("tsx");

export const PXE_SITE_MAC = "52:54:00:5e:00:11";
export const PXE_SITE_KERNEL = "lab/vmlinuz";
export const PXE_SITE_INITRD = "lab/initrd.img";

export interface PxeSite {
  dir: string;
  manifest: string;
  /** The state dir, with the artifact store (OS files and iPXE) in it. */
  stateDir: string;
  /** A stand-in for the airstrap executable the hosts fetch. */
  nodeBinary: string;
}

/**
 * A one-server PXE site for the boot services' tests: manifest, SSH key, random stand-ins for the OS
 * files and Debian's iPXE binaries in the store, and an executable to hand out. `stateDir` puts the
 * state dir elsewhere than beside the manifest (as a container's mount would).
 */
export async function pxeSite(
  t: TestContext,
  dhcp: "full" | "proxy",
  subnet: string,
  options: { stateDir?: string } = {},
): Promise<PxeSite> {
  const dir = await tempDir(t, "airstrap-pxe-serve-");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "id_ed25519")]);
  const osDir = join(dir, "os");
  await mkdir(join(osDir, "lab"), { recursive: true });
  await writeFile(join(osDir, PXE_SITE_KERNEL), randomBytes(300_000));
  await writeFile(join(osDir, PXE_SITE_INITRD), randomBytes(500_000));
  const nodeBinary = join(dir, "airstrap-linux-amd64");
  await writeFile(nodeBinary, "#!/bin/sh\necho stand-in executable\n", { mode: 0o755 });
  const manifest = join(dir, "cluster.yaml");
  await writeFile(
    manifest,
    `apiVersion: airstrap.io/v1alpha1
kind: Cluster
metadata: { name: boot }
spec:
  domain: boot.lan
  distro: { name: k3s, version: v1.31.4+k3s1 }
  ssh: { user: root, identityFile: ./id_ed25519 }
  bootstrap: { address: ${subnet}.1 }
  hosts:
    - { name: srv-1, address: ${subnet}.11, role: server, mac: "${PXE_SITE_MAC}" }
  provisioning:
    pxe:
      interface: eth0
      subnet: ${subnet}.0/24
      dhcp: ${dhcp}
      os: { kernel: ${PXE_SITE_KERNEL}, initrd: [${PXE_SITE_INITRD}], args: [console=ttyS0] }
`,
  );
  const stateDir = options.stateDir ?? join(dir, ".airstrap");
  const store = await openBlobStore(join(stateDir, "store"));
  for (const catalog of [
    customOsCatalog({ arch: "amd64", kernel: PXE_SITE_KERNEL, initrd: [PXE_SITE_INITRD], source: osDir }),
    ipxeCatalog({ arch: "amd64" }),
  ])
    await pullBootFiles({ store, catalog, events: silentEvents });
  return { dir, manifest, stateDir, nodeBinary };
}

export interface ServeProcess {
  /** What serve printed on stderr so far (e.g. the status page's URL). */
  stderr(): string;
  events(): { kind: string; host?: string; message: string; detail?: Record<string, unknown> }[];
  child: ReturnType<PxeNetwork["spawn"]>;
}

/** airstrap from source (through tsx), or the single-file executable when one is given. */
export const airstrapCommand = (executable?: string) =>
  executable ? [executable] : [process.execPath, "--import", TSX, join(REPO, "src/cli/main.ts")];

export async function startServe(
  network: PxeNetwork,
  site: PxeSite,
  options: { prefix?: string[]; executable?: string; args?: string[] } = {},
): Promise<ServeProcess> {
  const child = network.spawn("boot", [
    ...(options.prefix ?? []),
    ...airstrapCommand(options.executable),
    "serve",
    "-f",
    site.manifest,
    "--output",
    "json",
    "--node-binary",
    site.nodeBinary,
    ...(options.args ?? []),
  ]);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await waitForOutput(child, /"serve\.ready"/, 60_000);
  return {
    child,
    stderr: () => stderr,
    events: () =>
      output
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line)),
  };
}
