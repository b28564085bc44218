import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { customOsCatalog, ipxeCatalog } from "../../src/artifacts/boot-catalog.js";
import { pullBootFiles } from "../../src/artifacts/pull-boot-files.js";
import { silentEvents } from "../../src/events.js";
import { openBlobStore } from "../../src/store/blob-store.js";
import { REPO, tempDir } from "../helpers/cli.js";
import { notOnThisMachine } from "../helpers/skip.js";
import { waitFor } from "../helpers/wait-for.js";
import { canUseNetns, createPxeNetwork } from "../peers/pxe-network.js";
import { stopChild } from "../peers/unbound.js";

/**
 * How `airstrap init` ends when machines cannot come up, without VMs: init runs in a namespace of
 * its own (boot services, prompt, the wait), and a scripted node in another namespace on the same
 * bridge posts first-boot reports to the boot server as the report unit would — one saying its
 * Ignition failed, one naming an SSH host key airstrap did not generate (another config). Both are
 * named with what they reported, the boot services are torn down, and the exit code says it failed.
 * (The report script itself: test/render/report-script.test.ts; real VMs: init-lab.test.ts.)
 */

const TSX = import.meta.resolve("tsx");
const SUBNET = "10.231.0";
const SERVER_MAC = "52:54:00:5e:01:11";
const AGENT_MAC = "52:54:00:5e:01:21";

test("init names each machine with the failure it reported, tears the boot services down and exits 1", async (t) => {
  if (process.getuid?.() !== 0) return t.skip(notOnThisMachine("network namespaces and port 67 need root"));
  const netns = await canUseNetns();
  if (netns) return t.skip(netns);
  const dir = await tempDir(t, "airstrap-init-fail-");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "id_ed25519")]);
  await mkdir(join(dir, "os/lab"), { recursive: true });
  await writeFile(join(dir, "os/lab/vmlinuz"), randomBytes(1000));
  await writeFile(join(dir, "os/lab/initrd.img"), randomBytes(1000));
  await writeFile(join(dir, "airstrap-linux-amd64"), "#!/bin/sh\necho stand-in executable\n", { mode: 0o755 });
  const manifest = join(dir, "cluster.yaml");
  await writeFile(
    manifest,
    `apiVersion: airstrap.io/v1alpha1
kind: Cluster
metadata: { name: fail }
spec:
  domain: fail.lan
  distro: { name: k3s, version: v1.31.4+k3s1 }
  ssh: { user: root, identityFile: ./id_ed25519 }
  bootstrap: { address: ${SUBNET}.1 }
  hosts:
    - { name: srv-1, address: ${SUBNET}.11, role: server, mac: "${SERVER_MAC}" }
    - { name: agt-1, address: ${SUBNET}.21, role: agent, mac: "${AGENT_MAC}" }
  provisioning:
    pxe:
      interface: eth0
      subnet: ${SUBNET}.0/24
      dhcp: full
      os: { kernel: lab/vmlinuz, initrd: [lab/initrd.img] }
`,
  );
  const store = await openBlobStore(join(dir, ".airstrap", "store"));
  for (const catalog of [
    customOsCatalog({ arch: "amd64", kernel: "lab/vmlinuz", initrd: ["lab/initrd.img"], source: join(dir, "os") }),
    ipxeCatalog({ arch: "amd64" }),
  ])
    await pullBootFiles({ store, catalog, events: silentEvents });

  const network = await createPxeNetwork("init-fail", {
    boot: { address: `${SUBNET}.1/24` },
    node: { address: `${SUBNET}.11/24` },
  });
  t.after(() => network.remove());
  const init = network.spawn("boot", [
    process.execPath,
    "--import",
    TSX,
    join(REPO, "src/cli/main.ts"),
    "init",
    "-f",
    manifest,
    "--output",
    "json",
    "--node-binary",
    join(dir, "airstrap-linux-amd64"),
    "--timeout",
    "600",
  ]);
  t.after(() => stopChild(init));
  let stdout = "";
  let stderr = "";
  init.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  init.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number>((resolve) => init.on("close", (code) => resolve(code ?? -1)));
  const events = () =>
    stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map(
        (line) =>
          JSON.parse(line) as { kind: string; host?: string; message: string; detail?: Record<string, unknown> },
      );
  await waitFor(() => events().some((e) => e.kind === "init.prompt"), `init's prompt (stderr: ${stderr})`, 120_000);
  const prompt = events().find((e) => e.kind === "init.prompt")!.message;
  assert.match(prompt, new RegExp(`srv-1\\s+${SERVER_MAC}\\s+${SUBNET}\\.11`));
  assert.match(prompt, new RegExp(`agt-1\\s+${AGENT_MAC}\\s+${SUBNET}\\.21`));

  const post = async (mac: string, body: object) => {
    const sent = await network.exec("node", [
      "curl",
      "-fsS",
      "-X",
      "POST",
      "-H",
      "content-type: application/json",
      "--data",
      JSON.stringify(body),
      `http://${SUBNET}.1:8080/report?mac=${mac.replaceAll(":", "-")}`,
    ]);
    assert.equal(sent.code, 0, sent.stderr);
  };
  await post(SERVER_MAC, {
    status: "first-boot-failed",
    ignition: "failure",
    sshHostKeyFingerprints: [],
    message: "files stage: GET http://10.231.0.1:8080/assets/missing: 404",
  });
  await post(AGENT_MAC, {
    status: "first-boot-done",
    ignition: "success",
    sshHostKeyFingerprints: [`SHA256:${"Q".repeat(43)}`],
  });

  const code = await exited;
  assert.equal(code, 1, stderr);
  const failed = events().filter((e) => e.kind === "init.machine.failed");
  const reasons = Object.fromEntries(failed.map((e) => [e.host, e.message]));
  assert.match(
    reasons["srv-1"] ?? "",
    // What it said, once: the failure the report caused holds it.
    /^srv-1 did not come up: last step: first boot reported; reported first-boot-failed, Ignition failure \(files stage: GET \S+: 404\)$/,
  );
  assert.match(
    reasons["agt-1"] ?? "",
    /agt-1 did not come up: .*booted another config: its SSH host key is SHA256:Q{43}, not the SHA256:\S+ airstrap generated for it/,
  );
  const end = events().find((e) => e.kind === "run.end");
  assert.equal(end?.detail?.ok, false);
  assert.ok(
    events().some((e) => e.kind === "serve.stopped"),
    "the boot services were torn down",
  );
  assert.equal(existsSync(join(dir, ".airstrap/serve.json")), false);
  const record = JSON.parse(await readFile(join(dir, ".airstrap/init.json"), "utf8")) as {
    outcome: string;
    machines: Array<{ name: string; step: string; failure?: string }>;
  };
  assert.equal(record.outcome, "failed");
  assert.deepEqual(
    record.machines.map((m) => [m.name, m.step, Boolean(m.failure)]),
    [
      ["srv-1", "reported", true],
      ["agt-1", "reported", true],
    ],
  );
  const listening = await network.exec("boot", ["ss", "-H", "-lntup"]);
  assert.equal(listening.stdout.trim(), "", "nothing is left listening in init's namespace");
});
