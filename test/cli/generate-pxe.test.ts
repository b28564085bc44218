import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { example, runAirstrap, tempDir } from "../helpers/cli.js";

const run = promisify(execFile);

/** A copy of the PXE example with its own SSH key, in a fresh folder (its state dir beside it). */
async function site(t: Parameters<typeof tempDir>[0]): Promise<{ dir: string; manifest: string }> {
  const dir = await tempDir(t, "airstrap-pxe-");
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "op@laptop", "-f", join(dir, "key")]);
  const text = (await readFile(example("pxe-rke2.yaml"), "utf8")).replace(
    "    # identityFile: ~/.ssh/id_ed25519",
    "    identityFile: ./key",
  );
  assert.match(text, /identityFile: \.\/key/);
  const manifest = join(dir, "cluster.yaml");
  await writeFile(manifest, text);
  return { dir, manifest };
}

async function tree(root: string): Promise<Map<string, { mode: string; content: string }>> {
  const files = new Map<string, { mode: string; content: string }>();
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const mode = ((await stat(path)).mode & 0o777).toString(8);
      if (entry.isDirectory()) {
        files.set(`${relative(root, path)}/`, { mode, content: "" });
        await walk(path);
      } else files.set(relative(root, path), { mode, content: await readFile(path, "utf8") });
    }
  };
  await walk(root);
  return files;
}

test("generate writes the Matchbox folder: same input, same bytes; secrets 0600 in folders only the owner enters", async (t) => {
  const { dir, manifest } = await site(t);
  const first = await runAirstrap(["generate", "-f", manifest, "-o", join(dir, "a")]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /PXE: 5 hosts boot from http:\/\/10\.77\.0\.1:8080/);
  const second = await runAirstrap(["generate", "-f", manifest, "-o", join(dir, "b")]);
  assert.equal(second.code, 0, second.stderr);
  const [a, b] = [await tree(join(dir, "a")), await tree(join(dir, "b"))];
  assert.deepEqual([...a], [...b], "two runs wrote different files");
  assert.equal(((await stat(join(dir, "a"))).mode & 0o777).toString(8), "700");
  for (const [path, { mode, content }] of a) {
    if (/^token: /m.test(content) || path.endsWith(".ign"))
      assert.equal(mode, "600", `${path} holds the join token but is ${mode}`);
    if (path.startsWith("matchbox/") && path.endsWith("/")) assert.equal(mode, "700", path);
  }
  const token = (await readFile(join(dir, ".airstrap", "token"), "utf8")).trim();
  const withToken = [...a].filter(([, f]) => f.content.includes(token)).map(([p, f]) => `${f.mode} ${p}`);
  assert.ok(withToken.length > 0);
  assert.ok(
    withToken.every((line) => line.startsWith("600 ")),
    withToken.join("\n"),
  );
  const ignition = JSON.parse(a.get("matchbox/ignition/k8s-agent-01.ign")!.content);
  const publicKey = (await readFile(join(dir, "key.pub"), "utf8")).trim();
  assert.deepEqual(ignition.passwd.users[0].sshAuthorizedKeys, [publicKey]);
  const ca = await readFile(join(dir, ".airstrap", "site-ca.crt"), "utf8");
  const caFile = ignition.storage.files.find((f: { path: string }) => f.path === "/etc/airstrap/site-ca.crt");
  assert.equal(decodeURIComponent(caFile.contents.source.slice("data:,".length)), ca);
  assert.equal(a.get("matchbox/assets/airstrap/plan.json")!.content, a.get("plan.json")!.content);

  // The host key in the config is one OpenSSH reads, and it is pinned before the host ever boots.
  const hostKeyFile = ignition.storage.files.find((f: { path: string }) => f.path === "/etc/ssh/ssh_host_ed25519_key");
  assert.equal(hostKeyFile.mode, 0o600);
  const extracted = join(dir, "extracted-host-key");
  await writeFile(extracted, decodeURIComponent(hostKeyFile.contents.source.slice("data:,".length)), { mode: 0o600 });
  const { stdout: derived } = await run("ssh-keygen", ["-y", "-f", extracted]);
  const [type, blob] = derived.trim().split(" ");
  const knownHosts = await readFile(join(dir, ".airstrap", "known_hosts"), "utf8");
  assert.ok(knownHosts.split("\n").includes(`10.77.0.21 ${type} ${blob}`), knownHosts);
  assert.equal(knownHosts.trim().split("\n").length, 5, "one pin per PXE host, none added by the second run");
  assert.equal(((await stat(join(dir, ".airstrap", "host-keys", "k8s-agent-01"))).mode & 0o777).toString(8), "600");
});

test("--templates replaces a template by name; an unknown variable names the file and line; --export-templates starts one", async (t) => {
  const { dir, manifest } = await site(t);
  const templates = join(dir, "templates");
  const exported = await runAirstrap(["generate", "--export-templates", templates]);
  assert.equal(exported.code, 0, exported.stderr);
  assert.deepEqual((await readdir(templates)).sort(), ["agent.ign.yaml", "primary-server.ign.yaml", "server.ign.yaml"]);
  await runAirstrap(["generate", "-f", manifest, "-o", join(dir, "built-in")]);
  // The exported files render exactly what the built-in ones do.
  const same = await runAirstrap(["generate", "-f", manifest, "-o", join(dir, "same"), "--templates", templates]);
  assert.equal(same.code, 0, same.stderr);
  assert.deepEqual([...(await tree(join(dir, "same")))], [...(await tree(join(dir, "built-in")))]);

  const agent = join(templates, "agent.ign.yaml");
  const text = await readFile(agent, "utf8");
  await writeFile(agent, text.replace('inline: "{{ NODE_NAME }}\\n"', 'inline: "{{ NODE_NAME }}.{{ DOMIAN }}\\n"'));
  const line = text.split("\n").findIndex((l) => l.includes('inline: "{{ NODE_NAME }}\\n"')) + 1;
  const failed = await runAirstrap(["generate", "-f", manifest, "-o", join(dir, "bad"), "--templates", templates]);
  assert.equal(failed.code, 1);
  assert.ok(
    failed.stderr.includes(`${agent}:${line}:`) &&
      failed.stderr.includes("unknown template variable DOMIAN; did you mean DOMAIN?"),
    failed.stderr,
  );
  assert.doesNotMatch(failed.stderr, /\n\s+at /, "no stack trace for a template mistake");
  await assert.rejects(stat(join(dir, "bad")), "nothing half written");

  await writeFile(agent, text.replace('inline: "{{ NODE_NAME }}\\n"', 'inline: "{{ NODE_NAME }}.{{ DOMAIN }}\\n"'));
  const changed = await runAirstrap(["generate", "-f", manifest, "-o", join(dir, "changed"), "--templates", templates]);
  assert.equal(changed.code, 0, changed.stderr);
  const [before, after] = [await tree(join(dir, "built-in")), await tree(join(dir, "changed"))];
  const differing = [...after.keys()].filter((p) => after.get(p)!.content !== before.get(p)?.content);
  assert.deepEqual(differing.sort(), ["matchbox/ignition/k8s-agent-01.ign", "matchbox/ignition/k8s-agent-02.ign"]);
});

test("spec.provisioning.pxe.templates is read relative to the manifest; a file that replaces nothing is refused", async (t) => {
  const { dir, manifest } = await site(t);
  const text = await readFile(manifest, "utf8");
  await writeFile(manifest, text.replace("      # templates: ./pxe-templates", "      templates: ./pxe-templates"));
  const missing = await runAirstrap(["validate", "-f", manifest]);
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /cluster\.yaml:\d+:18: error: .*templates folder \.\/pxe-templates does not exist/);

  const templates = join(dir, "pxe-templates");
  assert.equal((await runAirstrap(["generate", "--export-templates", templates])).code, 0);
  const server = join(templates, "server.ign.yaml");
  await writeFile(server, (await readFile(server, "utf8")).replace("mode: 0o440", "mode: 0o400"));
  const generated = await runAirstrap(["generate", "-f", manifest, "-o", join(dir, "out")], { cwd: "/" });
  assert.equal(generated.code, 0, generated.stderr);
  for (const host of ["k8s-server-02", "k8s-server-03"]) {
    const config = JSON.parse(await readFile(join(dir, "out/matchbox/ignition", `${host}.ign`), "utf8"));
    const sudoers = config.storage.files.find((f: { path: string }) => f.path === "/etc/sudoers.d/airstrap");
    assert.equal(sudoers.mode, 0o400, host);
  }
  const primary = JSON.parse(await readFile(join(dir, "out/matchbox/ignition/k8s-server-01.ign"), "utf8"));
  assert.equal(primary.storage.files.find((f: { path: string }) => f.path === "/etc/sudoers.d/airstrap").mode, 0o440);

  await writeFile(join(templates, "servers.ign.yaml"), "ignition: {}\n");
  const typo = await runAirstrap(["generate", "-f", manifest, "-o", join(dir, "out")]);
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /servers\.ign\.yaml: replaces no template; did you mean server\.ign\.yaml\?/);
});

test("validate: with PXE, the identity file's .pub must exist (it goes into every booting host's config)", async (t) => {
  const { dir, manifest } = await site(t);
  assert.equal((await runAirstrap(["validate", "-f", manifest])).code, 0);
  await rm(join(dir, "key.pub"));
  const result = await runAirstrap(["validate", "-f", manifest]);
  assert.equal(result.code, 1);
  assert.match(
    result.stdout,
    /cluster\.yaml:\d+:19: error: .*\.\/key\.pub does not exist: hosts booted over PXE are given the public key/,
  );
  assert.match(result.stdout, /ssh-keygen -y -f \.\/key > \.\/key\.pub/);
});
