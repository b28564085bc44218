import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { promisify } from "node:util";
import { customOsCatalog, ipxeCatalog } from "../../src/artifacts/boot-catalog.js";
import { fluxCatalog } from "../../src/artifacts/flux-catalog.js";
import { pullBootFiles } from "../../src/artifacts/pull-boot-files.js";
import { pullReleaseFiles } from "../../src/artifacts/pull-files.js";
import { silentEvents } from "../../src/events.js";
import { ensureHostKey } from "../../src/hosts/host-keys.js";
import type { BuiltImage } from "../../src/image/build.js";
import { LAB_MIRROR_PORT } from "../../src/lab/mirror-helper.js";
import { newAgeIdentity } from "../../src/sops/age.js";
import { openBlobStore } from "../../src/store/blob-store.js";
import { startReleaseMirror, sumsFileFor } from "../artifacts/release-mirror.js";
import { REPO, runAirstrap } from "../helpers/cli.js";
import { setKustomizationStatus } from "../helpers/flux-kubectl.js";
import { syntheticFluxInstall } from "../helpers/flux-release.js";
import { createTestLab, labBuildWithImage, type TestLab } from "../lab/lab-fixture.js";

/**
 * What the GitOps phase of `up` and `init` needs on a lab site: three stage folders, the stages in
 * the manifest, Flux's (stand-in) install.yaml in the store, an age key, and kubectl playing
 * kustomize-controller through the workstation kubeconfig.
 */
const run = promisify(execFile);
const TSX = import.meta.resolve("tsx");
export const FLUX = "v2.9.4";
export const STAGES = ["bootstrap", "cluster-base-apps", "cluster-apps"] as const;
export const FLUX_IMAGES = {
  "source-controller": "ghcr.io/fluxcd/source-controller:v1.9.4",
  "kustomize-controller": "ghcr.io/fluxcd/kustomize-controller:v1.9.2",
  "helm-controller": "ghcr.io/fluxcd/helm-controller:v1.6.0",
  "notification-controller": "ghcr.io/fluxcd/notification-controller:v1.9.0",
};

/** The stage folders, the stages in the manifest, Flux in the store; returns the age key file and identity. */
export async function stageTheSite(site: TestLab, scope: TestContext): Promise<{ ageKeyFile: string; age: string }> {
  for (const [stage, file, text] of [
    ["bootstrap", "namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: git\n"],
    ["cluster-base-apps", "vault.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: vault\n"],
    ["cluster-apps", "apps.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: apps\ndata:\n  a: '1'\n"],
  ] as const) {
    await mkdir(join(site.dir, "stages", stage), { recursive: true });
    await writeFile(join(site.dir, "stages", stage, file), text);
  }
  const install = Buffer.from(syntheticFluxInstall(FLUX_IMAGES));
  const mirror = await startReleaseMirror(scope, "fluxcd/flux2", FLUX, {
    "install.yaml": install,
    "flux_2.9.4_checksums.txt": sumsFileFor({ "install.yaml": install }),
  });
  await appendFile(
    site.file,
    `  stages:
    - { name: bootstrap, path: stages/bootstrap }
    - { name: cluster-base-apps, path: stages/cluster-base-apps, dependsOn: [bootstrap] }
    - { name: cluster-apps, path: stages/cluster-apps, dependsOn: [cluster-base-apps] }
  gitops:
    flux: { version: ${FLUX}, source: "${mirror.source}" }
`,
  );
  // The connected side's `artifacts pull` of Flux, without its images (no registry reachable here).
  await pullReleaseFiles({
    store: await openBlobStore(join(site.dir, ".airstrap", "store")),
    catalog: fluxCatalog({ version: FLUX, source: mirror.source }),
    events: silentEvents,
  });
  const { identity } = await newAgeIdentity();
  const ageKeyFile = join(site.dir, "age.key");
  await writeFile(ageKeyFile, `# lab key\n${identity}\n`, { mode: 0o600 });
  return { ageKeyFile, age: identity };
}

/**
 * Each lab host takes the SSH host key airstrap made for it in the state dir, as a machine that an
 * earlier `airstrap init` installed over PXE carries it: init pins that key before it connects.
 */
export async function giveHostsAirstrapKeys(site: TestLab): Promise<void> {
  const lines: string[] = [];
  for (const host of site.hosts) {
    const key = await ensureHostKey(site.state, host.name);
    const put = site.ssh(
      host,
      "umask 077 && cat > /etc/ssh/ssh_host_ed25519_key && ssh-keygen -y -f /etc/ssh/ssh_host_ed25519_key > /etc/ssh/ssh_host_ed25519_key.pub && systemctl restart ssh",
      { input: Buffer.from(key.private) },
    );
    if (put.code !== 0) throw new Error(`${host.name}: ${put.stderr}`);
    lines.push(`${host.address} ${key.public}`);
  }
  await writeFile(site.knownHosts, `${lines.join("\n")}\n`);
}

/** The manifest as `init` needs it: every host boots from the network (a mac) on the lab's link. */
export async function bootFromNetwork(site: TestLab, hostLink: string): Promise<void> {
  let text = await readFile(site.file, "utf8");
  for (const [index, host] of site.hosts.entries())
    text = text.replace(
      `{ name: ${host.name}, address: ${host.address}, role: ${host.role} }`,
      `{ name: ${host.name}, address: ${host.address}, role: ${host.role}, mac: "52:54:00:17:00:${(16 + index).toString(16)}" }`,
    );
  await writeFile(
    site.file,
    `${text}  provisioning:
    pxe:
      interface: ${hostLink}
      subnet: ${site.subnet}.0/24
      os: { kernel: lab/vmlinuz, initrd: [lab/initrd.img] }
`,
  );
}

export interface Running {
  child: ChildProcess;
  output: () => string;
  done: Promise<{ code: number; out: string }>;
}

/** The CLI from source in the site's folder; stdout and stderr together, as an operator's terminal shows them. */
export function airstrap(site: TestLab, args: string[], outputs: string[]): Running {
  const child = spawn(process.execPath, ["--import", TSX, join(REPO, "src/cli/main.ts"), ...args], {
    cwd: site.dir,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (chunk) => (out += chunk));
  child.stderr!.on("data", (chunk) => (out += chunk));
  const done = once(child, "close").then(([code]) => {
    outputs.push(out);
    return { code: code as number, out };
  });
  return { child, output: () => out, done };
}

export function kubectl(site: TestLab, args: string[]): Promise<string> {
  const kubeconfig = join(site.dir, ".airstrap", "kubeconfig-workstation");
  const context = `${site.name}@${site.hosts.find((h) => h.role === "server")!.name}`;
  return run("kubectl", ["--kubeconfig", kubeconfig, "--context", context, ...args], { timeout: 60_000 }).then(
    (r) => r.stdout,
  );
}

/** The head of the site repository on the git server (`airstrap git serve -f`'s root). */
export async function siteHead(site: TestLab): Promise<string> {
  const gitDir = join(site.dir, ".airstrap", "git", "repositories", `${site.name}.git`);
  return (await run("git", ["--git-dir", gitDir, "rev-parse", "main"])).stdout.trim();
}

/**
 * A lab site of one server and one agent, up, with the lab build and its image, the hosts holding
 * the SSH host keys airstrap made for them, and the distro's artifacts pulled into the store.
 */
export async function pulledLabSite(
  offset: number,
): Promise<{ site: TestLab; binary: { path: string; remove(): void }; image: BuiltImage }> {
  const site = await createTestLab({
    offset,
    hosts: [
      { name: "srv-1", role: "server", octet: 11 },
      { name: "agt-1", role: "agent", octet: 21 },
    ],
  });
  await appendFile(site.file, `  artifacts: { source: "http://${site.bootstrapAddress}:${LAB_MIRROR_PORT}/rke2" }\n`);
  const { binary, image } = await labBuildWithImage();
  await site.up();
  await giveHostsAirstrapKeys(site);
  const pull = await runAirstrap(["artifacts", "pull", "-f", site.file], { cwd: site.dir });
  if (pull.code !== 0) throw new Error(`artifacts pull: ${pull.stderr}`);
  return { site, binary, image };
}

/** What `init` needs on a site whose machines are up already: stand-in boot files in the store, every host with a mac. */
export async function bootFilesForInit(site: TestLab): Promise<void> {
  const os = join(site.dir, "os");
  await mkdir(join(os, "lab"), { recursive: true });
  await writeFile(join(os, "lab", "vmlinuz"), randomBytes(1000));
  await writeFile(join(os, "lab", "initrd.img"), randomBytes(1000));
  const store = await openBlobStore(join(site.dir, ".airstrap", "store"));
  for (const catalog of [
    customOsCatalog({ arch: "amd64", kernel: "lab/vmlinuz", initrd: ["lab/initrd.img"], source: os }),
    ipxeCatalog({ arch: "amd64" }),
  ])
    await pullBootFiles({ store, catalog, events: silentEvents });
  await bootFromNetwork(site, (await site.lab()).names.hostLink);
}

/** What kustomize-controller writes: Ready (or not) for the current generation at the branch head. */
export async function setStage(site: TestLab, stage: string, ready: "True" | "False", reason: string, message: string) {
  const revision = `main@sha1:${await siteHead(site)}`;
  await setKustomizationStatus((args) => kubectl(site, args), stage, revision, ready, reason, message);
}

/** Polls until `check` holds; a run that ended meanwhile fails at once with its output. */
export async function untilWhileRunning(
  running: Running,
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (running.child.exitCode !== null) throw new Error(`the run ended before ${what}:\n${running.output()}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${running.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
