import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { silentEvents } from "../../src/events.js";
import { type BuiltImage, buildImage } from "../../src/image/build.js";
import { labUpFromManifest, openLabState } from "../../src/lab/from-manifest.js";
import { labDown, requireLab } from "../../src/lab/lab.js";
import { missingPrerequisites } from "../../src/lab/prerequisites.js";
import { LAB_IDENTITY_FILE, type LabState } from "../../src/lab/state.js";
import type { StateDir } from "../../src/state/state-dir.js";
import { notOnThisMachine } from "../helpers/skip.js";
import { buildSingleExecutable } from "../peers/airstrap-sea.js";
import { sshRun } from "../peers/lab-ssh.js";

/**
 * Why lab tests cannot run here (they SKIP with this), or undefined when they can. Only a lack no
 * package gives (root, Linux, network namespaces) is "not on this machine"; a missing program is
 * fixable, so under CI=true that skip fails the run.
 */
export async function labSkipReason(): Promise<string | undefined> {
  const { problems, packages } = await missingPrerequisites();
  if (problems.length === 0) return undefined;
  const reason = `the lab cannot run here: ${problems.join("; ")}`;
  return packages.length > 0 ? reason : notOnThisMachine(reason);
}

/** How the lab starts its helpers (airstrap lab-distro …) from a test: node + tsx + the same functions. */
export const SELF_COMMAND = [process.execPath, "--import", "tsx", resolve(import.meta.dirname, "lab-distro-entry.ts")];

export interface TestLabHost {
  name: string;
  address: string;
  role: "server" | "agent";
  /** A machine with no OS that boots from the network (the manifest then has spec.provisioning.pxe). */
  mac?: string;
}

export interface TestLab {
  name: string;
  dir: string;
  file: string;
  subnet: string;
  bootstrapAddress: string;
  hosts: TestLabHost[];
  state: StateDir;
  identity: string;
  knownHosts: string;
  lab(): Promise<LabState>;
  ssh(
    host: TestLabHost,
    command: string,
    options?: { input?: Buffer; timeoutMs?: number },
  ): { code: number; stdout: string; stderr: string };
  up(): Promise<void>;
  down(): Promise<void>;
  remove(): Promise<void>;
}

/** A /24 in 10.231.0.0/16 that this machine does not route yet, starting from a per-file seed. */
function freeSubnet(seed: number): string {
  for (let i = 0; i < 240; i++) {
    const subnet = `10.231.${10 + ((seed + i) % 240)}`;
    const routes = spawnSync("ip", ["-4", "route", "show", `${subnet}.0/24`], { encoding: "utf8" }).stdout;
    if (routes.trim() === "") return subnet;
  }
  throw new Error("no free /24 left in 10.231.0.0/16");
}

/**
 * A lab of its own for one test file: a unique name (so its own namespace and links) and a
 * private /24 in 10.231.0.0/16 picked from the PID and a per-file offset.
 */
export async function createTestLab(options: {
  offset: number;
  hosts: Array<{ name: string; role: "server" | "agent"; octet: number; mac?: string }>;
  /** spec.provisioning.pxe extras: the boot services' own address (last octet), kernel arguments after airstrap's, every PXE host's data disk. */
  pxe?: { addressOctet?: number; args?: string[]; dataDisk?: string };
}): Promise<TestLab> {
  const subnet = freeSubnet(process.pid + options.offset * 61);
  const name = `t${options.offset}${process.pid.toString(36)}`;
  const dir = mkdtempSync(join(tmpdir(), "airstrap-lab-test-"));
  const file = join(dir, "cluster.yaml");
  const hosts: TestLabHost[] = options.hosts.map((host) => ({
    name: host.name,
    role: host.role,
    address: `${subnet}.${host.octet}`,
    ...(host.mac ? { mac: host.mac } : {}),
  }));
  const pxe = hosts.some((host) => host.mac)
    ? `  provisioning:
    pxe:
      interface: lab
      subnet: ${subnet}.0/24
      dhcp: full
${options.pxe?.addressOctet === undefined ? "" : `      address: ${subnet}.${options.pxe.addressOctet}\n`}${
  options.pxe?.dataDisk === undefined ? "" : `      dataDisk: ${options.pxe.dataDisk}\n`
}      os: { kernel: debian/vmlinuz, initrd: [debian/initrd.img], rootImage: debian/live.squashfs${
        options.pxe?.args ? `, args: [${options.pxe.args.join(", ")}]` : ""
      } }
`
    : "";
  writeFileSync(
    file,
    `apiVersion: airstrap.io/v1alpha1
kind: Cluster
metadata: { name: ${name} }
spec:
  domain: test.lan
  distro: { name: rke2, version: v1.31.4+rke2r1, arch: amd64 }
  bootstrap: { address: ${subnet}.1 }
  ssh: { user: root, identityFile: .airstrap/lab/id_ed25519 }
  hosts:
${hosts.map((host) => `    - { name: ${host.name}, address: ${host.address}, role: ${host.role}${host.mac ? `, mac: "${host.mac}"` : ""} }`).join("\n")}
${pxe}`,
  );
  const state = await openLabState({ file });
  const knownHosts = join(dir, "known_hosts");
  const testLab: TestLab = {
    name,
    dir,
    file,
    subnet,
    bootstrapAddress: `${subnet}.1`,
    hosts,
    state,
    identity: state.file(LAB_IDENTITY_FILE),
    knownHosts,
    lab: () => requireLab(state),
    ssh: (host, command, options) => sshRun({ address: host.address }, testLab.identity, knownHosts, command, options),
    async up() {
      await labUpFromManifest({ file, events: silentEvents, selfCommand: SELF_COMMAND });
      const lab = await requireLab(state);
      // A machine that boots from the network gets its host key from its boot, not from the lab.
      const pinned = lab.hosts.filter((host) => host.hostKey !== "");
      writeFileSync(knownHosts, `${pinned.map((host) => `${host.address} ${host.hostKey}`).join("\n")}\n`);
    },
    down: async () => void (await labDown(state, silentEvents)),
    async remove() {
      await labDown(state, silentEvents);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return testLab;
}

/**
 * What an install on lab hosts needs from this checkout: the lab build (the hosts' simulated
 * distro runs `airstrap lab-distro`, which the shipped build lacks) and airstrap's image built
 * around it. The caller removes the binary (and the image beside it) with `binary.remove()`.
 */
export async function labBuildWithImage(): Promise<{ binary: { path: string; remove(): void }; image: BuiltImage }> {
  const binary = buildSingleExecutable("src/cli/lab-main.ts");
  const image = await buildImage({
    executable: binary.path,
    out: join(dirname(binary.path), "image"),
    repository: "airstrap/airstrap",
    tag: "lab",
    labels: { version: "lab" },
    architecture: "amd64",
  });
  return { binary, image };
}
