import assert from "node:assert/strict";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { BuiltImage } from "../../src/image/build.js";
import { readLastRun } from "../../src/install/host-logs.js";
import { fluxDeploymentImages } from "../helpers/flux-kubectl.js";
import { DHCP_PORT_LOCK, holdMachineLock } from "../helpers/machine-lock.js";
import { waitForValue } from "../helpers/wait-for.js";
import { labSkipReason, type TestLab } from "../lab/lab-fixture.js";
import {
  airstrap,
  bootFilesForInit,
  FLUX_IMAGES,
  kubectl,
  pulledLabSite,
  type Running,
  STAGES,
  setStage,
  siteHead,
  stageTheSite,
  untilWhileRunning,
} from "./gitops-lab-fixture.js";

const skipReason = await labSkipReason();
const PHASE_TIMEOUT_MS = 900_000;

/**
 * The GitOps phase at the end of `airstrap up` and of `airstrap init`, on one lab site (a server
 * and an agent as systemd-nspawn hosts with the simulated distro and API server): install →
 * every node Ready → push the stage folders to `airstrap git serve` → Flux's objects → the wait,
 * stage by stage, with real kubectl playing kustomize-controller (status subresource).
 */
describe("the GitOps phase of up and init on a lab site", { skip: skipReason ?? false, timeout: 3_600_000 }, () => {
  let site: TestLab;
  let binary: { path: string; remove(): void };
  let image: BuiltImage;
  let ageKeyFile: string;
  const secrets: string[] = [];
  const outputs: string[] = [];
  const cleanups: Array<() => unknown> = [];
  const scope = { after: (fn: () => unknown) => void cleanups.push(fn) } as unknown as import("node:test").TestContext;
  let gitServer: Running | undefined;
  const nodeArgs = () => ["--node-binary", binary.path, "--image", image.archive, "--age-key", ageKeyFile];
  /** The stages in the order the live view reported them Ready at `head` (not still waiting for it). */
  const readyAt = (out: string, head: string) =>
    out
      .split("\n")
      .map((line) =>
        / \[stage (\S+)\] \S+ {2}Ready=True {2}\S+ {2}main@sha1:([0-9a-f]{40})(?!.*waiting for revision)/.exec(line),
      )
      .filter((match) => match !== null && match[2] === head)
      .map((match) => match![1]);
  const stopGitServer = async () => {
    if (gitServer && gitServer.child.exitCode === null) {
      gitServer.child.kill("SIGTERM");
      await gitServer.done;
    }
  };

  before(async () => {
    ({ site, binary, image } = await pulledLabSite(17));
    const staged = await stageTheSite(site, scope);
    ageKeyFile = staged.ageKeyFile;
    // The git server Flux reads from, as docs/gitops.md runs it: on spec.gitops.url (the bootstrap address).
    gitServer = airstrap(site, ["git", "serve", "-f", site.file], outputs);
    await waitForValue(
      () =>
        new Promise<true | undefined>((resolve) => {
          const socket = createConnection({ host: site.bootstrapAddress, port: 8418 });
          socket.on("connect", () => {
            socket.destroy();
            resolve(true);
          });
          socket.on("error", () => resolve(undefined));
        }),
      `airstrap git serve on ${site.bootstrapAddress}:8418`,
      60_000,
    );
    const git = join(site.dir, ".airstrap", "git");
    for (const file of ["push-password", "read-token", "webhook-token"])
      secrets.push((await readFile(join(git, file), "utf8").catch(() => "")).trim());
    secrets.push(staged.age);
  });

  after(async () => {
    await stopGitServer();
    for (const cleanup of cleanups.reverse()) await cleanup();
    await site?.remove();
    binary?.remove();
  });

  test("up installs, pushes the site repository, applies Flux and waits for the stages in order", async () => {
    const up = airstrap(site, ["up", "-f", site.file, ...nodeArgs(), "--ready-timeout", "600"], outputs);
    await untilWhileRunning(
      up,
      "the last stage's Kustomization",
      async () =>
        (await kubectl(site, ["-n", "flux-system", "get", "kustomizations", "-o", "name"])).includes("cluster-apps"),
      PHASE_TIMEOUT_MS,
    );
    const chain = await kubectl(site, [
      "-n",
      "flux-system",
      "get",
      "kustomizations",
      "-o",
      'jsonpath={range .items[*]}{.metadata.name}<{.spec.dependsOn[*].name}>{"\\n"}{end}',
    ]);
    assert.deepEqual(chain.trim().split("\n").sort(), [
      "bootstrap<>",
      "cluster-apps<cluster-base-apps>",
      "cluster-base-apps<bootstrap>",
    ]);
    assert.deepEqual(
      (await fluxDeploymentImages((args) => kubectl(site, args))).map((i) => i.replace(/@sha256:[0-9a-f]{64}$/, "")),
      Object.values(FLUX_IMAGES)
        .map((i) => `srv-1.test.lan:5000/${i}`)
        .sort(),
    );
    // Playing kustomize-controller, last stage first: the wait still reports them in manifest order.
    for (const stage of [...STAGES].reverse())
      await setStage(site, stage, "True", "ReconciliationSucceeded", "Applied revision: main");
    const result = await up.done;
    assert.equal(result.code, 0, result.out);
    const head = await siteHead(site);
    assert.deepEqual(readyAt(result.out, head), [...STAGES], result.out);
    assert.ok(result.out.includes(`pushed ${head.slice(0, 12)}`), result.out);
    assert.ok(
      result.out.includes(`3 stages Ready: ${STAGES.map((s) => `${s} (main@sha1:${head})`).join(", ")}`),
      result.out,
    );
    assert.match(result.out, /^2 nodes Ready; kubeconfig: /m);
    // The run's log ends with the same report: `airstrap dashboard` shows it afterwards.
    const { events } = await readLastRun(join(site.dir, ".airstrap", "logs"));
    const end = [...events].reverse().find((e) => e.kind === "run.end");
    assert.equal((end?.detail as { ok?: boolean } | undefined)?.ok, true);
    assert.match(end?.message ?? "", /3 stages Ready: bootstrap/);
  });

  test("a failing stage is named, the stages after it are not waited for, and up exits non-zero", async () => {
    await setStage(
      site,
      "cluster-base-apps",
      "False",
      "HealthCheckFailed",
      "timeout waiting for: [Deployment/vault/vault status: 'InProgress']",
    );
    const result = await airstrap(site, ["up", "-f", site.file, ...nodeArgs()], outputs).done;
    assert.equal(result.code, 1, result.out);
    assert.match(
      result.out,
      /stage cluster-base-apps failed: HealthCheckFailed: timeout waiting for: \[Deployment\/vault/,
    );
    assert.deepEqual(readyAt(result.out, await siteHead(site)), ["bootstrap"]);
    assert.match(result.out, /main already holds these folders \([0-9a-f]{12}\): nothing pushed/);
    assert.match(result.out, /\d+ objects: 0 created or changed/, "the second run writes no object");
    const { events } = await readLastRun(join(site.dir, ".airstrap", "logs"));
    const end = [...events].reverse().find((e) => e.kind === "run.end");
    assert.equal((end?.detail as { ok?: boolean } | undefined)?.ok, false);
    assert.match(end?.message ?? "", /^stage cluster-base-apps failed: HealthCheckFailed/);
  });

  test("init on machines that already answer SSH: boot wait → install → Ready → a changed stage pushed and waited for", async (t) => {
    // init's boot services bind DHCP's port 67 in this namespace, as the PXE lab test's init does.
    await holdMachineLock(t, DHCP_PORT_LOCK, {
      onWait: (holder) => console.log(`# waiting for pid ${holder}'s init to free port 67`),
    });
    // The boot files init serves (nothing boots from them: every machine is up already).
    await bootFilesForInit(site);
    await writeFile(
      join(site.dir, "stages", "cluster-apps", "more.yaml"),
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: more\n",
    );
    const before = await siteHead(site);
    const init = airstrap(site, ["init", "-f", site.file, ...nodeArgs(), "--timeout", "1500"], outputs);
    await untilWhileRunning(
      init,
      "the push of the changed stage",
      async () => (await siteHead(site)) !== before && init.output().includes("waiting for revision"),
      PHASE_TIMEOUT_MS,
    );
    for (const stage of STAGES) await setStage(site, stage, "True", "ReconciliationSucceeded", "Applied revision");
    const result = await init.done;
    assert.equal(result.code, 0, result.out);
    const head = await siteHead(site);
    assert.match(result.out, /Every machine is already up \(it answers SSH\): nothing to power on/);
    assert.ok(result.out.includes("install complete"), result.out);
    assert.match(result.out, /^2 nodes Ready; kubeconfig: /m);
    assert.ok(result.out.includes(`pushed ${head.slice(0, 12)}`), result.out);
    assert.deepEqual(readyAt(result.out, head), [...STAGES], result.out);
    assert.ok(
      result.out.includes(`3 stages Ready: ${STAGES.map((s) => `${s} (main@sha1:${head})`).join(", ")}`),
      result.out,
    );
    assert.match(result.out, /boot services stopped/);
  });

  test("no secret (age key, git password and tokens) appears in any output, log or state file but its own", async () => {
    await stopGitServer();
    assert.equal(secrets.filter((s) => s.length >= 16).length, 4, "the four secrets were read");
    const forms = secrets.flatMap((s) => [
      s,
      Buffer.from(s).toString("base64"),
      Buffer.from(`${s}\n`).toString("base64"),
    ]);
    assert.ok(outputs.length >= 4, "up twice, init and the git server");
    for (const output of outputs) for (const form of forms) assert.ok(!output.includes(form), "a secret in CLI output");
    const own = new Set(["git/push-password", "git/read-token", "git/webhook-token", "git/htpasswd"]);
    const stateDir = join(site.dir, ".airstrap");
    let scanned = 0;
    for (const file of await readdir(stateDir, { recursive: true })) {
      if (own.has(file) || file.startsWith("store") || file.startsWith("git/repositories")) continue;
      const path = join(stateDir, file);
      const info = await stat(path);
      if (!info.isFile() || info.size > 64 * 1024 * 1024) continue;
      const text = await readFile(path, "latin1");
      scanned++;
      for (const form of forms) assert.ok(!text.includes(form), `a secret in .airstrap/${file}`);
    }
    assert.ok(scanned > 10, `${scanned} state files scanned`);
  });
});
