import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { LAB_MIRROR_PORT } from "../../src/lab/mirror-helper.js";
import { type CliResult, runAirstrap } from "../helpers/cli.js";
import { createTestLab, labSkipReason, type TestLab, type TestLabHost } from "../lab/lab-fixture.js";
import { buildSingleExecutable } from "../peers/airstrap-sea.js";
import { digLoopFigures, startDigLoop, TWENTY_A_SECOND_ONE_RETRY } from "../peers/dig-loop.js";

const skipReason = await labSkipReason();
const VERSIONS = ["0.1.0-handover.1", "0.1.0-handover.2", "0.1.0-handover.3"] as const;

const jsonEvents = (result: CliResult) =>
  result.stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { kind: string; host?: string; message: string });

/**
 * The executable hand-over under a real systemd: a lab host is a systemd-nspawn container booted
 * with systemd as its PID 1, and airstrap install puts airstrap-node.service there (Type=notify,
 * NotifyAccess=all). When its executable is replaced — by the node agent's copy and rename, or by
 * a later install — the service's main process becomes the successor without a restart of the
 * unit, and a dig loop from the site's network sees no failure.
 */
describe("the executable hand-over under the host's systemd", { skip: skipReason ?? false }, async () => {
  let site: TestLab;
  let host: TestLabHost;
  const builds: Array<{ path: string; remove(): void; sha256: string }> = [];
  const install = (binary: string) =>
    runAirstrap(["install", "-f", site.file, "--output", "json", "--node-binary", binary, "--ready-timeout", "180"], {
      cwd: site.dir,
    });
  const must = (command: string, input?: Buffer) => {
    const result = site.ssh(host, command, { timeoutMs: 120_000, ...(input ? { input } : {}) });
    assert.equal(result.code, 0, `${command}\n${result.stdout}${result.stderr}`);
    return result.stdout.trim();
  };
  /** What systemd says of the unit: its main process, how often it restarted it, since when it is active. */
  const unit = () => {
    const lines = must(
      "systemctl show -p MainPID -p NRestarts -p ActiveEnterTimestamp -p ActiveState -p SubState airstrap-node",
    );
    return Object.fromEntries(lines.split("\n").map((line) => line.split(/=(.*)/s).slice(0, 2))) as Record<
      string,
      string
    >;
  };
  /** Waits (bounded) until systemd's main process runs the executable of `sha256`. */
  const successorOf = async (sha256: string, oldPid: string) => {
    for (let i = 0; i < 240; i++) {
      const state = unit();
      if (state.MainPID !== oldPid && state.MainPID !== "0") {
        const exe = site.ssh(host, `sha256sum /proc/${state.MainPID}/exe | cut -c1-64`).stdout.trim();
        if (exe === sha256) return state;
      }
      await sleep(1000);
    }
    throw new Error(`the main process never became the new executable: ${JSON.stringify(unit())}`);
  };
  const digLoop = () => {
    // The node's own record, asked of the node's DNS at its site address (the lab routes to it).
    const once = spawnSync("dig", [`@${host.address}`, `${host.name}.test.lan`, "A", "+short"], {
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(once.stdout.trim(), host.address, `${once.stdout}${once.stderr}`);
    return startDigLoop({
      address: host.address,
      port: 53,
      name: `${host.name}.test.lan`,
      expected: host.address,
      ...TWENTY_A_SECOND_ONE_RETRY,
      maxQueries: 6000,
      maxSeconds: 290,
      nice: -10,
    });
  };

  before(async () => {
    site = await createTestLab({ offset: 23, hosts: [{ name: "srv-1", role: "server", octet: 11 }] });
    host = site.hosts[0]!;
    appendFileSync(site.file, `  artifacts: { source: "http://${site.bootstrapAddress}:${LAB_MIRROR_PORT}/rke2" }\n`);
    // The lab build (its simulated rke2 runs `airstrap lab-distro`), in three versions.
    for (const version of VERSIONS) {
      const built = buildSingleExecutable("src/cli/lab-main.ts", { version });
      builds.push({ ...built, sha256: createHash("sha256").update(readFileSync(built.path)).digest("hex") });
    }
    await site.up();
    const pull = await runAirstrap(["artifacts", "pull", "-f", site.file], { cwd: site.dir });
    assert.equal(pull.code, 0, pull.stderr);
    const first = await install(builds[0]!.path);
    const failures = jsonEvents(first).filter((e) => e.kind === "install.host.fail");
    assert.equal(first.code, 0, `${JSON.stringify(failures)}\n${first.stderr}`);
  });
  after(async () => {
    await site?.remove();
    for (const build of builds) build.remove();
  });

  test("the node's PID 1 is systemd, running airstrap-node as a Type=notify unit", () => {
    assert.equal(must("cat /proc/1/comm"), "systemd");
    assert.equal(must("systemctl show -p Type -p NotifyAccess --value airstrap-node"), "notify\nall");
    assert.equal(must("/usr/local/bin/airstrap --version"), VERSIONS[0]);
    assert.equal(unit().ActiveState, "active");
  });

  test("an executable renamed over the running one (as the node agent does) becomes the unit's main process: no restart, no failed query", async (t) => {
    const before = unit();
    const loop = digLoop();
    await sleep(2000);
    // The agent's way: the new file beside the old, the old kept as airstrap.previous, one rename.
    must(
      "cat > /usr/local/bin/.airstrap.upgrade && chmod 0755 /usr/local/bin/.airstrap.upgrade && ln -f /usr/local/bin/airstrap /usr/local/bin/airstrap.previous && mv -f /usr/local/bin/.airstrap.upgrade /usr/local/bin/airstrap",
      readFileSync(builds[1]!.path),
    );
    const afterwards = await successorOf(builds[1]!.sha256, before.MainPID!);
    await sleep(2000);
    const figures = digLoopFigures(await loop.stop());
    t.diagnostic(`MainPID ${before.MainPID} → ${afterwards.MainPID}; dig ${JSON.stringify(figures)}`);

    assert.equal(afterwards.ActiveState, "active");
    assert.equal(afterwards.NRestarts, before.NRestarts, "systemd did not restart the unit");
    assert.equal(afterwards.ActiveEnterTimestamp, before.ActiveEnterTimestamp, "the unit stayed active throughout");
    assert.equal(must(`/proc/${afterwards.MainPID}/exe --version`), VERSIONS[1]);
    assert.equal(site.ssh(host, `kill -0 ${before.MainPID}`).code, 1, "the old process is gone");
    // The successor holds the DNS socket the old process bound.
    assert.match(must("ss -Hlunp 'sport = :53'"), new RegExp(`pid=${afterwards.MainPID},`));
    assert.ok(figures.queries >= 40, `only ${figures.queries} queries ran`);
    assert.equal(figures.failures, 0, `${figures.failures} of ${figures.queries} queries failed`);
    const journal = must("journalctl -u airstrap-node --no-pager -o cat | tail -n 30");
    assert.match(journal, new RegExp(`handed over to pid ${afterwards.MainPID} \\(airstrap ${VERSIONS[1]}\\)`));
  });

  test("install with a new executable and a new record lets the running service hand over instead of restarting it", async (t) => {
    const before = unit();
    const loop = digLoop();
    await sleep(2000);
    // The plan changes in the same run: the successor serves the new record too.
    const wiki = `${site.subnet}.99`;
    appendFileSync(site.file, `  dns:\n    records:\n      - { name: wiki, type: A, value: ${wiki} }\n`);
    const result = await install(builds[2]!.path);
    const afterwards = await successorOf(builds[2]!.sha256, before.MainPID!);
    await sleep(2000);
    const figures = digLoopFigures(await loop.stop());
    t.diagnostic(`install: MainPID ${before.MainPID} → ${afterwards.MainPID}; dig ${JSON.stringify(figures)}`);

    const events = jsonEvents(result);
    const failures = events.filter((e) => e.kind === "install.host.fail");
    assert.equal(result.code, 0, `${JSON.stringify(failures)}\n${result.stderr}`);
    const changes = events.filter((e) => e.kind === "install.change").map((e) => e.message);
    assert.ok(!changes.some((m) => /restart airstrap-node/.test(m)), changes.join("\n"));
    assert.ok(
      changes.some((m) => /hand airstrap-node over/.test(m)),
      changes.join("\n"),
    );
    assert.ok(changes.includes("reload airstrap-node's plan"), changes.join("\n"));
    const handover = events.find((e) => e.kind === "install.node.handover");
    assert.match(handover?.message ?? "", new RegExp(`pid ${afterwards.MainPID}, airstrap ${VERSIONS[2]}`));
    assert.equal(afterwards.ActiveState, "active");
    assert.equal(afterwards.NRestarts, before.NRestarts, "systemd did not restart the unit");
    assert.equal(afterwards.ActiveEnterTimestamp, before.ActiveEnterTimestamp, "the unit stayed active throughout");
    assert.ok(figures.queries >= 40, `only ${figures.queries} queries ran`);
    assert.equal(figures.failures, 0, `${figures.failures} of ${figures.queries} queries failed`);
    const answer = spawnSync("dig", [`@${host.address}`, "wiki.test.lan", "A", "+short"], { encoding: "utf8" });
    assert.equal(answer.stdout.trim(), wiki, answer.stderr);
  });
});
