import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { once } from "node:events";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage } from "node:http";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { fluxCatalog } from "../../src/artifacts/flux-catalog.js";
import { pullReleaseFiles } from "../../src/artifacts/pull-files.js";
import { planFromManifestFile } from "../../src/cli/common.js";
import { silentEvents } from "../../src/events.js";
import { gitServerMaterial } from "../../src/gitops/git-material.js";
import { receiverWebhookPath } from "../../src/gitops/objects.js";
import { readLastRun } from "../../src/install/host-logs.js";
import { type RunningSimNode, runSimServer } from "../../src/lab/sim-distro/server-node.js";
import { dashboardConfig } from "../../src/services/dashboard/config.js";
import { foldEvent, initialPageState } from "../../src/services/dashboard/page-state.js";
import { type RunningGit, startGit } from "../../src/services/git/service.js";
import { readHtpasswd } from "../../src/services/registry/auth.js";
import { newAgeIdentity } from "../../src/sops/age.js";
import { openStateDir } from "../../src/state/state-dir.js";
import { openBlobStore } from "../../src/store/blob-store.js";
import { tempDir } from "../artifacts/bundle/fixtures.js";
import { startReleaseMirror, sumsFileFor } from "../artifacts/release-mirror.js";
import { REPO } from "../helpers/cli.js";
import { fluxDeploymentImages, setKustomizationStatus } from "../helpers/flux-kubectl.js";
import { syntheticFluxInstall } from "../helpers/flux-release.js";
import { siteManifest } from "../helpers/site-manifest.js";
import { launchChromium, NO_CHROMIUM } from "../peers/chromium.js";

/** The page's document, as the functions below see it when they run in the browser. */
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): ArrayLike<unknown>;
};

/**
 * `airstrap gitops bootstrap` against the lab's SIMULATED API server (src/lab/sim-distro): real
 * kubectl reads what it applied and plays the Flux controllers' part by writing the
 * Kustomizations' status (the real controllers cannot run here: no container runtime).
 */
const run = promisify(execFile);
const TSX = import.meta.resolve("tsx");
const FLUX = "v2.9.4";
const IMAGES = {
  "source-controller": "ghcr.io/fluxcd/source-controller:v1.9.4",
  "kustomize-controller": "ghcr.io/fluxcd/kustomize-controller:v1.9.2",
  "helm-controller": "ghcr.io/fluxcd/helm-controller:v1.6.0",
  "notification-controller": "ghcr.io/fluxcd/notification-controller:v1.9.0",
};
const base = 23000 + ((process.pid * 13) % 6000);
const ports = { api: base, supervisor: base + 1, git: base + 2, hook: 30000 + (process.pid % 2700) };

interface Lab {
  dir: string;
  siteDir: string;
  kubeconfig: string;
  storeRoot: string;
  ageKeyFile: string;
  ageIdentity: string;
  secrets: string[];
  sim: RunningSimNode;
  git: RunningGit;
  /** Every stdout and stderr of every CLI run. */
  outputs: string[];
}

async function hasKubectl(): Promise<boolean> {
  return run("kubectl", ["version", "--client"]).then(
    () => true,
    () => false,
  );
}

function kubectl(lab: Lab, args: string[]): Promise<string> {
  return run("kubectl", ["--kubeconfig", lab.kubeconfig, ...args]).then((r) => r.stdout);
}

function bootstrapProcess(
  lab: Lab,
  extra: string[] = [],
): {
  child: ChildProcess;
  output: () => string;
  done: Promise<{ code: number; out: string }>;
} {
  const child = spawn(
    process.execPath,
    [
      "--import",
      TSX,
      join(REPO, "src/cli/main.ts"),
      "gitops",
      "bootstrap",
      "-f",
      join(lab.siteDir, "cluster.yaml"),
      "--kubeconfig",
      lab.kubeconfig,
      "--store",
      lab.storeRoot,
      "--age-key",
      lab.ageKeyFile,
      "--timeout",
      "300",
      ...extra,
    ],
    { env: { ...process.env, NO_COLOR: "1", CI: "1" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout!.on("data", (chunk) => (out += chunk));
  child.stderr!.on("data", (chunk) => (out += chunk));
  const done = once(child, "close").then(([code]) => {
    lab.outputs.push(out);
    return { code: code as number, out };
  });
  return { child, output: () => out, done };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const attempt = () =>
    check().catch((error: Error) => {
      if (error.message.startsWith("bootstrap ended")) throw error;
      return false;
    });
  while (!(await attempt())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** What kustomize-controller would write: Ready with the revision applied, for the current generation. */
async function setStage(lab: Lab, stage: string, ready: "True" | "False", reason: string, message: string) {
  const head = (await run("git", ["--git-dir", join(lab.dir, "repos", "site.git"), "rev-parse", "main"])).stdout.trim();
  await setKustomizationStatus((args) => kubectl(lab, args), stage, `main@sha1:${head}`, ready, reason, message);
}

async function resourceVersions(lab: Lab): Promise<string> {
  const kinds = "secrets,deployments,services,gitrepositories,kustomizations,receivers,networkpolicies,serviceaccounts";
  const names = await kubectl(lab, ["-n", "flux-system", "get", kinds, "-o", "name"]);
  const json = JSON.parse(await kubectl(lab, ["-n", "flux-system", "get", kinds, "-o", "json"])) as {
    items: Array<{ kind: string; metadata: { name: string; resourceVersion: string } }>;
  };
  assert.ok(names.split("\n").length > 10);
  return json.items.map((i) => `${i.kind}/${i.metadata.name}@${i.metadata.resourceVersion}`).join("\n");
}

describe("gitops bootstrap against the simulated API server", { timeout: 600_000 }, () => {
  let lab: Lab | undefined;
  let skipReason: string | undefined;
  const cleanups: Array<() => unknown> = [];
  // The suite's setup lives as long as the suite: its helpers' cleanups run in after().
  const scope = { after: (fn: () => unknown) => void cleanups.push(fn) } as unknown as import("node:test").TestContext;

  before(async () => {
    if (!(await hasKubectl())) {
      skipReason = "needs kubectl (scripts/install-deps.sh installs it)";
      return;
    }
    const dir = await tempDir(scope, "gitops-lab");
    const siteDir = join(dir, "site");
    for (const [stage, file, text] of [
      ["bootstrap", "namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: git\n"],
      ["cluster-base-apps", "vault.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: vault\n"],
      ["cluster-apps", "apps.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: apps\ndata:\n  a: '1'\n"],
    ] as const) {
      await mkdir(join(siteDir, "stages", stage), { recursive: true });
      await writeFile(join(siteDir, "stages", stage, file), text);
    }
    await writeFile(
      join(siteDir, "cluster.yaml"),
      stringify(
        siteManifest({
          hosts: [{ name: "s1", address: "127.0.0.1", role: "server" }],
          stages: [
            { name: "bootstrap", path: "stages/bootstrap" },
            { name: "cluster-base-apps", path: "stages/cluster-base-apps", dependsOn: ["bootstrap"] },
            { name: "cluster-apps", path: "stages/cluster-apps", dependsOn: ["cluster-base-apps"] },
          ],
          gitops: { url: `http://127.0.0.1:${ports.git}/site.git`, webhookNodePort: ports.hook },
        }),
      ),
    );

    // The connected side carried Flux's files into the store (from a loopback mirror).
    const install = Buffer.from(syntheticFluxInstall(IMAGES));
    const mirror = await startReleaseMirror(scope, "fluxcd/flux2", FLUX, {
      "install.yaml": install,
      "flux_2.9.4_checksums.txt": sumsFileFor({ "install.yaml": install }),
    });
    const storeRoot = join(dir, "store");
    await pullReleaseFiles({
      store: await openBlobStore(storeRoot),
      catalog: fluxCatalog({ version: FLUX, source: mirror.source }),
      events: silentEvents,
    });

    const { identity } = await newAgeIdentity();
    const ageKeyFile = join(dir, "age.key");
    await writeFile(ageKeyFile, `# test key\n${identity}\n`, { mode: 0o600 });

    const sim = await runSimServer(
      {
        distro: "rke2",
        role: "server",
        token: "lab-secret-token",
        nodeName: "s1",
        nodeIp: "127.0.0.1",
        nodeLabels: [],
        nodeTaints: [],
        tlsSan: ["localhost"],
        dataDir: join(dir, "s1"),
        writeKubeconfig: join(dir, "s1", "rke2.yaml"),
        bindAddress: "127.0.0.1",
        apiPort: ports.api,
        supervisorPort: ports.supervisor,
      },
      "v1.31.4+rke2r1",
      silentEvents,
    );

    // The git server runs with what bootstrap uses: the state dir's push user and read token.
    const state = await openStateDir(join(siteDir, ".airstrap"));
    const material = await gitServerMaterial(state);
    const git = await startGit(
      {
        listen: [{ address: "127.0.0.1", port: ports.git }],
        root: join(dir, "repos"),
        users: await readHtpasswd(state.file("git/htpasswd")),
        readTokens: [material.readToken],
        git: "git",
      },
      silentEvents,
    );
    lab = {
      dir,
      siteDir,
      kubeconfig: join(dir, "s1", "rke2.yaml"),
      storeRoot,
      ageKeyFile,
      ageIdentity: identity,
      secrets: [material.pushPassword, material.readToken, material.webhookToken, identity],
      sim,
      git,
      outputs: [],
    };
  });

  after(async () => {
    await lab?.git.close();
    await lab?.sim.close();
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  test("applies Flux with images on the site registry, the site objects with their dependsOn chain, and waits stage by stage", async (t) => {
    if (!lab) return t.skip(skipReason ?? "setup failed");
    const l = lab;
    // With the status page on: a browser watches the stages as the run goes.
    const first = bootstrapProcess(l, ["--dashboard", "127.0.0.1:0"]);
    t.after(() => first.child.kill());
    await until("the last stage's Kustomization", async () => {
      if (first.child.exitCode !== null) throw new Error(`bootstrap ended early:\n${first.output()}`);
      return (await kubectl(l, ["-n", "flux-system", "get", "kustomizations", "-o", "name"])).includes("cluster-apps");
    });
    assert.deepEqual(
      await fluxDeploymentImages((args) => kubectl(l, args)),
      Object.values(IMAGES)
        .map((image) => `s1.site.lan:5000/${image}`)
        .sort(),
    );
    const chain = await kubectl(l, [
      "-n",
      "flux-system",
      "get",
      "kustomizations",
      "-o",
      'jsonpath={range .items[*]}{.metadata.name}<{.spec.dependsOn[*].name}>{.spec.path} prune={.spec.prune} wait={.spec.wait} {.spec.decryption.provider}/{.spec.decryption.secretRef.name}{"\\n"}{end}',
    ]);
    assert.deepEqual(chain.trim().split("\n").sort(), [
      "bootstrap<>./stages/bootstrap prune=true wait=true sops/sops-age",
      "cluster-apps<cluster-base-apps>./stages/cluster-apps prune=true wait=true sops/sops-age",
      "cluster-base-apps<bootstrap>./stages/cluster-base-apps prune=true wait=true sops/sops-age",
    ]);
    assert.equal(
      await kubectl(l, [
        "-n",
        "flux-system",
        "get",
        "gitrepository",
        "site",
        "-o",
        "jsonpath={.spec.url} {.spec.ref.branch} {.spec.secretRef.name}",
      ]),
      `http://127.0.0.1:${ports.git}/site.git main airstrap-git`,
    );
    assert.equal(
      await kubectl(l, [
        "-n",
        "flux-system",
        "get",
        "receiver",
        "airstrap-git",
        "-o",
        "jsonpath={.spec.type} {.spec.resources[0].kind}/{.spec.resources[0].name}",
      ]),
      "generic-hmac GitRepository/site",
    );
    const ageSecret = await kubectl(l, [
      "-n",
      "flux-system",
      "get",
      "secret",
      "sops-age",
      "-o",
      "jsonpath={.data.age\\.agekey}",
    ]);
    assert.equal(
      Buffer.from(ageSecret, "base64").toString().trim(),
      l.ageIdentity,
      "the sops-age Secret holds the key",
    );

    const browser = await launchChromium();
    t.after(() => browser?.close());
    const page = await browser?.newPage();
    if (page === undefined) t.diagnostic(NO_CHROMIUM);
    else {
      const url = /status page: (http:\/\/\S+)/.exec(first.output())?.[1];
      assert.ok(url, first.output());
      await page.goto(url);
      await page.waitForFunction(() => document.querySelectorAll("#stages tbody tr").length === 3, undefined, {
        timeout: 30_000,
      });
    }

    // Playing kustomize-controller: the stages become Ready one after another.
    for (const stage of ["bootstrap", "cluster-base-apps", "cluster-apps"])
      await setStage(l, stage, "True", "ReconciliationSucceeded", "Applied revision: main@sha1:0123456789ab");
    const result = await first.done;
    assert.equal(result.code, 0, result.out);
    const head = (await run("git", ["--git-dir", join(l.dir, "repos", "site.git"), "rev-parse", "main"])).stdout.trim();
    if (page !== undefined) {
      // The run's page sends its last state before it stops: every stage Ready at the pushed commit.
      await page.waitForFunction(
        () => document.querySelector("#connection")?.textContent === "the run ended; this is its last state",
        undefined,
        { timeout: 30_000 },
      );
      const rows = await page.$$eval("#stages tbody tr", (trs) =>
        trs.map((tr) => [...tr.children].map((cell) => cell.getAttribute("title") ?? cell.textContent ?? "")),
      );
      assert.deepEqual(
        rows.map(([name, dependsOn, revision, ready]) => [name, dependsOn, revision, ready?.slice(0, 7)]),
        [
          ["bootstrap", "—", `main@sha1:${head}`, "✓ Ready"],
          ["cluster-base-apps", "bootstrap", `main@sha1:${head}`, "✓ Ready"],
          ["cluster-apps", "cluster-base-apps", `main@sha1:${head}`, "✓ Ready"],
        ],
      );
      assert.match((await page.textContent("#gitops-steps")) ?? "", /✓ pushed [0-9a-f]{12} to main/);
      assert.equal(await page.textContent("#run"), `Run ✓ complete — 3 stages Ready at ${head.slice(0, 12)}`);
      await mkdir("test-artifacts/dashboard", { recursive: true });
      await page.screenshot({ path: "test-artifacts/dashboard/gitops-lab-stages.png", fullPage: true });
    }
    assert.ok(result.out.includes(`3 stages Ready: bootstrap (main@sha1:${head})`), result.out);
    assert.ok(
      result.out.indexOf("[stage bootstrap] bootstrap  Ready=True") <
        result.out.indexOf("[stage cluster-apps] cluster-apps  Ready=True"),
      "stages are followed in order",
    );

    // The pushed repository holds the stage folders and nothing of the state dir.
    const clone = join(l.dir, "clone");
    await run("git", [
      "-c",
      `http.extraHeader=Authorization: Basic ${Buffer.from(`flux:${l.secrets[1]}`).toString("base64")}`,
      "clone",
      "-q",
      `http://127.0.0.1:${ports.git}/site.git`,
      clone,
    ]);
    const files = (await run("git", ["-C", clone, "ls-files"])).stdout.trim().split("\n");
    assert.deepEqual(files, [
      "stages/bootstrap/namespace.yaml",
      "stages/cluster-apps/apps.yaml",
      "stages/cluster-base-apps/vault.yaml",
    ]);
  });

  test("a second run changes nothing: no push, no object written", async (t) => {
    if (!lab) return t.skip(skipReason ?? "setup failed");
    const before = await resourceVersions(lab);
    const head = (await run("git", ["--git-dir", join(lab.dir, "repos", "site.git"), "rev-parse", "main"])).stdout;
    const second = await bootstrapProcess(lab).done;
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /nothing to push; 0 of \d+ objects created or changed/);
    assert.equal(await resourceVersions(lab), before, "every object keeps its resourceVersion");
    assert.equal(
      (await run("git", ["--git-dir", join(lab.dir, "repos", "site.git"), "rev-parse", "main"])).stdout,
      head,
    );
  });

  test("a changed stage folder is pushed and the git server's webhook reaches the Receiver's path, signed", async (t) => {
    if (!lab) return t.skip(skipReason ?? "setup failed");
    const l = lab;
    const webhookUrl = (await readFile(join(l.siteDir, ".airstrap", "git", "webhook-url"), "utf8")).trim();
    assert.equal(webhookUrl, `http://127.0.0.1:${ports.hook}${receiverWebhookPath(l.secrets[2]!)}`);
    // Standing in for notification-controller behind the node port.
    const calls: Array<{ url: string; signature: string; body: string }> = [];
    const receiver = createServer((req: IncomingMessage, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        calls.push({ url: req.url ?? "", signature: String(req.headers["x-signature"]), body });
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(ports.hook, "127.0.0.1", resolve));
    t.after(() => receiver.close());
    const config = {
      listen: [{ address: "127.0.0.1", port: ports.git }],
      root: join(l.dir, "repos"),
      users: await readHtpasswd(join(l.siteDir, ".airstrap", "git", "htpasswd")),
      readTokens: [l.secrets[1]!],
      webhook: { url: webhookUrl, token: l.secrets[2]! },
      git: "git",
    };
    await l.git.reload(config);
    await writeFile(
      join(l.siteDir, "stages", "cluster-apps", "more.yaml"),
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: more\n",
    );
    const headOf = async () =>
      (await run("git", ["--git-dir", join(l.dir, "repos", "site.git"), "rev-parse", "main"])).stdout.trim();
    const before = await headOf();
    const running = bootstrapProcess(l);
    t.after(() => running.child.kill());
    await until("the new push", async () => {
      if (running.child.exitCode !== null) throw new Error(`bootstrap ended early:\n${running.output()}`);
      return (await headOf()) !== before && running.output().includes("waiting for revision");
    });
    // The stages are Ready at the old revision: the wait holds until they applied the new one.
    for (const stage of ["bootstrap", "cluster-base-apps", "cluster-apps"])
      await setStage(l, stage, "True", "ReconciliationSucceeded", "Applied revision: the new one");
    const third = await running.done;
    assert.equal(third.code, 0, third.out);
    assert.match(
      third.out,
      /\[stage bootstrap\] bootstrap {2}Ready=True {2}ReconciliationSucceeded {2}main@sha1:[0-9a-f]{40} {2}waiting for revision/,
    );
    assert.match(third.out, /pushed [0-9a-f]{12}/);
    await until("the webhook call", async () => calls.length > 0, 30_000);
    assert.equal(calls[0]!.url, new URL(webhookUrl).pathname);
    assert.equal(
      calls[0]!.signature,
      `sha256=${createHmac("sha256", l.secrets[2]!).update(calls[0]!.body).digest("hex")}`,
    );
  });

  test("a failing stage is reported by name, after the stages before it are Ready", async (t) => {
    if (!lab) return t.skip(skipReason ?? "setup failed");
    await setStage(
      lab,
      "cluster-base-apps",
      "False",
      "HealthCheckFailed",
      "timeout waiting for: [Deployment/vault/vault status: 'InProgress']",
    );
    const failed = await bootstrapProcess(lab).done;
    assert.equal(failed.code, 1, failed.out);
    assert.match(
      failed.out,
      /stage cluster-base-apps failed: HealthCheckFailed: timeout waiting for: \[Deployment\/vault\/vault/,
    );
    assert.match(failed.out, /\[stage bootstrap\] bootstrap {2}Ready=True/);
    assert.doesNotMatch(failed.out, /\[stage cluster-apps\]/, "the wait stops at the first failing stage");
  });

  test("each run is logged in the state dir: the status page folds the last one into its stage rows", async (t) => {
    if (!lab) return t.skip(skipReason ?? "setup failed");
    const logs = join(lab.siteDir, ".airstrap", "logs");
    assert.equal((await readdir(logs)).length, 4, "one run per gitops bootstrap");
    // What `airstrap dashboard` does with the state dir: the last run's events, folded.
    const { events } = await readLastRun(logs);
    const { plan } = await planFromManifestFile(join(lab.siteDir, "cluster.yaml"));
    const config = dashboardConfig(plan, { address: "127.0.0.1", port: 0 });
    const state = events.reduce(foldEvent, initialPageState(config.site, config.hosts, config.stages));
    const head = (
      await run("git", ["--git-dir", join(lab.dir, "repos", "site.git"), "rev-parse", "main"])
    ).stdout.trim();
    assert.deepEqual(
      state.gitops.stages.map((s) => [s.name, s.dependsOn, s.state, s.revision ?? ""]),
      [
        ["bootstrap", [], "ready", `main@sha1:${head}`],
        ["cluster-base-apps", ["bootstrap"], "failed", `main@sha1:${head}`],
        ["cluster-apps", ["cluster-base-apps"], "pending", ""],
      ],
    );
    assert.match(
      state.gitops.stages[1]?.words ?? "",
      /^failed: HealthCheckFailed: timeout waiting for: \[Deployment\/vault\/vault/,
    );
    assert.equal(
      state.gitops.steps.push?.text,
      `main already holds these folders (${head.slice(0, 12)}): nothing pushed`,
    );
    assert.match(state.gitops.steps.webhook?.text ?? "", /^git server webhook: http:\/\/127\.0\.0\.1:\d+\/hook\//);
    assert.equal(state.run.outcome, "failed");
    assert.match(state.run.message ?? "", /^stage cluster-base-apps failed: HealthCheckFailed/);
    const page = JSON.stringify(state);
    for (const secret of lab.secrets) assert.ok(!page.includes(secret), "a secret in the page's state");
  });

  test("the Secrets' values never appear in any output, log, state file but their own, or the repository", async (t) => {
    if (!lab) return t.skip(skipReason ?? "setup failed");
    const forms = lab.secrets.flatMap((s) => [
      s,
      Buffer.from(s).toString("base64"),
      Buffer.from(`${s}\n`).toString("base64"),
    ]);
    for (const output of lab.outputs)
      for (const form of forms) assert.ok(!output.includes(form), "a secret in CLI output");
    const own = new Set(["git/push-password", "git/read-token", "git/webhook-token", "git/htpasswd"]);
    const stateDir = join(lab.siteDir, ".airstrap");
    for (const file of await readdir(stateDir, { recursive: true })) {
      if (own.has(file)) continue;
      const text = await readFile(join(stateDir, file), "utf8").catch(() => "");
      for (const form of forms)
        assert.ok(!text.includes(form), `a secret in ${relative(lab.siteDir, join(stateDir, file))}`);
    }
    const history = (await run("git", ["--git-dir", join(lab.dir, "repos", "site.git"), "log", "-p", "--all"])).stdout;
    assert.ok(!history.includes("AGE-SECRET-KEY-"), "no age key in the repository");
    for (const form of forms) assert.ok(!history.includes(form));
  });
});
