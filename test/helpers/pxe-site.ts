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

/** A one-server PXE site for `airstrap serve` tests, and serve started in a test network's "boot" namespace. */
const TSX = import.meta.resolve("tsx");
export const SERVER_MAC = "52:54:00:5e:00:11";
export const KERNEL = "lab/vmlinuz";
export const INITRD = "lab/initrd.img";

export interface Site {
  dir: string;
  manifest: string;
}

/** A one-server PXE site: manifest, SSH key, the OS files and iPXE in the store, an executable to hand out. */
export async function pxeSite(t: TestContext, dhcp: "full" | "proxy", subnet: string): Promise<Site> {
  const dir = await tempDir(t, "airstrap-pxe-serve-");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "id_ed25519")]);
  const osDir = join(dir, "os");
  await mkdir(join(osDir, "lab"), { recursive: true });
  await writeFile(join(osDir, KERNEL), randomBytes(300_000));
  await writeFile(join(osDir, INITRD), randomBytes(500_000));
  await writeFile(join(dir, "airstrap-linux-amd64"), "#!/bin/sh\necho stand-in executable\n", { mode: 0o755 });
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
    - { name: srv-1, address: ${subnet}.11, role: server, mac: "${SERVER_MAC}" }
  provisioning:
    pxe:
      interface: eth0
      subnet: ${subnet}.0/24
      dhcp: ${dhcp}
      os: { kernel: ${KERNEL}, initrd: [${INITRD}], args: [console=ttyS0] }
`,
  );
  const store = await openBlobStore(join(dir, ".airstrap", "store"));
  for (const catalog of [
    customOsCatalog({ arch: "amd64", kernel: KERNEL, initrd: [INITRD], source: osDir }),
    ipxeCatalog({ arch: "amd64" }),
  ])
    await pullBootFiles({ store, catalog, events: silentEvents });
  return { dir, manifest };
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
  site: Site,
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
    join(site.dir, "airstrap-linux-amd64"),
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
