import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { LAB_MIRROR_PORT } from "../../src/lab/mirror-helper.js";
import { type CliResult, runAirstrap } from "../helpers/cli.js";
import { type JsonEvent, jsonEvents, streamAirstrap } from "../helpers/cli-stream.js";
import { snapshotDifference, snapshotHostFilesystem } from "../lab/host-snapshot.js";
import { createTestLab, labSkipReason, type TestLab } from "../lab/lab-fixture.js";
import { buildSingleExecutable } from "../peers/airstrap-sea.js";

const skipReason = await labSkipReason();

/** One executable for every lab in this file: building it takes several seconds. */
let binary: { path: string; remove(): void } | undefined;
function nodeBinary(): string {
  // The lab build: the hosts' simulated distro runs `airstrap lab-distro`, which the shipped build lacks.
  binary ??= buildSingleExecutable("src/cli/lab-main.ts");
  return binary.path;
}
after(() => binary?.remove());

const installArgs = (site: TestLab, readyTimeoutSeconds: number) => [
  "install",
  "-f",
  site.file,
  "--output",
  "json",
  "--node-binary",
  nodeBinary(),
  "--ready-timeout",
  String(readyTimeoutSeconds),
];

/** A lab site that is up, with the simulated RKE2 release pulled from its mirror into the store. */
async function pulledSite(offset: number, hosts: Parameters<typeof createTestLab>[0]["hosts"]): Promise<TestLab> {
  const site = await createTestLab({ offset, hosts });
  appendFileSync(site.file, `  artifacts: { source: "http://${site.bootstrapAddress}:${LAB_MIRROR_PORT}/rke2" }\n`);
  await site.up();
  const pull = await runAirstrap(["artifacts", "pull", "-f", site.file], { cwd: site.dir });
  assert.equal(pull.code, 0, pull.stderr);
  return site;
}

const failuresOf = (events: JsonEvent[]) =>
  events.filter((e) => e.kind === "install.host.fail").map((e) => `${e.host} [${e.phase}] ${e.message}`);

const changesOf = (events: JsonEvent[]) =>
  events.filter((e) => e.kind === "install.change").map((e) => `${e.host}: ${e.message}`);

async function waitReady(site: TestLab): Promise<void> {
  const wait = await runAirstrap(["wait", "-f", site.file, "--timeout", "120"], { cwd: site.dir });
  assert.equal(wait.code, 0, `${wait.stdout}\n${wait.stderr}`);
  for (const host of site.hosts) assert.match(wait.stdout, new RegExp(`^${host.name}\\s+Ready`, "m"));
}

/**
 * One server and three agents: with a single server there is nothing for the agents' node-local
 * load balancer to fail over to, so stopping it really takes the cluster away from them. The run
 * is paused (SIGSTOP) the moment the agent phase starts, the primary is shut down, and the run
 * resumes: every agent then installs and starts against a cluster that is gone. The primary is
 * ready about 3 s after it starts in the lab, so a 25 s ready timeout leaves it ample room while
 * bounding how long the agents, which cannot become ready, are waited for.
 */
describe("the primary stops while the agents install", { skip: skipReason ?? false }, () => {
  let site: TestLab;
  let faulty: CliResult;
  let stopPrimary: CliResult | undefined;

  before(async () => {
    site = await pulledSite(21, [
      { name: "srv-1", role: "server", octet: 11 },
      { name: "agt-1", role: "agent", octet: 21 },
      { name: "agt-2", role: "agent", octet: 22 },
      { name: "agt-3", role: "agent", octet: 23 },
    ]);
    let stopping: Promise<void> | undefined;
    const run = streamAirstrap(installArgs(site, 25), {
      cwd: site.dir,
      timeoutMs: 240_000,
      onEvent(event, child) {
        if (stopping || event.kind !== "install.phase.start" || event.phase !== "Join the agents") return;
        child.kill("SIGSTOP");
        stopping = runAirstrap(["lab", "stop", "srv-1", "-f", site.file], { cwd: site.dir })
          .then((result) => {
            stopPrimary = result;
          })
          .finally(() => child.kill("SIGCONT"));
      },
    });
    faulty = await run.done;
    await stopping;
  });
  after(async () => {
    await site?.remove();
  });

  test("the run fails and names every agent with its phase and reason", () => {
    assert.equal(
      stopPrimary?.code,
      0,
      `the primary was not stopped mid-run: ${stopPrimary?.stderr ?? "never reached the agent phase"}`,
    );
    const events = jsonEvents(faulty.stdout);
    assert.ok(
      events.some(
        (e) => e.kind === "install.host.done" && e.host === "srv-1" && e.phase === "Start the primary server",
      ),
      "the primary was up before the agents started",
    );
    assert.equal(faulty.code, 1, `${failuresOf(events).join("\n")}\n${faulty.stderr}`);
    const fails = events.filter((e) => e.kind === "install.host.fail");
    for (const agent of ["agt-1", "agt-2", "agt-3"]) {
      const failure = fails.find((e) => e.host === agent);
      assert.equal(failure?.phase, "Join the agents", `${agent}: ${failuresOf(events).join("\n")}`);
      assert.match(failure?.message ?? "", /rke2 did not become ready within 25 s/);
      assert.match(String(failure?.detail?.hint), new RegExp(`journalctl -u rke2-agent on ${agent}`));
    }
    // The kubeconfig is read from the primary, which is down: that is reported too, not hidden.
    assert.equal(fails.find((e) => e.host === "srv-1")?.phase, "Save the kubeconfig", failuresOf(events).join("\n"));
  });

  test("after lab start the re-run completes and every node is Ready", async () => {
    const start = await runAirstrap(["lab", "start", "srv-1", "-f", site.file], { cwd: site.dir });
    assert.equal(start.code, 0, start.stderr);
    const again = await runAirstrap(installArgs(site, 120), { cwd: site.dir });
    assert.equal(again.code, 0, `${failuresOf(jsonEvents(again.stdout)).join("\n")}\n${again.stderr}`);
    await waitReady(site);
  });

  test("a third run changes nothing", async () => {
    const third = await runAirstrap(installArgs(site, 120), { cwd: site.dir });
    assert.equal(third.code, 0, third.stderr);
    assert.deepEqual(changesOf(jsonEvents(third.stdout)), []);
  });
});

/**
 * One lab for two checks, in this order: the dry run must leave the hosts exactly as they were,
 * so the real install after it (with its SSH link cut mid-upload) still starts on fresh hosts.
 */
describe("dry run, then an SSH link cut mid-upload", { skip: skipReason ?? false }, () => {
  let site: TestLab;

  before(async () => {
    site = await pulledSite(22, [
      { name: "srv-1", role: "server", octet: 11 },
      { name: "agt-1", role: "agent", octet: 21 },
      { name: "agt-2", role: "agent", octet: 22 },
    ]);
  });
  after(async () => {
    await site?.remove();
  });

  test("--dry-run lists changes for every host and changes no host's filesystem", async () => {
    const before = site.hosts.map((host) => snapshotHostFilesystem(site, host));
    const dry = await runAirstrap([...installArgs(site, 120), "--dry-run"], { cwd: site.dir });
    const events = jsonEvents(dry.stdout);
    assert.equal(dry.code, 0, `${failuresOf(events).join("\n")}\n${dry.stderr}`);
    site.hosts.forEach((host, index) => {
      const difference = snapshotDifference(before[index]!, snapshotHostFilesystem(site, host));
      assert.deepEqual(difference, [], `${host.name}'s filesystem changed`);
      const planned = events.filter((e) => e.kind === "install.change.planned" && e.host === host.name);
      assert.ok(
        planned.some((e) => /^would .*the airstrap executable .*\/usr\/local\/bin\/airstrap$/.test(e.message)),
        `${host.name}: ${planned.map((e) => e.message).join("\n")}`,
      );
      assert.ok(
        planned.some((e) => e.message.startsWith(`would start rke2 ${host.role}`)),
        `${host.name}: ${planned.map((e) => e.message).join("\n")}`,
      );
    });
    assert.deepEqual(changesOf(events), [], "a dry run reports no change as made");
  });

  test("an SSH connection cut mid-upload: the upload resumes and the run completes", async () => {
    const victim = site.hosts.find((host) => host.name === "agt-1")!;
    let cut: { sentAtCut: number; killed: string } | undefined;
    // Hosts would fetch the executable over HTTP by default; this is about the SSH transfer.
    const run = streamAirstrap([...installArgs(site, 120), "--artifact-transfer", "ssh"], {
      cwd: site.dir,
      timeoutMs: 240_000,
      onEvent(event, child) {
        if (cut || event.kind !== "install.upload.progress" || event.host !== victim.name) return;
        if (event.message !== "the airstrap executable") return;
        const { sent, total } = event.detail as { sent: number; total: number };
        if (sent < total / 4) return;
        // Paused while the connection is cut, so the cut lands mid-transfer however fast the link is.
        child.kill("SIGSTOP");
        const ss = spawnSync(
          "ss",
          ["-K", "-tn", "state", "established", "dst", victim.address, "and", "dport", "=", ":22"],
          {
            encoding: "utf8",
            timeout: 10_000,
          },
        );
        child.kill("SIGCONT");
        cut = { sentAtCut: sent, killed: ss.stdout };
      },
    });
    const result = await run.done;
    const events = jsonEvents(result.stdout);
    assert.ok(cut, "the upload to agt-1 was never seen in progress");
    // A header line, then the one connection install holds to the host.
    assert.equal(cut.killed.trim().split("\n").length, 2, `ss -K killed exactly one connection:\n${cut.killed}`);
    assert.equal(result.code, 0, `${failuresOf(events).join("\n")}\n${result.stderr}`);
    assert.ok(
      events.some((e) => e.kind === "install.host.retry" && e.host === victim.name && /connection/i.test(e.message)),
      "the lost connection was retried",
    );
    const uploads = events.filter(
      (e) => e.kind === "host.upload.done" && e.host === victim.name && e.detail?.path === "/usr/local/bin/airstrap",
    );
    assert.equal(uploads.length, 1, "the executable arrived once");
    const { bytesSent, size } = uploads[0]!.detail as { bytesSent: number; size: number };
    assert.ok(bytesSent > 0 && bytesSent <= size - cut.sentAtCut, `resumed: sent ${bytesSent} of ${size} again`);

    const expected = createHash("sha256").update(readFileSync(nodeBinary())).digest("hex");
    const onHost = site.ssh(victim, "sha256sum /usr/local/bin/airstrap; ls -a /usr/local/bin");
    assert.equal(onHost.stdout.slice(0, 64), expected, "the file on the host verifies");
    assert.doesNotMatch(onHost.stdout, /airstrap-part/, "no partial upload is left behind");
    await waitReady(site);
  });
});
