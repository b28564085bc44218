import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { OperatorError } from "../../src/errors.js";
import { validateManifestText } from "../../src/manifest/validate.js";
import { builtInTemplate } from "../../src/render/pxe/builtin-templates.js";
import type { GeneratedFile } from "../../src/render/pxe/pxe-files.js";
import { DATA_DISK_MOUNT_UNIT_NAME } from "../../src/render/units.js";
import { example } from "../helpers/cli.js";
import { verifyUnits } from "../peers/systemd-analyze.js";
import { CUSTOM_OS, pxePlan, renderAll, WITH_DATA_DISKS } from "./pxe-fixtures.js";

interface Config {
  storage: { filesystems?: Array<Record<string, unknown>> };
  systemd: { units: Array<{ name: string; enabled?: boolean; contents?: string }> };
}

const configOf = (files: GeneratedFile[], host: string) =>
  JSON.parse(files.find((f) => f.path === `matchbox/ignition/${host}.ign`)!.content) as Config;
const HOSTS = ["k8s-server-01", "k8s-server-02", "k8s-server-03", "k8s-agent-01", "k8s-agent-02"];
const dataDiskPlan = () => pxePlan((text) => WITH_DATA_DISKS(CUSTOM_OS(text)));

test("dataDisk: Ignition formats the disk (ext4, labelled, kept if present) and a mount unit puts it at /var/lib", async () => {
  const files = renderAll(await dataDiskPlan());
  for (const host of HOSTS) {
    const device = host === "k8s-agent-02" ? "/dev/disk/by-id/nvme-eui.0025388b91c0d1a2" : "/dev/vda";
    const config = configOf(files, host);
    assert.deepEqual(config.storage.filesystems, [
      { device, format: "ext4", label: "airstrap-data", path: "/var/lib", wipeFilesystem: false },
    ]);
    const mount = config.systemd.units.find((u) => u.name === DATA_DISK_MOUNT_UNIT_NAME);
    assert.equal(mount?.enabled, true, host);
    assert.match(mount?.contents ?? "", new RegExp(`^What=${device.replaceAll(".", "\\.")}$`, "m"));
    assert.match(mount?.contents ?? "", /^Where=\/var\/lib$/m);
    assert.match(mount?.contents ?? "", /^WantedBy=local-fs\.target$/m);
  }
  // Without dataDisk nothing of it appears.
  const plain = renderAll(await pxePlan(CUSTOM_OS));
  for (const host of HOSTS) {
    const config = configOf(plain, host);
    assert.equal(config.storage.filesystems, undefined);
    assert.ok(!config.systemd.units.some((u) => u.name === DATA_DISK_MOUNT_UNIT_NAME));
  }
});

test("the data disk's mount unit passes systemd-analyze verify, and verify can fail on a mount unit", async () => {
  const mount = configOf(renderAll(await dataDiskPlan()), "k8s-server-01").systemd.units.find(
    (u) => u.name === DATA_DISK_MOUNT_UNIT_NAME,
  )!;
  const result = await verifyUnits({ [mount.name]: mount.contents! }, []);
  assert.ok(result.ok, result.output);
  const misnamed = await verifyUnits({ "data.mount": mount.contents! }, []);
  assert.equal(misnamed.ok, false, "a mount unit named after another path is rejected");
});

test("a template override that leaves the data disk out is refused, naming the template and the host", async () => {
  const plan = await dataDiskPlan();
  assert.throws(
    () =>
      renderAll(plan, new Map([["agent.ign.yaml", { origin: "/t/agent.ign.yaml", text: builtInTemplate("agent") }]])),
    (error: unknown) => {
      assert.ok(error instanceof OperatorError);
      assert.match(
        error.message,
        /^\/t\/agent\.ign\.yaml: host k8s-agent-01 has the data disk \/dev\/vda, but the template formats no filesystem on it$/,
      );
      assert.match(error.hint ?? "", /--export-templates DIR --data-disk/);
      return true;
    },
  );
  const exported = builtInTemplate("agent", { dataDisk: true });
  const files = renderAll(plan, new Map([["agent.ign.yaml", { origin: "/t/agent.ign.yaml", text: exported }]]));
  assert.deepEqual(configOf(files, "k8s-agent-01"), configOf(renderAll(plan), "k8s-agent-01"));
});

test("the manifest refuses a data disk that is no device path, and one on a host that does not boot over PXE", async () => {
  const text = CUSTOM_OS(await readFile(example("pxe-rke2.yaml"), "utf8"));
  const problems = (edited: string) =>
    validateManifestText(edited, "cluster.yaml", {}).diagnostics.map((d) => `${d.path}: ${d.message}`);
  assert.deepEqual(problems(WITH_DATA_DISKS(text)), []);
  assert.deepEqual(problems(text.replace("      httpPort: 8080\n", "      httpPort: 8080\n      dataDisk: sdb\n")), [
    'spec.provisioning.pxe.dataDisk: must be a device path under /dev, like /dev/disk/by-id/nvme-eui.0025388b91c0d1a2, got "sdb"',
  ]);
  assert.deepEqual(
    problems(text.replace("      httpPort: 8080\n", "      httpPort: 8080\n      dataDisk: /dev/../etc/passwd\n")),
    ["spec.provisioning.pxe.dataDisk: must not contain .."],
  );
  const noMac = text.replace(
    '{ name: k8s-agent-02, address: 10.77.0.22, role: agent, mac: "52:54:00:77:00:22",',
    "{ name: k8s-agent-02, address: 10.77.0.22, role: agent, dataDisk: /dev/sdb,",
  );
  assert.deepEqual(problems(noMac), [
    "spec.hosts[4].dataDisk: host k8s-agent-02 has a data disk but no mac: it does not boot over PXE, so Ignition never formats it",
  ]);
  const noPxe = noMac.slice(0, noMac.indexOf("  provisioning:"));
  assert.deepEqual(problems(noPxe), [
    "spec.hosts[4].dataDisk: a data disk is formatted by Ignition, and no host boots over PXE (spec.provisioning.pxe is not set)",
  ]);
});
