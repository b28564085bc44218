import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { readFile, readlink, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import {
  INITRD_REPORT_SCRIPT,
  INITRD_REPORT_UNIT,
  initrdReportScript,
  renderInitrdReportArchive,
} from "../../src/render/pxe/initrd-report.js";
import { tempDir } from "../helpers/cli.js";
import { bootServer, MAC_1, TWO_MACHINES } from "../services/boot-http/harness.js";

const run = promisify(execFile);

test("the extra initrd holds the report unit, wanted by emergency.target, and its script", async (t) => {
  const dir = await tempDir(t, "airstrap-initrd-report-");
  await writeFile(join(dir, "initrd.cpio"), renderInitrdReportArchive());
  execFileSync("cpio", [
    "-i",
    "-d",
    "-m",
    "--quiet",
    "-H",
    "newc",
    "-D",
    join(dir, "root"),
    "-F",
    join(dir, "initrd.cpio"),
  ]);
  const root = join(dir, "root");
  const unit = await readFile(join(root, "etc/systemd/system", INITRD_REPORT_UNIT), "utf8");
  assert.match(unit, /^DefaultDependencies=no$/m, "it runs in emergency mode, where basic.target is gone");
  assert.match(unit, /^ConditionKernelCommandLine=airstrap\.report$/m);
  assert.match(unit, new RegExp(`^ExecStart=/${INITRD_REPORT_SCRIPT}$`, "m"));
  const wanted = join(root, "etc/systemd/system/emergency.target.wants", INITRD_REPORT_UNIT);
  assert.equal(await readlink(wanted), `../${INITRD_REPORT_UNIT}`);
  assert.equal(await readFile(wanted, "utf8"), unit);
  assert.equal((await stat(join(root, INITRD_REPORT_SCRIPT))).mode & 0o777, 0o755);
  assert.equal(await readFile(join(root, INITRD_REPORT_SCRIPT), "utf8"), initrdReportScript());
  execFileSync("bash", ["-n", join(root, INITRD_REPORT_SCRIPT)]);
});

/**
 * Runs the script with bash against a real boot server: the kernel command line is a file, and
 * journalctl a stand-in printing what an initramfs journal holds (the boot's lines; with -p err,
 * its last error line). The real journal is what the PXE VM test (test/e2e/init-lab.test.ts) reads.
 */
async function runScript(
  t: { after(fn: () => Promise<void>): void },
  options: { cmdline: (reportUrl: string) => string; journal: string[]; lastError: string },
) {
  const boot = await bootServer(t as Parameters<typeof bootServer>[0], TWO_MACHINES);
  const dir = await tempDir(t, "airstrap-initrd-script-");
  const reportUrl = boot.url(`/report?mac=${MAC_1.replaceAll(":", "-")}`);
  await writeFile(join(dir, "cmdline"), `${options.cmdline(reportUrl)}\n`);
  await writeFile(join(dir, "journal"), options.journal.map((line) => `${line}\n`).join(""));
  await writeFile(join(dir, "last-error"), `${options.lastError}\n`);
  await writeFile(
    join(dir, "journalctl"),
    `#!/bin/sh\ncase " $* " in *" -p err "*) cat ${dir}/last-error ;; *) cat ${dir}/journal ;; esac\n`,
    { mode: 0o755 },
  );
  await writeFile(join(dir, "report"), initrdReportScript().replaceAll("/proc/cmdline", join(dir, "cmdline")));
  const result = await run("bash", [join(dir, "report")], { env: { PATH: `${dir}:/usr/bin:/bin` } });
  return { boot, result };
}

test("a failed Ignition stage is reported with Ignition's own line, escaped as JSON, over bash's /dev/tcp", async (t) => {
  const reason =
    "failed to create users/groups: failed to create user \"gpu\": exit status 6: useradd: group 'video\\x' does not exist";
  const { boot, result } = await runScript(t, {
    cmdline: (url) => `BOOT_IMAGE=vmlinuz ip=dhcp airstrap.report=${url} console=ttyS0`,
    journal: [
      "ignition[512]: files: op(1): [started]  processing users",
      `CRITICAL : Ignition failed: ${reason}`,
      "\tafter",
    ],
    lastError: "ignition-files.service: Failed with result 'exit-code'.",
  });
  // The server emits the event before it answers 204, and the script ends only on that answer.
  const report = boot.events.find((e) => e.kind === "boot.report");
  assert.equal(report?.level, "warn");
  assert.deepEqual(report?.detail, {
    mac: MAC_1,
    group: "node1",
    status: "first-boot-failed",
    ignition: "failure",
    sshHostKeyFingerprints: [],
    message: `Ignition failed: ${reason}`,
  });
  assert.match(result.stdout, /told 127\.0\.0\.1:\d+: Ignition failed: failed to create users/);
});

test("a boot stopped for another reason reports the journal's last error, Ignition unknown", async (t) => {
  const { boot } = await runScript(t, {
    cmdline: (url) => `airstrap.report=${url}`,
    journal: ["dracut-initqueue[301]: Warning: dracut-initqueue: starting timeout scripts"],
    lastError: "dracut-initqueue[301]: Warning: Could not boot.",
  });
  const report = boot.events.find((e) => e.kind === "boot.report");
  assert.equal(report?.detail?.ignition, "unknown");
  assert.equal(
    report?.detail?.message,
    "emergency mode in the initramfs: dracut-initqueue[301]: Warning: Could not boot.",
  );
});

test("without airstrap.report= on the kernel command line nothing is sent", async (t) => {
  const { boot, result } = await runScript(t, {
    cmdline: () => "BOOT_IMAGE=vmlinuz ip=dhcp",
    journal: ["CRITICAL : Ignition failed: anything"],
    lastError: "",
  });
  assert.match(result.stderr, /holds no http:\/\/ URL; nothing reported/);
  assert.equal(boot.events.filter((e) => e.kind === "boot.report").length, 0);
  assert.equal(boot.server.metrics().includes("reports_total 1"), false);
});
