import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { chmod, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, type TestContext, test } from "node:test";
import { promisify } from "node:util";
import type { BuiltImage } from "../../src/image/build.js";
import { CAP_NET_BIND_SERVICE, IMAGE_EXECUTABLE, IMAGE_USER } from "../../src/image/rootfs.js";
import { DHCP_PORT_LOCK, holdMachineLock } from "../helpers/machine-lock.js";
import { waitForValue } from "../helpers/wait-for.js";
import { labSkipReason, type TestLab } from "../lab/lab-fixture.js";
import { hasContainerd, startContainerd } from "../peers/containerd.js";
import { bootFilesForInit, kubectl, pulledLabSite } from "./gitops-lab-fixture.js";

/**
 * Seed 003's `docker run --net=host --privileged … init`, under real containerd + runc: `airstrap
 * init` from airstrap's image (built around the lab executable, whose simulated distro the lab
 * hosts run) with host networking, the site folder mounted read-only and its state dir
 * (`.airstrap`, where the kubeconfig lands) read-write on top, on a lab site whose machines
 * already answer SSH with the host keys airstrap made for them (as machines an earlier init
 * booted). A SIGTERM to the task tears the boot services down; the next run goes to Ready.
 */
const run = promisify(execFile);
const CONFIG = "/config";
const RUN_TIMEOUT_MS = 1_500_000;

async function skipReason(): Promise<string | undefined> {
  const lab = await labSkipReason();
  if (lab) return lab;
  if (!(await hasContainerd())) return "containerd/ctr are not installed (scripts/debian-packages.txt)";
  const runc = await run("sh", ["-c", "command -v runc"]).then(
    () => true,
    () => false,
  );
  return runc ? undefined : "runc is not installed (scripts/debian-packages.txt)";
}

const skip = await skipReason();

interface InContainer {
  child: ChildProcess;
  output(): string;
  done: Promise<{ code: number | null; out: string }>;
}

/** `ctr run` as an operator would type `docker run --rm --net=host --privileged -v …`. */
function initInContainer(socket: string, site: TestLab, id: string, ref: string, extra: string[] = []): InContainer {
  const child = spawn(
    "ctr",
    [
      ...["--address", socket, "run", "--rm", "--net-host", "--privileged"],
      ...["--mount", `type=bind,src=${site.dir},dst=${CONFIG},options=rbind:ro`],
      ...["--mount", `type=bind,src=${join(site.dir, ".airstrap")},dst=${CONFIG}/.airstrap,options=rbind:rw`],
      ...[ref, id, IMAGE_EXECUTABLE, "init", "-f", `${CONFIG}/cluster.yaml`, "--timeout", "1200", ...extra],
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
  );
  let out = "";
  child.stdout!.on("data", (chunk) => (out += chunk));
  child.stderr!.on("data", (chunk) => (out += chunk));
  const done = once(child, "close").then(([code]) => ({ code: code as number | null, out }));
  return { child, output: () => out, done };
}

/** Listening sockets on the site's boot server address (the lab's mirror is there before init, and after). */
async function siteListeners(site: TestLab): Promise<string[]> {
  const { stdout } = await run("ss", ["-Hlnut"]);
  return stdout
    .split("\n")
    .filter((line) => line.includes(`${site.bootstrapAddress}:`))
    .map((line) => line.replace(/\s+/g, " ").trim())
    .sort();
}

/** Port 67 on the wildcard address: held by any DHCP server in this namespace (a bench does not take the lock). */
async function dhcpPortHeld(): Promise<string | undefined> {
  const { stdout } = await run("ss", ["-Hlnup", "sport", "=", ":67"]);
  return stdout.trim() || undefined;
}

async function until(what: string, running: InContainer, check: () => boolean | Promise<boolean>, ms: number) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (running.child.exitCode !== null) throw new Error(`init ended before ${what}:\n${running.output()}`);
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${running.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

describe("airstrap init from airstrap's image under containerd", { skip: skip ?? false, timeout: 3_600_000 }, () => {
  let site: TestLab;
  let binary: { path: string; remove(): void };
  let image: BuiltImage;
  let listenersBefore: string[];

  before(async () => {
    ({ site, binary, image } = await pulledLabSite(29));
    // The boot files init serves (nothing boots from them: every machine is up already).
    await bootFilesForInit(site);
    // What docs/init.md has the operator do: the image's user reads the site folder and owns its state dir.
    await chmod(site.dir, 0o755);
    await run("chown", ["-R", `${IMAGE_USER.uid}:${IMAGE_USER.gid}`, join(site.dir, ".airstrap")]);
  });

  after(async () => {
    await site?.remove();
    binary?.remove();
  });

  test("--power-on is refused; SIGINT or SIGTERM to the task tears the boot services down; the next run installs to Ready and leaves nothing listening", async (t: TestContext) => {
    await holdMachineLock(t, DHCP_PORT_LOCK, {
      onWait: (holder) => console.log(`# waiting for pid ${holder}'s init to free port 67`),
    });
    const holder = await dhcpPortHeld();
    if (holder) console.log(`# port 67 is held outside the lock, waiting: ${holder}`);
    await waitForValue(async () => ((await dhcpPortHeld()) ? undefined : true), "port 67 to be free", 1_800_000);
    listenersBefore = await siteListeners(site);
    const containerd = await startContainerd(t);
    await containerd.ctr(["images", "import", image.archive]);
    const ref = "docker.io/airstrap/airstrap:lab";
    const started = Date.now();

    // The image has no shell, so no --power-on command: refused before anything serves.
    const powerOn = await initInContainer(containerd.socket, site, "init-0", ref, ["--power-on", "true"]).done;
    assert.equal(powerOn.code, 1, powerOn.out);
    assert.match(powerOn.out, /--power-on needs a shell, and there is no sh on PATH/);
    assert.deepEqual(await siteListeners(site), listenersBefore);

    // Ctrl-C as `docker run` forwards it (SIGINT), and `docker stop` (SIGTERM), once the boot services serve.
    for (const [index, signal] of ["SIGINT", "SIGTERM"].entries()) {
      const id = `init-${index + 1}`;
      const first = initInContainer(containerd.socket, site, id, ref);
      t.after(() => first.child.kill("SIGKILL"));
      // The prompt comes once the boot services serve.
      await until("the boot services", first, () => /nothing to power on/.test(first.output()), 300_000);
      assert.match((await siteListeners(site)).join("\n"), /:69 /, "TFTP on the boot server's address");
      // Not root: the image's user, serving DHCP and TFTP with the one capability its executable carries.
      const pid = (await containerd.ctr(["tasks", "ls"])).match(new RegExp(`^${id}\\s+(\\d+)`, "m"))?.[1];
      const status = await readFile(`/proc/${pid}/status`, "utf8");
      assert.match(status, new RegExp(`^Uid:\\s+${IMAGE_USER.uid}\\s`, "m"));
      const effective = BigInt(`0x${/^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? "0"}`);
      assert.equal(effective, 1n << BigInt(CAP_NET_BIND_SERVICE), `CapEff ${effective.toString(16)}`);
      await containerd.ctr(["tasks", "kill", "-s", signal, id]);
      const interrupted = await first.done;
      assert.equal(interrupted.code, 130, `${signal}: ${interrupted.out}`);
      assert.match(interrupted.out, /interrupted: stopping the boot services/);
      assert.deepEqual(await siteListeners(site), listenersBefore);
      const record = JSON.parse(await readFile(join(site.dir, ".airstrap", "init.json"), "utf8"));
      assert.equal(record.outcome, "interrupted");
    }

    const second = initInContainer(containerd.socket, site, "init-3", ref);
    t.after(() => second.child.kill("SIGKILL"));
    const result = await Promise.race([
      second.done,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`init did not end:\n${second.output()}`)), RUN_TIMEOUT_MS).unref(),
      ),
    ]);
    console.log(
      `# init from the image: power-on refusal, two interrupted runs and a full run took ${Math.round((Date.now() - started) / 1000)} s`,
    );
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /the last airstrap init \S+ ended interrupted/);
    assert.match(result.out, /Every machine is already up \(it answers SSH\): nothing to power on/);
    assert.ok(result.out.includes("install complete"), result.out);
    assert.match(result.out, /^2 nodes Ready; kubeconfig: \/config\/\.airstrap\/kubeconfig /m);
    assert.match(result.out, /boot services stopped/);
    for (const host of site.hosts) assert.match(result.out, new RegExp(`^\\S+ ${host.name} ready: `, "m"));
    // The kubeconfig is on this side of the mount, written by the image's user, and works from here.
    const kubeconfig = await stat(join(site.dir, ".airstrap", "kubeconfig"));
    assert.equal(kubeconfig.uid, IMAGE_USER.uid);
    assert.equal(kubeconfig.mode & 0o077, 0, "the kubeconfig is private");
    const nodes = await kubectl(site, ["get", "nodes", "-o", "name"]);
    assert.deepEqual(nodes.trim().split("\n").sort(), ["node/agt-1", "node/srv-1"]);
    assert.equal(JSON.parse(await readFile(join(site.dir, ".airstrap", "init.json"), "utf8")).outcome, "ready");
    // The hosts' keys are pinned in the mounted state dir, where init made them.
    const pinned = await readFile(join(site.dir, ".airstrap", "known_hosts"), "utf8");
    for (const host of site.hosts) assert.ok(pinned.includes(`${host.address} ssh-ed25519 `), pinned);
    // The hosts run the image's own executable: init found it, no --node-binary given.
    const installed = site.ssh(site.hosts[0]!, "sha256sum /usr/local/bin/airstrap");
    const own = (await run("sha256sum", [binary.path])).stdout.split(" ")[0]!;
    assert.ok(installed.stdout.startsWith(own), `${installed.stdout} ${installed.stderr}`);
    // Nothing of init's is left: no task (so no process of the container), nothing on the boot address.
    assert.deepEqual(await siteListeners(site), listenersBefore);
    assert.equal((await containerd.ctr(["tasks", "ls", "-q"])).trim(), "", "no task left");
  });
});
