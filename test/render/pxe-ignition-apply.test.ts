import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { AIRSTRAP_PATHS } from "../../src/plan/distro-paths.js";
import { tempDir } from "../helpers/cli.js";
import { applyIgnition, ignitionMissing, minimalRoot } from "../peers/ignition.js";
import { CUSTOM_OS, INPUTS, pxePlan, renderAll } from "./pxe-fixtures.js";

const mode = async (path: string) => ((await stat(path)).mode & 0o7777).toString(8);

test("Debian's own Ignition applies every role's config to a root: files, modes, the user and key, units enabled", async (t) => {
  const missing = ignitionMissing();
  if (missing) return t.skip(missing);
  const files = renderAll(await pxePlan(CUSTOM_OS));
  for (const [role, host] of [
    ["primary-server", "k8s-server-01"],
    ["server", "k8s-server-02"],
    ["agent", "k8s-agent-01"],
  ] as const) {
    const work = await tempDir(t, `airstrap-ignition-${role}-`);
    const config = join(work, "config.ign");
    await writeFile(config, files.find((f) => f.path === `matchbox/ignition/${host}.ign`)!.content, { mode: 0o600 });
    const { root, path } = await minimalRoot(work);
    const result = await applyIgnition(config, work, root, path);
    assert.ok(
      result.ok,
      `${role}: ${result.output
        .split("\n")
        .filter((l) => /CRITICAL|ERROR/.test(l))
        .join("\n")}`,
    );
    assert.match(result.output, /Ignition finished successfully/);
    const at = (p: string) => join(root, p);
    assert.equal(await readFile(at("etc/hostname"), "utf8"), `${host}\n`);
    assert.equal(await mode(at("etc/rancher/rke2/config.yaml")), "600");
    assert.match(
      await readFile(at("etc/rancher/rke2/config.yaml"), "utf8"),
      new RegExp(`^token: ${INPUTS.token}$`, "m"),
    );
    assert.equal(await mode(at("etc/sudoers.d/airstrap")), "440");
    assert.equal(await mode(at("etc/ssh/ssh_host_ed25519_key")), "600");
    assert.equal(await readFile(at("etc/ssh/ssh_host_ed25519_key"), "utf8"), INPUTS.hostKeys[host]!.private);
    assert.equal(await readFile(at(AIRSTRAP_PATHS.siteCa.slice(1)), "utf8"), INPUTS.siteCa);
    assert.match(await readFile(at("etc/passwd"), "utf8"), /^core:x:\d+:\d+::\/home\/core:/m);
    assert.equal((await readFile(at("home/core/.ssh/authorized_keys.d/ignition"), "utf8")).trim(), INPUTS.sshPublicKey);
    assert.match(
      await readFile(at("etc/ssh/sshd_config.d/airstrap.conf"), "utf8"),
      /^AuthorizedKeysFile .ssh\/authorized_keys .ssh\/authorized_keys.d\/ignition$/m,
      "Debian's sshd reads the folder Ignition writes the key to",
    );
    assert.match(
      await readFile(at("etc/systemd/system/airstrap-node.service"), "utf8"),
      new RegExp(`--node ${host}$`, "m"),
    );
    // Ignition writes the preset lines in no fixed order.
    const preset = (await readFile(at("etc/systemd/system-preset/20-ignition.preset"), "utf8")).trim().split("\n");
    assert.deepEqual(preset.sort(), [
      "enable airstrap-fetch.service",
      "enable airstrap-node.service",
      "enable airstrap-report.service",
      "enable systemd-networkd.service",
    ]);
  }
});

test("Debian's Ignition refuses what it cannot apply (the check can fail)", async (t) => {
  const missing = ignitionMissing();
  if (missing) return t.skip(missing);
  const work = await tempDir(t, "airstrap-ignition-bad-");
  const config = join(work, "config.ign");
  await writeFile(config, JSON.stringify({ ignition: { version: "3.4.0" } }));
  const { root, path } = await minimalRoot(work);
  const result = await applyIgnition(config, work, root, path);
  assert.equal(
    result.ok,
    false,
    "Ignition 2.14 accepted spec 3.4.0 by name: ignitionVersion 3.4.0 may now suit Debian too",
  );
});
