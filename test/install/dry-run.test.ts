import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { runAirstrap } from "../helpers/cli.js";
import { soloSiteOverSsh } from "../helpers/solo-site.js";

/** What a dry run must leave exactly as it was on the host (this machine, over SSH). */
const WATCHED = [
  "/var/lib/airstrap",
  "/usr/local/bin/airstrap",
  "/etc/rancher/k3s/config.yaml",
  "/etc/systemd/system/airstrap-node.service",
  "/etc/resolv.conf",
];
const snapshot = () =>
  WATCHED.map((path) =>
    existsSync(path) ? `${path} ${statSync(path).mtimeMs} ${statSync(path).size}` : `${path} absent`,
  );

test("install --dry-run over real SSH reports every change per host and makes none", async (t) => {
  const site = await soloSiteOverSsh(t);
  if ("skip" in site) return t.skip(site.skip);
  const { dir, releaseFiles } = site;
  await writeFile(join(dir, "airstrap-node-binary"), "#!/bin/sh\n");
  const before = snapshot();

  const result = await runAirstrap(
    [
      "install",
      "--dry-run",
      "--output",
      "json",
      "--store",
      join(dir, "store"),
      "--node-binary",
      join(dir, "airstrap-node-binary"),
    ],
    { cwd: dir },
  );
  const events = result.stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
  const failures = events.filter((e) => e.kind === "install.host.fail").map((e) => e.message);
  assert.equal(result.code, 0, `${failures.join("; ")}\n${result.stderr}`);

  const planned = events.filter((e) => e.kind === "install.change.planned").map((e) => `${e.host}: ${e.message}`);
  for (const name of releaseFiles)
    assert.ok(
      planned.some((p) => p.includes(`would install ${name} `)),
      `${name} not planned:\n${planned.join("\n")}`,
    );
  for (const expected of [
    "install the airstrap executable at /usr/local/bin/airstrap",
    "install /etc/rancher/k3s/config.yaml",
    "install k3s v1.31.4+k3s1 (server)",
    "start k3s server",
  ]) {
    assert.ok(
      planned.some((p) => p.includes(expected)),
      `missing "${expected}" in:\n${planned.join("\n")}`,
    );
  }
  assert.ok(
    events.some((e) => e.kind === "install.facts" && e.host === "solo-01"),
    "facts were really read over SSH",
  );
  assert.deepEqual(snapshot(), before, "the dry run changed the host");
  const token = (await readFile(join(dir, ".airstrap/token"), "utf8")).trim();
  assert.ok(!result.stdout.includes(token) && !result.stderr.includes(token), "the token reached the output");
  assert.match(await readFile(join(dir, ".airstrap/known_hosts"), "utf8"), /\[127\.0\.0\.1\]:\d+ ssh-ed25519 /);
});
