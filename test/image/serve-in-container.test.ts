import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, type TestContext, test } from "node:test";
import { promisify } from "node:util";
import { IPXE_BIOS_NBP } from "../../src/artifacts/boot-catalog.js";
import { type BuiltImage, buildImage } from "../../src/image/build.js";
import { ociArchitecture } from "../../src/image/image-config.js";
import { CAP_NET_BIND_SERVICE, IMAGE_EXECUTABLE, IMAGE_USER } from "../../src/image/rootfs.js";
import { tempDir } from "../helpers/cli.js";
import { PXE_SITE_KERNEL, PXE_SITE_MAC, type PxeSite, pxeSite } from "../helpers/pxe-site.js";
import { notOnThisMachine } from "../helpers/skip.js";
import { buildSingleExecutable } from "../peers/airstrap-sea.js";
import { type Containerd, hasContainerd, startContainerd } from "../peers/containerd.js";
import { createPxeNetwork, type PxeNetwork, waitForOutput } from "../peers/pxe-network.js";

/**
 * `airstrap serve` from airstrap's own image under real containerd + runc, as seed 003 runs its
 * bootstrap (`docker run --net=host --privileged …`): host networking (the network namespace this
 * test makes, where containerd runs), the manifest folder mounted read-only and the state dir
 * mounted read-write. Real clients on the same bridge get their answers; `airstrap teardown`, from
 * the host's executable and from the image, stops it and leaves nothing behind.
 */

const run = promisify(execFile);
const SUBNET = "10.231.0";
const BOOT = `${SUBNET}.1`;
const repository = "airstrap/airstrap";
const tag = "0.0.0-serve-test";
const ref = `docker.io/${repository}:${tag}`;
/** Where the container sees the site: the manifest's folder read-only, the state dir read-write. */
const CONFIG = "/config";
const STATE = "/state";

async function has(program: string, args = ["--version"]): Promise<boolean> {
  return run(program, args).then(
    () => true,
    () => false,
  );
}

async function skipReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return notOnThisMachine("containerd, network namespaces and port 67 need root");
  if (!(await hasContainerd())) return "containerd/ctr are not installed (scripts/debian-packages.txt)";
  for (const program of ["runc", "curl", "udhcpc"]) {
    if (!(await has("sh", ["-c", `command -v ${program}`]))) return `${program} is not installed`;
  }
  return undefined;
}

const skip = await skipReason();
let work: string;
let executable: { path: string; remove(): void } | undefined;
let image: BuiltImage;

before(async () => {
  if (skip) return;
  executable = buildSingleExecutable();
  work = await mkdtemp(join(tmpdir(), "airstrap-serve-image-"));
  image = await buildImage({
    executable: executable.path,
    repository,
    tag,
    labels: { version: tag, revision: "0", source: "https://example.invalid/airstrap.git" },
    architecture: ociArchitecture(process.arch),
    out: work,
  });
});

after(async () => {
  executable?.remove();
  if (work) await rm(work, { recursive: true, force: true });
});

interface Stage {
  network: PxeNetwork;
  containerd: Containerd;
  site: PxeSite;
}

async function stage(t: TestContext, tag: string): Promise<Stage> {
  const network = await createPxeNetwork(tag, {
    boot: { address: `${BOOT}/24` },
    node: { mac: PXE_SITE_MAC, defaultRoute: true },
    probe: { address: `${SUBNET}.50/24` },
  });
  t.after(() => network.remove());
  const containerd = await startContainerd(t, { netns: network.ns("boot") });
  await containerd.ctr(["images", "import", image.archive]);
  const stateDir = join(await tempDir(t, "airstrap-serve-state-"), "state");
  const site = await pxeSite(t, "full", SUBNET, { stateDir });
  // What docs/pxe.md has the operator do: the image's user reads the manifest's folder and owns the state dir.
  await chmod(site.dir, 0o755);
  await run("chown", ["-R", `${IMAGE_USER.uid}:${IMAGE_USER.gid}`, stateDir]);
  return { network, containerd, site };
}

/** ctr's own arguments for a container of the image with the site's mounts and host networking. */
function containerArgs(site: PxeSite, id: string, verb: string[], options: { rm?: boolean } = {}): string[] {
  return [
    "run",
    ...(options.rm ? ["--rm"] : []),
    "--net-host",
    "--privileged",
    "--mount",
    `type=bind,src=${site.dir},dst=${CONFIG},options=rbind:ro`,
    "--mount",
    `type=bind,src=${site.stateDir},dst=${STATE},options=rbind:rw`,
    ref,
    id,
    IMAGE_EXECUTABLE,
    ...verb,
    "-f",
    `${CONFIG}/cluster.yaml`,
    "--state-dir",
    STATE,
  ];
}

/** `airstrap serve` in the container, attached (its JSON events on this side's stdout), until it reports ready. */
async function serveInContainer(
  { containerd, site }: Stage,
  id: string,
): Promise<{ child: ChildProcess; output(): string }> {
  const child = spawn(
    "ctr",
    ["--address", containerd.socket, ...containerArgs(site, id, ["serve", "--output", "json"])],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  await waitForOutput(child, /"serve\.ready"/, 120_000);
  return { child, output: () => output };
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve()),
  );

async function listening(network: PxeNetwork): Promise<string> {
  const udp = await network.exec("boot", ["ss", "-Hlnup"]);
  const tcp = await network.exec("boot", ["ss", "-Hlntp"]);
  return udp.stdout + tcp.stdout;
}

/** Nothing of serve is left: no task, no socket on its ports, no record, no lease file. */
async function assertNothingLeft({ network, containerd, site }: Stage, id: string): Promise<void> {
  const tasks = await containerd.ctr(["tasks", "ls"]);
  assert.doesNotMatch(tasks, new RegExp(`^${id}\\s+\\d+\\s+RUNNING`, "m"), tasks);
  assert.doesNotMatch(await listening(network), /:(67|69|4011|8080)\b/);
  const files = await readdir(site.stateDir, { recursive: true });
  assert.ok(!files.includes("serve.json") && !files.includes("serve-token"), files.join(" "));
  assert.deepEqual(
    files.filter((file) => /\blease/i.test(file)),
    [],
  );
}

test("serve from the image under containerd answers curl (iPXE script, TFTP) and udhcpc; teardown from the host's executable stops it", async (t) => {
  if (skip) return t.skip(skip);
  const staged = await stage(t, "ctr-serve");
  const { network, site } = staged;
  const serve = await serveInContainer(staged, "serve-1");
  t.after(() => serve.child.kill("SIGKILL"));
  assert.match(await listening(network), /:67\b/);
  // Not root: the image's user, holding the one capability its executable carries.
  const pid = (await staged.containerd.ctr(["tasks", "ls"])).match(/^serve-1\s+(\d+)/m)?.[1];
  assert.ok(pid, "the task runs");
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  assert.match(status, new RegExp(`^Uid:\\s+${IMAGE_USER.uid}\\s`, "m"));
  const effective = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? "0"}`);
  assert.equal(effective, 1n << BigInt(CAP_NET_BIND_SERVICE), `CapEff ${effective.toString(16)}`);

  const script = await network.exec("probe", [
    "curl",
    "-sS",
    "--max-time",
    "20",
    `http://${BOOT}:8080/ipxe?mac=${PXE_SITE_MAC.replaceAll(":", "-")}`,
  ]);
  assert.equal(script.code, 0, script.stderr);
  assert.match(script.stdout, /^#!ipxe/);
  assert.match(script.stdout, new RegExp(`kernel http://${BOOT}:8080/assets/${PXE_SITE_KERNEL}`));

  const nbp = join(site.dir, "nbp");
  const tftp = await network.exec("probe", [
    "curl",
    "-sS",
    "--max-time",
    "30",
    "-o",
    nbp,
    `tftp://${BOOT}/${IPXE_BIOS_NBP}`,
  ]);
  assert.equal(tftp.code, 0, tftp.stderr);
  assert.deepEqual(await readFile(nbp), await readFile(`/usr/lib/ipxe/${IPXE_BIOS_NBP}`));

  const lease = join(site.dir, "lease.env");
  const udhcpcScript = join(site.dir, "udhcpc.sh");
  await writeFile(
    udhcpcScript,
    `#!/bin/sh\n[ "$1" = bound ] || exit 0\n{ echo "ip=$ip"; echo "serverid=$serverid"; echo "boot_file=$boot_file"; } > ${lease}\n`,
  );
  await chmod(udhcpcScript, 0o755);
  const dhcp = await network.exec("node", [
    ...["udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", "5", "-T", "2", "-A", "1", "-s", udhcpcScript],
  ]);
  assert.equal(dhcp.code, 0, dhcp.stderr);
  assert.equal(await readFile(lease, "utf8"), `ip=${SUBNET}.11\nserverid=${BOOT}\nboot_file=${IPXE_BIOS_NBP}\n`);
  assert.match(serve.output(), /"dhcp\.ack"/);

  // From this machine, in the same (host) network: through the control endpoint, across the container's pid namespace.
  const teardown = await network.exec("boot", [
    executable!.path,
    "teardown",
    "-f",
    site.manifest,
    "--state-dir",
    site.stateDir,
  ]);
  assert.equal(teardown.code, 0, teardown.stderr);
  assert.match(teardown.stdout, /boot services stopped/);
  await exited(serve.child);
  await assertNothingLeft(staged, "serve-1");
});

test("teardown from the image stops serve running from the image", async (t) => {
  if (skip) return t.skip(skip);
  const staged = await stage(t, "ctr-down");
  const serve = await serveInContainer(staged, "serve-2");
  t.after(() => serve.child.kill("SIGKILL"));
  const teardown = await run(
    "ctr",
    ["--address", staged.containerd.socket, ...containerArgs(staged.site, "teardown-2", ["teardown"], { rm: true })],
    { timeout: 120_000 },
  );
  assert.match(teardown.stdout, /boot services stopped/);
  await exited(serve.child);
  await assertNothingLeft(staged, "serve-2");
});
