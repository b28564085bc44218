import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { renderNetworkFile, renderResolvConf, writeHostFiles } from "../../src/lab/host-files.js";

const input = {
  name: "k8s-server-01",
  address: "10.77.0.11",
  prefixLength: 24,
  bootstrapAddress: "10.77.0.1",
  domain: "edge.lan",
  authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG0 lab"],
  sshUser: "root",
  sshPort: 22,
};

test("the host's link gets its address and a route to the bootstrap machine, and no gateway", () => {
  const network = renderNetworkFile(input);
  assert.match(network, /^Address=10\.77\.0\.11\/24$/m);
  assert.match(network, /^Destination=10\.77\.0\.1\/32$/m);
  assert.doesNotMatch(network, /Gateway=/);
  assert.equal(renderResolvConf(input), "# airstrap lab (simulated site)\nsearch edge.lan\nnameserver 10.77.0.1\n");
});

test("each host gets a freshly generated host key, private half 0600", async () => {
  const dir = mkdtempSync(join(tmpdir(), "airstrap-host-files-"));
  try {
    const a = await writeHostFiles(join(dir, "a"), input);
    const b = await writeHostFiles(join(dir, "b"), input);
    assert.notEqual(a, b);
    assert.match(a, /^ssh-ed25519 \S+ root@k8s-server-01$/);
    assert.equal(statSync(join(dir, "a", "ssh_host_ed25519_key")).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, "a", "authorized_keys")).mode & 0o777, 0o600);
    const check = spawnSync("ssh-keygen", ["-y", "-f", join(dir, "a", "ssh_host_ed25519_key")], { encoding: "utf8" });
    assert.equal(check.stdout.trim().split(" ").slice(0, 2).join(" "), a.split(" ").slice(0, 2).join(" "));
    assert.equal(readFileSync(join(dir, "a", "ssh-user"), "utf8"), "root\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
