import assert from "node:assert/strict";
import { test } from "node:test";
import { netbootRecipe } from "../../../src/lab/netboot/recipe.js";
import { defaultRecipe } from "../../../src/lab/rootfs/recipe.js";

test("every PXE boot of the netboot root is a first boot, so systemd applies Ignition's presets without asking", () => {
  // "uninitialized" (not an empty file, which the containers' root has) is systemd's first-boot mark.
  assert.equal(netbootRecipe.root.files["etc/machine-id"]?.content, "uninitialized\n");
  assert.equal(defaultRecipe.files["etc/machine-id"], undefined);
  // On a first boot systemd-firstboot would wait on the serial console for a locale and a time zone.
  assert.ok(netbootRecipe.root.mask.includes("systemd-firstboot.service"));
});
