import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type PageAsset, pageAssets } from "../../src/services/dashboard/page-assets.js";
import { REPO } from "../helpers/cli.js";

const TSX = import.meta.resolve("tsx");

/** `airstrap dashboard` serves the last run from the state dir. */
test("airstrap dashboard shows the last run of the state dir, behind the printed token", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "airstrap-dashboard-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(join(REPO, "examples/rke2-ha.yaml"), join(dir, "cluster.yaml"));
  writeRun(join(dir, ".airstrap/logs"), "2026-12-06T10-00-00-000Z", "an older run");
  writeRun(join(dir, ".airstrap/logs"), "2026-12-07T10-00-00-000Z", "2 nodes Ready");

  const child = spawn(
    process.execPath,
    ["--import", TSX, join(REPO, "src/cli/main.ts"), "dashboard", "-f", "cluster.yaml", "--listen", "127.0.0.2:0"],
    {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  t.after(() => clearTimeout(killer));
  try {
    const url = await printedUrl(child.stderr);
    const base = url.slice(0, url.indexOf("/?token="));
    assert.equal((await fetch(`${base}/api/state`)).status, 401);
    const entry = await fetch(url, { redirect: "manual" });
    assert.equal(entry.status, 303);
    const cookie = (entry.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const get = (path: string) => fetch(`${base}${path}`, { headers: { cookie } });

    const state = (await (await get("/api/state")).json()) as {
      site: string;
      hosts: Array<{ name: string; ready: boolean }>;
      run: { outcome: string; message: string };
    };
    assert.equal(state.site, "edge");
    assert.deepEqual(
      state.hosts.filter((h) => h.ready).map((h) => h.name),
      ["k8s-server-01", "k8s-agent-01"],
    );
    assert.equal(state.run.outcome, "complete");
    assert.equal(state.run.message, "2 nodes Ready", "the newest run, not the older one");

    const html = await (await get("/")).text();
    assert.match(html, /<script src="\/app.js" defer><\/script>/);
    assert.doesNotMatch(html, /https?:\/\//, "nothing from the internet");
  } finally {
    child.kill("SIGTERM");
    await once(child, "exit");
  }
});

/**
 * The bundle (what the executable carries) holds the page's files as text: scripts/build.mjs
 * inlines them where the source reads them from disk, so the two give the same files.
 */
test("the bundle carries the page and uPlot inlined, the same files the source reads", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "airstrap-dashboard-bundle-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bundle = join(dir, "page-assets.cjs");
  const entry = "src/services/dashboard/page-assets.ts";
  execFileSync(process.execPath, ["scripts/build.mjs", "--entry", entry, "--outfile", bundle], { cwd: REPO });
  const text = readFileSync(bundle, "utf8");
  assert.doesNotMatch(text, /readFileSync|import_meta/, "nothing is read from disk in the bundle");
  const inlined = createRequire(bundle)(bundle).pageAssets() as PageAsset[];
  assert.deepEqual(inlined, pageAssets());
  assert.deepEqual(
    inlined.map((a) => a.path),
    ["/index.html", "/app.js", "/app.css", "/uplot.js", "/uplot.css"],
  );
  const uplot = createRequire(join(REPO, "package.json")).resolve("uplot/dist/uPlot.iife.min.js");
  assert.equal(inlined.find((a) => a.path === "/uplot.js")?.text, readFileSync(uplot, "utf8"));
});

function writeRun(logsDir: string, runId: string, outcome: string): void {
  const dir = join(logsDir, runId);
  mkdirSync(dir, { recursive: true });
  const time = (second: number) => `${runId.slice(0, 10)}T10:00:0${second}.000Z`;
  const line = (event: object) => `${JSON.stringify(event)}\n`;
  writeFileSync(
    join(dir, "k8s-server-01.log"),
    line({
      time: time(1),
      level: "info",
      kind: "install.host.start",
      host: "k8s-server-01",
      phase: "install",
      message: "started",
    }) +
      line({
        time: time(2),
        level: "info",
        kind: "install.host.done",
        host: "k8s-server-01",
        phase: "install",
        message: "done",
      }),
  );
  writeFileSync(
    join(dir, "airstrap.log"),
    line({
      time: time(3),
      level: "info",
      kind: "kube.wait",
      message: "waiting",
      detail: { ready: ["k8s-server-01", "k8s-agent-01"] },
    }) +
      line({ time: time(4), level: "info", kind: "run.end", message: outcome, detail: { ok: true, next: [] } }) +
      '{"torn',
  );
}

/** The URL from the child's stderr; the stream keeps being read (a closed pipe would kill the child). */
function printedUrl(stderr: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    stderr.setEncoding("utf8");
    stderr.on("data", (chunk: string) => {
      text += chunk;
      const match = /status page: (http:\/\/\S+)/.exec(text);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    stderr.on("end", () => reject(new Error(`airstrap dashboard printed no URL: ${text}`)));
  });
}
