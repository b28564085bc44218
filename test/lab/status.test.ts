import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { sshFingerprint } from "../../src/lab/probe.js";
import { renderStatusTable } from "../../src/lab/status.js";

test("fingerprints are the ones ssh-keygen prints", () => {
  const dir = mkdtempSync(join(tmpdir(), "airstrap-fp-"));
  try {
    spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "k")]);
    const listed = spawnSync("ssh-keygen", ["-l", "-f", join(dir, "k.pub")], { encoding: "utf8" }).stdout.split(" ")[1];
    assert.equal(sshFingerprint(readFileSync(join(dir, "k.pub"), "utf8")), listed);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the status table lines up hosts, machine, state, SSH and host key", () => {
  const table = renderStatusTable({
    name: "edge",
    netns: "airstrap-lab-edge",
    bootstrapAddress: "10.77.0.1",
    hosts: [
      {
        name: "k8s-server-01",
        role: "server",
        address: "10.77.0.11",
        state: "running",
        machine: "container",
        ssh: true,
        hostKey: "SHA256:abc",
      },
      {
        name: "a",
        role: "agent",
        address: "10.77.0.21",
        state: "partitioned",
        machine: "container",
        ssh: false,
        hostKey: "SHA256:def",
      },
      {
        name: "pxe-1",
        role: "agent",
        address: "10.77.0.31",
        state: "off",
        machine: "pxe-vm",
        mac: "52:54:00:77:00:31",
        ssh: false,
        hostKey: "-",
      },
    ],
    helpers: [{ name: "release mirror (simulated distro)", pid: 1, running: true, url: "http://10.77.0.1:8079/rke2" }],
  });
  assert.equal(
    table,
    [
      "lab edge: namespace airstrap-lab-edge, this machine is 10.77.0.1 in the site",
      "HOST           ROLE    ADDRESS     MACHINE                   STATE        SSH      HOST KEY",
      "k8s-server-01  server  10.77.0.11  container                 running      answers  SHA256:abc",
      "a              agent   10.77.0.21  container                 partitioned  -        SHA256:def",
      "pxe-1          agent   10.77.0.31  pxe-vm 52:54:00:77:00:31  off          -        -",
      "release mirror (simulated distro): running at http://10.77.0.1:8079/rke2",
      "",
    ].join("\n"),
  );
});
