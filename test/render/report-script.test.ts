import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { renderReportScript } from "../../src/render/units.js";
import { parseReport } from "../../src/services/boot-http/report.js";
import { tempDir } from "../helpers/cli.js";

const URL = "http://10.77.0.1:8080/report?mac=52-54-00-77-00-21";

/**
 * The first-boot report script, run by sh against a scratch root (its absolute paths moved under a
 * temporary folder) with curl replaced by a stand-in that keeps what it was asked to send: the body
 * is one the boot server's parser accepts, naming the host key's real fingerprint.
 */
async function runReport(
  t: { after(fn: () => Promise<void>): void },
  options: { ignitionResult: boolean; curlFails?: boolean },
) {
  const dir = await tempDir(t, "airstrap-report-");
  await mkdir(join(dir, "etc/ssh"), { recursive: true });
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "etc/ssh/ssh_host_ed25519_key")]);
  if (options.ignitionResult) await writeFile(join(dir, "etc/.ignition-result.json"), '{"provisioningBootID":"x"}\n');
  const curl = join(dir, "curl");
  await writeFile(
    curl,
    `#!/bin/sh\nwhile [ $# -gt 1 ]; do [ "$1" = --data ] && printf %s "$2" > ${dir}/body; shift; done\nprintf %s "$1" > ${dir}/url\nexit ${options.curlFails ? 7 : 0}\n`,
    { mode: 0o755 },
  );
  const script = renderReportScript(URL)
    .replaceAll("/usr/bin/curl", curl)
    .replaceAll("/etc/", `${dir}/etc/`)
    .replaceAll("/var/lib/", `${dir}/var/lib/`);
  await writeFile(join(dir, "report.sh"), script);
  let code = 0;
  try {
    execFileSync("sh", [join(dir, "report.sh")], { stdio: "pipe" });
  } catch (error) {
    code = (error as { status: number }).status;
  }
  const fingerprint = execFileSync("ssh-keygen", ["-lf", join(dir, "etc/ssh/ssh_host_ed25519_key.pub")], {
    encoding: "utf8",
  }).split(" ")[1];
  const body = existsSync(join(dir, "body")) ? await readFile(join(dir, "body"), "utf8") : undefined;
  const marked = existsSync(join(dir, "var/lib/airstrap/first-boot-reported"));
  return { code, body, url: await readFile(join(dir, "url"), "utf8").catch(() => ""), fingerprint, marked };
}

test("the first-boot report is a body the boot server accepts: Ignition's result and the host key's fingerprint", async (t) => {
  const run = await runReport(t, { ignitionResult: true });
  assert.equal(run.code, 0);
  assert.equal(run.url, URL);
  const parsed = parseReport(run.body ?? "");
  assert.ok(parsed.ok, `${run.body}: ${parsed.ok ? "" : parsed.problem}`);
  assert.equal(parsed.report.status, "first-boot-done");
  assert.equal(parsed.report.ignition, "success");
  assert.deepEqual(parsed.report.sshHostKeyFingerprints, [run.fingerprint]);
  assert.match(parsed.report.message ?? "", /^kernel /);
  assert.ok(run.marked, "a sent report is marked, so a later boot does not send it again");
});

test("without Ignition's result file the report says unknown; a failed POST is not marked as sent", async (t) => {
  const run = await runReport(t, { ignitionResult: false, curlFails: true });
  assert.notEqual(run.code, 0, "the unit fails, so systemd shows it");
  const parsed = parseReport(run.body ?? "");
  assert.ok(parsed.ok && parsed.report.ignition === "unknown", run.body);
  assert.equal(run.marked, false);
});
