import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { MIN_FREE_BYTES } from "../../src/install/check-facts.js";
import { runCommand } from "../../src/lab/exec.js";
import { LAB_MIRROR_PORT } from "../../src/lab/mirror-helper.js";
import { createVmTap, powerOffVm, powerOnVm, VM_MEMORY_MIB } from "../../src/lab/vm.js";
import { builtInTemplate } from "../../src/render/pxe/builtin-templates.js";
import { runAirstrap } from "../helpers/cli.js";
import { DHCP_PORT_LOCK, holdMachineLock } from "../helpers/machine-lock.js";
import { notOnThisMachine } from "../helpers/skip.js";
import { waitFor } from "../helpers/wait-for.js";
import { labSkipReason, type TestLab } from "../lab/lab-fixture.js";
import { buildSingleExecutable } from "../peers/airstrap-sea.js";
import { createInitLabSite, type InitEvent, LAB_DATA_DISK, startInit } from "../peers/init-lab-site.js";
import { sshRun } from "../peers/lab-ssh.js";

/**
 * `airstrap init` on a lab site whose two machines have no OS (PXE VMs under TCG): the single-file
 * executable (the lab build, whose simulated rke2 the hosts run) serves the boot services, powers
 * the VMs on through `airstrap lab power` (--power-on), follows them from DHCP to SSH, installs
 * with the engine of `up`, waits until both nodes are Ready and tears the boot services down. One
 * lab carries every scenario: a first init is interrupted (SIGINT) once the machines asked for
 * DHCP; a second one serves a broken template override, so Ignition fails in both VMs and init
 * must name each with the failure it reported; a machine whose MAC the manifest lacks is powered
 * on beside them and must get no offer; the third init completes.
 */

const skipReason = await (async () => {
  if (process.getuid?.() !== 0) return notOnThisMachine("the PXE lab needs root (namespace, tap, qemu, port 67)");
  const lab = await labSkipReason();
  if (lab) return lab;
  for (const program of ["qemu-system-x86_64", "mksquashfs"]) {
    if ((await runCommand(["sh", "-c", `command -v ${program}`], { allowFailure: true })).code !== 0)
      return `${program} is not installed (scripts/debian-packages.txt)`;
  }
  return undefined;
})();

const SERVER_MAC = "52:54:00:9e:15:31";
const AGENT_MAC = "52:54:00:9e:15:41";
const STRANGER_MAC = "52:54:00:9e:15:99";
/** TCG on two shared CPUs: a PXE VM takes 3–6 minutes to SSH, the install a few more. */
const INIT_TIMEOUT_S = 2400;
/** The broken-template init ends on the machines' reports, in a few minutes; without them, here. */
const BROKEN_TIMEOUT_S = 900;
const MISSING_GROUP = "airstrap-no-such-group";

/**
 * A site's template gone wrong: the built-in one of the role plus a user in a group the OS lacks.
 * airstrap cannot know the OS's groups, so it serves it; Ignition's files stage fails in the VM.
 */
function brokenTemplate(role: "primary-server" | "agent"): string {
  const userLine = '      sshAuthorizedKeys: ["{{ SSH_KEY }}"]\n';
  const template = builtInTemplate(role, { dataDisk: true });
  assert.ok(template.includes(userLine), "the built-in template still lists its user this way");
  return template.replace(userLine, `${userLine}    - name: gpu\n      groups: [${MISSING_GROUP}]\n`);
}

/**
 * What listens on the site's bootstrap address (but the lab's own release mirror), or on the DHCP
 * ports (`ss`), as lines: the boot services, the install's file server and registry must be gone.
 */
function bootListeners(site: TestLab): string[] {
  const listening = spawnSync("ss", ["-H", "-lntup"], { encoding: "utf8" }).stdout.split("\n");
  return listening.filter(
    (line) =>
      (line.includes(`${site.bootstrapAddress}:`) && !line.includes(`${site.bootstrapAddress}:${LAB_MIRROR_PORT}`)) ||
      (/\s(0\.0\.0\.0|\*):(67|4011)\s/.test(line) && ofThisSite(line, site)),
  );
}

/**
 * Whether the process holding a wildcard DHCP socket works for this site (its command line names
 * the manifest, or it runs in the site's folder): other work on this machine may serve DHCP too.
 */
function ofThisSite(line: string, site: TestLab): boolean {
  return [...line.matchAll(/pid=(\d+)/g)].some(([, pid]) => {
    try {
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      return commandLine.includes(site.file) || readlinkSync(`/proc/${pid}/cwd`) === site.dir;
    } catch {
      return false; // gone since ss looked
    }
  });
}

describe("airstrap init on a lab site of machines with no OS", { skip: skipReason ?? false }, async () => {
  let site: TestLab;
  let binary: { path: string; remove(): void };
  let interrupted: { code: number; events: InitEvent[]; record: string; listeners: string[] };
  let broken: { code: number; events: InitEvent[]; stderr: string };
  let last: { code: number; events: InitEvent[]; stderr: string };
  let stranger: { pid: number; machine: string; monitor: string } | undefined;
  let startedAt = 0;
  const releases: Array<() => void> = [];

  before(async () => {
    // init's boot services bind DHCP's port 67 in this namespace, as other lab tests' inits do.
    await holdMachineLock({ after: (release) => releases.push(release) }, DHCP_PORT_LOCK, {
      onWait: (holder) => console.log(`# waiting for pid ${holder}'s init to free port 67`),
    });
    startedAt = Date.now();
    binary = buildSingleExecutable("src/cli/lab-main.ts");
    site = await createInitLabSite({
      offset: 58,
      hosts: [
        { name: "srv-1", role: "server", octet: 31, mac: SERVER_MAC },
        { name: "agt-1", role: "agent", octet: 41, mac: AGENT_MAC },
      ],
    });

    // Ctrl-C once the machines are booting: the boot services go, the state dir stays whole.
    const first = startInit(binary.path, site, INIT_TIMEOUT_S);
    await waitFor(() => first.events().some((e) => e.kind === "dhcp.ack"), "a machine asking for DHCP", 600_000);
    first.child.kill("SIGINT");
    const code = await first.exited;
    interrupted = {
      code,
      events: first.events(),
      record: readFileSync(join(site.dir, ".airstrap/init.json"), "utf8"),
      listeners: bootListeners(site),
    };

    // Ignition fails in both VMs: init ends as soon as both reported it, long before --timeout.
    const templates = join(site.dir, "broken-templates");
    mkdirSync(templates);
    writeFileSync(join(templates, "srv-1.ign.yaml"), brokenTemplate("primary-server"));
    writeFileSync(join(templates, "agt-1.ign.yaml"), brokenTemplate("agent"));
    const failingSince = Date.now();
    const failing = startInit(binary.path, site, BROKEN_TIMEOUT_S, ["--templates", templates]);
    const failingCode = await failing.exited;
    broken = { code: failingCode, events: failing.events(), stderr: failing.stderr() };
    console.log(
      `# init-lab: the broken-template init ended after ${((Date.now() - failingSince) / 1000).toFixed(0)} s`,
    );

    // A machine the manifest does not know, on the same wire, while the last init runs.
    const lab = await site.lab();
    const machine = `${lab.names.tag}-x9`;
    const tap = `tp-${machine}`;
    await createVmTap(lab.names.netns, lab.names.bridge, tap);
    const monitor = join(site.dir, ".airstrap/lab/stranger.monitor");
    const pid = powerOnVm({
      netns: lab.names.netns,
      bridge: lab.names.bridge,
      tap,
      machine,
      mac: STRANGER_MAC,
      firmware: "bios",
      memoryMiB: VM_MEMORY_MIB / 4,
      consoleLog: join(site.dir, ".airstrap/lab/logs/stranger.console.log"),
      monitor,
    });
    stranger = { pid, machine, monitor };
    const lastSince = Date.now();
    const again = startInit(binary.path, site, INIT_TIMEOUT_S);
    const lastCode = await again.exited;
    last = { code: lastCode, events: again.events(), stderr: again.stderr() };
    console.log(`# init-lab: the last init ended after ${((Date.now() - lastSince) / 1000).toFixed(0)} s`);
  });

  after(async () => {
    if (stranger) await powerOffVm(stranger.pid, stranger.machine, stranger.monitor);
    await site?.remove();
    binary?.remove();
    for (const release of releases) release();
    if (startedAt) console.log(`# init-lab: ${((Date.now() - startedAt) / 1000).toFixed(0)} s in all`);
  });

  test("Ctrl-C during init stops the boot services and leaves the state dir consistent", () => {
    assert.equal(interrupted.code, 130);
    assert.ok(interrupted.events.some((e) => e.kind === "serve.stopped"));
    assert.ok(interrupted.events.some((e) => e.kind === "run.end" && /interrupted/.test(e.message)));
    const record = JSON.parse(interrupted.record) as {
      outcome: string;
      machines: Array<{ name?: string; step: string }>;
    };
    assert.equal(record.outcome, "interrupted");
    assert.deepEqual(
      record.machines
        .filter((m) => m.name)
        .map((m) => m.name)
        .sort(),
      ["agt-1", "srv-1"],
    );
    assert.equal(existsSync(join(site.dir, ".airstrap/serve.json")), false, "the serve record is gone");
    assert.deepEqual(interrupted.listeners, [], "nothing listens for the boot services any more");
  });

  test("a broken template override: init names each machine with the Ignition failure it reported from its initramfs, before --timeout", () => {
    assert.equal(broken.code, 1, broken.stderr.slice(-3000));
    for (const host of ["srv-1", "agt-1"]) {
      const report = broken.events.find((e) => e.kind === "boot.report" && e.detail?.group === host);
      assert.equal(report?.detail?.status, "first-boot-failed", `${host} reported ${JSON.stringify(report?.detail)}`);
      assert.equal(report?.detail?.ignition, "failure");
      assert.match(String(report?.detail?.message), new RegExp(`^Ignition failed: .*${MISSING_GROUP}`));
      const failed = broken.events.find((e) => e.kind === "init.machine.failed" && e.host === host);
      assert.match(
        failed?.message ?? "",
        new RegExp(`^${host} did not come up: .*Ignition failed: .*${MISSING_GROUP}`),
      );
      assert.doesNotMatch(
        failed?.message ?? "",
        /before --timeout/,
        "named from its report, not when the deadline passed",
      );
    }
    const end = broken.events.find((e) => e.kind === "run.end");
    assert.equal(end?.detail?.ok, false);
    assert.match(end?.message ?? "", /2 machine\(s\) did not come up: srv-1 .*; agt-1 /);
    assert.ok(
      broken.events.some((e) => e.kind === "serve.stopped"),
      "the boot services were torn down",
    );
  });

  test("the last init completes: both machines booted over PXE, were installed in order, and are Ready", () => {
    const failures = last.events
      .filter((e) => e.level === "error")
      .map((e) => `${e.kind} ${e.host ?? ""}: ${e.message}`);
    assert.equal(last.code, 0, `${failures.join("\n")}\n${last.stderr.slice(-3000)}`);
    const end = last.events.find((e) => e.kind === "run.end");
    assert.equal(end?.detail?.ok, true, end?.message);
    assert.match(end?.message ?? "", /2 nodes Ready/);
    for (const host of ["srv-1", "agt-1"]) {
      const steps = new Set(
        last.events.filter((e) => e.kind === "init.machine" && e.host === host).map((e) => e.detail?.step),
      );
      // The first-boot report may come after SSH answers (under TCG the unit waits for the node
      // services): the row then keeps its later step, so the report is checked by its event.
      for (const step of ["dhcp", "ipxe", "kernel", "ignition", "ssh", "installing", "ready"])
        assert.ok(steps.has(step), `${host} never showed ${step}: ${[...steps].join(", ")}`);
      const report = last.events.find((e) => e.kind === "boot.report" && e.detail?.group === host);
      assert.equal(report?.detail?.ignition, "success", `${host} reported ${JSON.stringify(report?.detail)}`);
      assert.ok(
        !last.events.some((e) => e.kind === "init.machine" && e.host === host && e.detail?.failure),
        `${host} had a failure`,
      );
    }
    const primaryStarted = last.events.findIndex(
      (e) =>
        e.kind === "install.host.done" &&
        e.host === "srv-1" &&
        /primary/i.test(String((e as { phase?: string }).phase)),
    );
    const agentJoined = last.events.findIndex(
      (e) =>
        e.kind === "install.host.done" && e.host === "agt-1" && /agent/i.test(String((e as { phase?: string }).phase)),
    );
    assert.ok(primaryStarted >= 0 && agentJoined > primaryStarted, "the primary started before the agent joined");
  });

  test("the machine with a MAC the manifest lacks got no offer and was shown as unknown", () => {
    const mac = STRANGER_MAC;
    assert.ok(
      last.events.some((e) => e.kind === "init.machine" && e.detail?.mac === mac && e.detail?.known === false),
      "shown as an unknown machine",
    );
    assert.ok(
      !last.events.some((e) => e.kind.startsWith("dhcp.") && e.kind !== "dhcp.unknown-mac" && e.detail?.mac === mac),
      "it got no DHCP answer",
    );
  });

  test("the kubeconfig works through the cluster FQDN and the node-local load balancer", async () => {
    const kubeconfig = readFileSync(join(site.dir, ".airstrap/kubeconfig"), "utf8");
    assert.match(kubeconfig, new RegExp(`server: https://${site.name}-cluster\\.test\\.lan:16443`));
    const wait = await runAirstrap(["wait", "-f", site.file, "--timeout", "120"], { cwd: site.dir });
    assert.equal(wait.code, 0, wait.stderr);
    for (const host of site.hosts) assert.match(wait.stdout, new RegExp(`^${host.name}\\s+Ready`, "m"));
  });

  test("/var/lib on each machine is its data disk, formatted by Ignition, with the room install checked for", () => {
    for (const host of site.hosts) {
      const mount = sshRun(
        host,
        site.identity,
        join(site.dir, ".airstrap/known_hosts"),
        "findmnt -no SOURCE,FSTYPE,LABEL /var/lib && df -B1 --output=avail /var/lib | tail -1",
      );
      assert.equal(mount.code, 0, mount.stderr);
      const [source, avail] = mount.stdout.trim().split("\n");
      assert.match(
        source ?? "",
        new RegExp(`^${LAB_DATA_DISK}\\s+ext4\\s+airstrap-data$`),
        `${host.name}: ${mount.stdout}`,
      );
      assert.ok(Number(avail) >= MIN_FREE_BYTES[host.role], `${host.name} has ${avail} bytes free under /var/lib`);
    }
  });

  test("afterwards the boot services are gone and nothing is left listening", () => {
    assert.ok(last.events.some((e) => e.kind === "serve.stopped"));
    assert.equal(existsSync(join(site.dir, ".airstrap/serve.json")), false);
    assert.deepEqual(bootListeners(site), []);
    const record = JSON.parse(readFileSync(join(site.dir, ".airstrap/init.json"), "utf8")) as { outcome: string };
    assert.equal(record.outcome, "ready");
  });
});
