import assert from "node:assert/strict";
import { test } from "node:test";
import { ignitionConfigSchema } from "../../src/render/ignition/schema.js";
import { hasIgnitionValidate, ignitionValidate } from "../peers/ignition-validate.js";
import { CUSTOM_OS, pxePlan, renderAll, WITH_DATA_DISKS } from "./pxe-fixtures.js";

const ROLES = { "primary-server": "k8s-server-01", server: "k8s-server-02", agent: "k8s-agent-01" } as const;

for (const version of ["3.3.0", "3.4.0"] as const) {
  for (const [os, edit] of [
    ["Flatcar", (t: string) => t],
    ["kernel + initrd", CUSTOM_OS],
    ["kernel + initrd, data disks", (t: string) => WITH_DATA_DISKS(CUSTOM_OS(t))],
  ] as const) {
    test(`ignition-validate accepts every role's config: spec ${version}, ${os}`, async (t) => {
      if (!hasIgnitionValidate()) return t.skip("ignition-validate missing: apt-get install ignition");
      const plan = await pxePlan((text) =>
        edit(text)
          .replace("ignitionVersion: 3.3.0", `ignitionVersion: ${version}`)
          .replace("dhcp: proxy", os === "Flatcar" ? "dhcp: proxy" : "dhcp: full"),
      );
      const files = renderAll(plan);
      for (const [role, host] of Object.entries(ROLES)) {
        const config = files.find((f) => f.path === `matchbox/ignition/${host}.ign`)!.content;
        const parsed = ignitionConfigSchema.safeParse(JSON.parse(config));
        assert.ok(parsed.success, `${role}: ${JSON.stringify(parsed.error?.issues)}`);
        assert.equal(parsed.data.ignition.version, version);
        // Ignition 2.14 knows 3.4.0 only as 3.4.0-experimental: the body is checked under that name.
        const result = await ignitionValidate(config, { asExperimental: version === "3.4.0" });
        assert.ok(result.ok, `${role} (${host}): ${result.output}`);
        assert.equal(result.output.trim(), "", `${role}: ignition-validate warned`);
        if (os.includes("data disks"))
          assert.ok(
            parsed.data.storage?.filesystems?.some((f) => f.path === "/var/lib"),
            `${role}: no data disk`,
          );
      }
      if (version === "3.4.0") {
        const plain = await ignitionValidate(files.find((f) => f.path.endsWith(".ign"))!.content);
        assert.equal(plain.ok, false, "ignition-validate 2.14 now accepts 3.4.0 as such: drop the experimental rename");
        t.diagnostic(`ignition-validate 2.14 on "3.4.0" as written: ${plain.output.trim()}`);
      }
    });
  }
}

test("ignition-validate can fail: it rejects what Ignition would refuse on the node", async (t) => {
  if (!hasIgnitionValidate()) return t.skip("ignition-validate missing: apt-get install ignition");
  const broken = { ignition: { version: "3.3.0" }, storage: { files: [{ path: "etc/hostname" }] } };
  const result = await ignitionValidate(JSON.stringify(broken));
  assert.equal(result.ok, false, result.output);
  assert.equal(ignitionConfigSchema.safeParse(broken).success, false, "our schema refuses it too");
});
