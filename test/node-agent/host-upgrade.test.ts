import assert from "node:assert/strict";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { PREVIOUS_SUFFIX, upgradeHostExecutable } from "../../src/node-agent/host-upgrade.js";
import { compareVersions } from "../../src/node-agent/version-order.js";
import { tempDir } from "../helpers/cli.js";

test("versions order by their numbers, a release after its pre-releases, build metadata ignored", () => {
  const ascending = ["0.1.0-dev", "0.1.0-rc.1", "0.1.0-rc.2", "0.1.0-rc.10", "0.1.0", "0.1.1", "0.2.0", "1.0.0"];
  for (let i = 0; i < ascending.length; i++) {
    for (let j = 0; j < ascending.length; j++) {
      assert.equal(
        compareVersions(ascending[i]!, ascending[j]!),
        Math.sign(i - j),
        `${ascending[i]} vs ${ascending[j]}`,
      );
    }
  }
  assert.equal(compareVersions("1.2.3+abc", "1.2.3+def"), 0);
  assert.equal(compareVersions("v1.2.3", "1.2.3"), 0);
});

/** An "executable" that reports a version (a script: the upgrade copies and runs it as it would airstrap). */
const script = (version: string) => `#!/bin/sh\n[ "$1" = --version ] && echo ${version}\n`;

async function hostWith(t: { after(fn: () => Promise<void>): void }, hostVersion: string, imageVersion: string) {
  const dir = await tempDir(t, "airstrap-host-upgrade-");
  await mkdir(join(dir, "image"));
  await mkdir(join(dir, "host-bin"));
  const own = join(dir, "image", "airstrap");
  const host = join(dir, "host-bin", "airstrap");
  await writeFile(own, script(imageVersion), { mode: 0o755 });
  await writeFile(host, script(hostVersion), { mode: 0o755 });
  return { own, host, config: { ownExecutable: own, hostExecutable: host, version: imageVersion } };
}

test("a newer image replaces the host's executable atomically, keeping the old one for rollback", async (t) => {
  const { own, host, config } = await hostWith(t, "0.1.0", "0.2.0");
  const result = await upgradeHostExecutable(config);
  assert.equal(result.outcome, "upgraded");
  assert.equal(await readFile(host, "utf8"), await readFile(own, "utf8"));
  assert.equal((await stat(host)).mode & 0o777, 0o755);
  assert.equal(await readFile(`${host}${PREVIOUS_SUFFIX}`, "utf8"), script("0.1.0"), "the old one is kept");
  if (result.outcome === "upgraded") assert.match(result.sha256, /^[0-9a-f]{64}$/);

  // Run again (the pod restarts): nothing to do.
  assert.deepEqual(await upgradeHostExecutable(config), { outcome: "current", hostVersion: "0.2.0" });
});

test("an older image leaves a newer host alone, and a host without airstrap is not given one", async (t) => {
  const { host, config } = await hostWith(t, "0.3.0", "0.2.0");
  assert.deepEqual(await upgradeHostExecutable(config), { outcome: "newer-on-host", hostVersion: "0.3.0" });
  assert.equal(await readFile(host, "utf8"), script("0.3.0"));
  const absent = await upgradeHostExecutable({ ...config, hostExecutable: join(host, "..", "nothing") });
  assert.deepEqual(absent, { outcome: "absent" });
});

test("an image executable that does not run as the version it claims is reported, and the old one is back in place", async (t) => {
  const { own, host, config } = await hostWith(t, "0.1.0", "0.2.0");
  await writeFile(own, script("0.1.5"), { mode: 0o755 });
  const result = await upgradeHostExecutable(config);
  assert.equal(result.outcome, "failed");
  if (result.outcome === "failed") assert.match(result.problem, /reports 0\.1\.5 after the upgrade/);
  assert.equal(await readFile(host, "utf8"), script("0.1.0"));
});
