import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { LAB_MIRROR_PORT } from "../../src/lab/mirror-helper.js";
import { type CliResult, runAirstrap } from "../helpers/cli.js";
import { createTestLab, labSkipReason, type TestLab } from "../lab/lab-fixture.js";
import { buildSingleExecutable } from "../peers/airstrap-sea.js";

const skipReason = await labSkipReason();

/**
 * Seed 001's "local or SSH access", for real: the single-file executable runs on a lab host and
 * installs that very host as a one-node site (`connection: local`) — no SSH anywhere in the run —
 * then `up` waits until the node is Ready through the kubeconfig it saved.
 */
describe("airstrap up on the machine it runs on (connection: local)", { skip: skipReason ?? false }, async () => {
  let site: TestLab;
  let binary: { path: string; remove(): void };
  let run: CliResult;
  // An operator who is not root and whose sudo asks for a password, with the characters JSON escapes.
  const OPERATOR = "op";
  const WORK = `/home/${OPERATOR}/site`;
  const sudoPassword = `pa"ss\\wd-${randomBytes(6).toString("hex")}`;

  before(async () => {
    site = await createTestLab({ offset: 13, hosts: [{ name: "solo", role: "server", octet: 11 }] });
    appendFileSync(site.file, `  artifacts: { source: "http://${site.bootstrapAddress}:${LAB_MIRROR_PORT}/rke2" }\n`);
    // The lab build: the simulated rke2 it installs runs `airstrap lab-distro`, which the shipped build lacks.
    binary = buildSingleExecutable("src/cli/lab-main.ts");
    await site.up();
    // The release files come from the lab's mirror into a store here, then travel with the manifest.
    const pull = await runAirstrap(["artifacts", "pull", "-f", site.file], { cwd: site.dir });
    assert.equal(pull.code, 0, pull.stderr);
    const [solo] = site.hosts;
    const manifest = `apiVersion: airstrap.io/v1alpha1
kind: Cluster
metadata: { name: ${site.name} }
spec:
  domain: test.lan
  distro: { name: rke2, version: v1.31.4+rke2r1, arch: amd64 }
  hosts:
    - { name: solo, address: ${solo!.address}, role: server, connection: local }
`;
    const copy = (command: string, input: Buffer) => {
      const result = site.ssh(solo!, command, { input, timeoutMs: 300_000 });
      assert.equal(result.code, 0, result.stderr);
    };
    copy(
      [
        `useradd --create-home --shell /bin/sh ${OPERATOR}`,
        `chpasswd`,
        `printf '%s ALL=(ALL:ALL) ALL\\n' ${OPERATOR} > /etc/sudoers.d/operator`,
        "chmod 0440 /etc/sudoers.d/operator",
      ].join(" && "),
      Buffer.from(`${OPERATOR}:${sudoPassword}\n`),
    );
    copy(`mkdir -p ${WORK} && cat > ${WORK}/airstrap && chmod 755 ${WORK}/airstrap`, readFileSync(binary.path));
    copy(`cat > ${WORK}/cluster.yaml`, Buffer.from(manifest));
    copy(
      `tar -C ${WORK} -xf -`,
      execFileSync("tar", ["-C", site.dir, "-cf", "-", ".airstrap/store"], { maxBuffer: 2 ** 31 }),
    );
    copy(`chown -R ${OPERATOR}: ${WORK}`, Buffer.alloc(0));
    run = site.ssh(
      solo!,
      `cd ${WORK} && runuser -u ${OPERATOR} -- env AIRSTRAP_SUDO_PASSWORD='${sudoPassword}' NO_COLOR=1 ./airstrap up -f cluster.yaml --output json --node-binary ${WORK}/airstrap --ready-timeout 180 --timeout 180`,
      { timeoutMs: 900_000 },
    );
  });
  after(async () => {
    await site?.remove();
    binary?.remove();
  });

  test("up installs the host it runs on, without SSH, and every node is Ready", () => {
    const events = run.stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { kind: string; host?: string; message: string });
    const failures = events.filter((e) => e.kind === "install.host.fail").map((e) => `${e.host}: ${e.message}`);
    assert.equal(run.code, 0, `${failures.join("\n")}\n${run.stderr}\n${run.stdout.slice(-2000)}`);
    assert.match(run.stdout, /^1 nodes Ready; kubeconfig: /m);
    assert.ok(
      events.some((e) => e.kind === "install.facts" && e.host === "solo"),
      "facts were read from the host itself",
    );
    // No SSH was used: nothing was pinned, and no SSH event was emitted.
    assert.ok(!events.some((e) => e.kind.startsWith("host.key")));
    const [solo] = site.hosts;
    const pinned = site.ssh(solo!, `test -e ${WORK}/.airstrap/known_hosts && echo pinned || echo none`);
    assert.equal(pinned.stdout.trim(), "none");
    const active = site.ssh(solo!, "systemctl is-active rke2-server airstrap-node");
    assert.deepEqual(active.stdout.trim().split("\n"), ["active", "active"]);
  });

  test("no secret is in any output, log or state file of the run, nor in the node services' journal", () => {
    const [solo] = site.hosts;
    const read = (command: string) => {
      const result = site.ssh(solo!, command);
      assert.equal(result.code, 0, result.stderr);
      return result.stdout.trim();
    };
    const token = read(`cat ${WORK}/.airstrap/token`);
    const pushToken = read(`cat ${WORK}/.airstrap/registry/push-token`);
    assert.ok(token.length >= 32 && pushToken.length >= 32);
    const secrets = [token, pushToken, sudoPassword].flatMap((value) => [value, JSON.stringify(value).slice(1, -1)]);
    for (const secret of secrets) {
      assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), "the run's output holds a secret");
    }
    // grep on the host itself: every file under the state dir but the secrets' own 0600 files, and
    // what airstrap's node services logged.
    const patterns = Buffer.from(`${secrets.join("\n")}\n`);
    const found = site.ssh(
      solo!,
      [
        "cat > /tmp/secrets",
        `files=$(grep -rlF -f /tmp/secrets ${WORK}/.airstrap --exclude=token --exclude=push-token)`,
        "journal=$(journalctl --no-pager -u airstrap-node -u airstrap-registry | grep -cF -f /tmp/secrets)",
        `logs=$(ls ${WORK}/.airstrap/logs/*/*.log | wc -l)`,
        'rm -f /tmp/secrets; echo "files:$files journal:$journal logs:$logs"',
      ].join("; "),
      { input: patterns },
    );
    assert.match(found.stdout.trim(), /^files: journal:0 logs:[1-9]\d*$/, found.stderr);
  });

  test("a host named local that is not this machine is refused before anything changes", async () => {
    const text = readFileSync(site.file, "utf8").replace(/role: server \}/, "role: server, connection: local }");
    const elsewhere = join(site.dir, "elsewhere.yaml");
    writeFileSync(elsewhere, text);
    const result = await runAirstrap(
      ["install", "-f", elsewhere, "--output", "json", "--dry-run", "--node-binary", binary.path],
      { cwd: site.dir },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /has connection: local, but [\d.]+ is not an address of this machine/, result.stderr);
    assert.ok(!result.stdout.includes('"install.change.planned"'), "nothing was even planned");
  });
});
