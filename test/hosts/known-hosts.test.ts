import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import {
  entryNamesHost,
  keyTypeOfBlob,
  knownHostsName,
  parseKnownHosts,
  sha256Fingerprint,
} from "../../src/hosts/known-hosts-format.js";
import { fingerprintOf, keyscan, type Sshd, sshdAvailable, startSshd } from "../peers/sshd.js";
import { hostsFixture } from "./fixture.js";

const missing = sshdAvailable();
let sshd: Sshd;
before(async () => {
  if (!missing) sshd = await startSshd();
});
after(async () => {
  await sshd?.stop();
});

function publicKeyBlob(sshdServer: Sshd): Buffer {
  return Buffer.from(readFileSync(`${sshdServer.hostKeyFile}.pub`, "utf8").split(" ")[1]!, "base64");
}

test("known_hosts names, patterns and fingerprints follow OpenSSH", async (t) => {
  if (missing) return t.skip(missing);
  assert.equal(knownHostsName("10.0.0.1", 22), "10.0.0.1");
  assert.equal(knownHostsName("10.0.0.1", 2222), "[10.0.0.1]:2222");
  const [entry] = parseKnownHosts("10.0.0.*,!10.0.0.9 ssh-ed25519 AAAA comment here\n");
  assert.ok(entry);
  assert.equal(entry.comment, "comment here");
  assert.equal(entryNamesHost(entry, "10.0.0.5"), true);
  assert.equal(entryNamesHost(entry, "10.0.0.9"), false);
  assert.equal(entryNamesHost(entry, "[10.0.0.5]:2222"), false);
  const blob = publicKeyBlob(sshd);
  assert.equal(keyTypeOfBlob(blob), "ssh-ed25519");
  // The same text `ssh-keygen -lf` prints for the key.
  assert.ok(fingerprintOf(`${sshd.hostKeyFile}.pub`).includes(` ${sha256Fingerprint(blob)} `));
  const hashed = parseKnownHosts(keyscan(sshd.address, sshd.port, true));
  assert.ok(hashed.length > 0 && hashed.every((e) => e.hosts.startsWith("|1|")));
  assert.ok(hashed.every((e) => entryNamesHost(e, knownHostsName(sshd.address, sshd.port))));
  assert.ok(hashed.every((e) => !entryNamesHost(e, knownHostsName(sshd.address, sshd.port + 1))));
});

test("first contact pins the key and reports its fingerprint; a changed key aborts with the re-pin hint", async (t) => {
  if (missing) return t.skip(missing);
  const f = await hostsFixture(t);
  const host = f.host(sshd, { name: "k8s-server-01" });
  await host.exec("true");
  const pinnedEvents = f.recorded.filter((e) => e.kind === "host.key.pinned");
  assert.equal(pinnedEvents.length, 1);
  const fingerprint = sha256Fingerprint(publicKeyBlob(sshd));
  assert.equal(pinnedEvents[0]!.detail?.fingerprint, fingerprint);
  assert.equal(pinnedEvents[0]!.host, "k8s-server-01");
  assert.match(pinnedEvents[0]!.message, new RegExp(fingerprint.replace(/[+/]/g, "\\$&")));
  const pinnedText = await f.state.read("known_hosts");
  assert.equal(pinnedText, `[${sshd.address}]:${sshd.port} ssh-ed25519 ${publicKeyBlob(sshd).toString("base64")}\n`);
  // OpenSSH itself accepts the pin airstrap wrote.
  const { sshRun } = await import("../peers/lab-ssh.js");
  const openssh = sshRun({ address: sshd.address, port: sshd.port }, sshd.clientKey, f.knownHosts.path, "echo ok");
  assert.equal(openssh.stdout.trim(), "ok", openssh.stderr);

  // A second connection checks, and does not pin again.
  await host.close();
  await host.exec("true");
  assert.equal(f.recorded.filter((e) => e.kind === "host.key.pinned").length, 1);

  await host.close();
  await sshd.restart({ newHostKey: true });
  await assert.rejects(host.exec("true"), (error: Error & { hint?: string }) => {
    assert.equal(error.name, "OperatorError", error.message);
    assert.match(error.message, /^host k8s-server-01 \(.*\): SSH host key changed/);
    assert.equal(error.hint, "if the machine was reinstalled, run: airstrap hosts forget k8s-server-01");
    return true;
  });
  assert.equal(await f.state.read("known_hosts"), pinnedText, "the old pin is kept");

  assert.equal(await f.knownHosts.forget(sshd.address, sshd.port), 1);
  await host.exec("true");
  const repinned = f.recorded.filter((e) => e.kind === "host.key.pinned");
  assert.equal(repinned.length, 2);
  assert.equal(repinned[1]!.detail?.fingerprint, sha256Fingerprint(publicKeyBlob(sshd)), "the new key is pinned");
  assert.notEqual(repinned[1]!.detail?.fingerprint, fingerprint);
});

test("pins written by ssh-keyscan (plain or hashed) are honoured", async (t) => {
  if (missing) return t.skip(missing);
  for (const hashed of [false, true]) {
    const f = await hostsFixture(t);
    await f.state.write("known_hosts", keyscan(sshd.address, sshd.port, hashed));
    const before = await f.state.read("known_hosts");
    const host = f.host(sshd);
    assert.equal((await host.exec("echo pinned")).stdout, "pinned\n");
    await host.close();
    assert.equal(f.recorded.filter((e) => e.kind === "host.key.pinned").length, 0, "nothing pinned anew");
    assert.equal(await f.state.read("known_hosts"), before);
  }
  // A keyscan pin of a different key (another server's) is a mismatch, not a new pin.
  const other = await startSshd();
  try {
    const f = await hostsFixture(t);
    await f.state.write(
      "known_hosts",
      keyscan(other.address, other.port).replaceAll(
        `[${other.address}]:${other.port}`,
        `[${sshd.address}]:${sshd.port}`,
      ),
    );
    await assert.rejects(f.host(sshd).exec("true"), /SSH host key changed/);
  } finally {
    await other.stop();
  }
});
