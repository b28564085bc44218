import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultRecipe, recipeHash } from "../../../src/lab/rootfs/recipe.js";

test("the cache key is stable across key order and changes with any part of the recipe", () => {
  const reordered = Object.fromEntries(Object.entries(defaultRecipe).reverse()) as typeof defaultRecipe;
  assert.equal(recipeHash(reordered), recipeHash(defaultRecipe));
  assert.notEqual(
    recipeHash({ ...defaultRecipe, packages: [...defaultRecipe.packages, "vim"] }),
    recipeHash(defaultRecipe),
  );
  assert.notEqual(recipeHash({ ...defaultRecipe, suite: "trixie" }), recipeHash(defaultRecipe));
  const files = { ...defaultRecipe.files, "etc/motd": { mode: 0o644, content: "hi" } };
  assert.notEqual(recipeHash({ ...defaultRecipe, files }), recipeHash(defaultRecipe));
});

test("the rootfs carries sshd, systemd, networkd and the per-host setup that gives each host its own key", () => {
  for (const pkg of ["systemd-sysv", "openssh-server", "iproute2", "openssl", "curl"])
    assert.ok(defaultRecipe.packages.includes(pkg), pkg);
  assert.ok(defaultRecipe.enable.includes("airstrap-lab-setup.service"));
  assert.ok(defaultRecipe.enable.includes("systemd-networkd.service"));
  const setup = defaultRecipe.files["usr/local/sbin/airstrap-lab-setup"]!.content;
  assert.match(setup, /ssh_host_ed25519_key/);
  assert.match(setup, /authorized_keys/);
});
