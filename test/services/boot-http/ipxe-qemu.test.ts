import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { bootIpxe, ipxeQemuMissing } from "../../peers/ipxe-qemu.js";
import { writeFiles } from "./fixture.js";
import { bootServer } from "./harness.js";

const MAC = "52:54:00:12:34:56";

test("a real iPXE chains /boot.ipxe, gets its script by MAC and fetches kernel and initrds", async (t) => {
  const missing = ipxeQemuMissing();
  if (missing) {
    t.skip(missing);
    return;
  }
  const assets = await mkdtemp(join(tmpdir(), "boot-assets-"));
  t.after(() => rm(assets, { recursive: true, force: true }));
  await writeFiles(assets, { "os/kernel": Buffer.alloc(4096, 1), "os/initrd-a": "a\n", "os/initrd-b": "b\n" });
  const { server, events } = await bootServer(
    t,
    {
      "groups/vm.json": JSON.stringify({ id: "vm", profile: "vm", selector: { mac: MAC } }),
      "groups/other.json": JSON.stringify({ id: "other", profile: "other", selector: { mac: "52:54:00:12:34:57" } }),
      "profiles/vm.json": JSON.stringify({
        id: "vm",
        boot: {
          kernel: "/assets/os/kernel",
          initrd: ["/assets/os/initrd-a", "/assets/os/initrd-b"],
          args: ["console=ttyS0", "ignition.config.url=http://10.0.2.100/ignition?mac=${mac:hexhyp}"],
        },
      }),
      "profiles/other.json": JSON.stringify({ id: "other", boot: { kernel: "/assets/os/wrong" } }),
    },
    { assets: { kind: "dir", path: assets } },
  );
  const vm = bootIpxe({ server: server.addresses[0]!, mac: MAC, bootPath: "/boot.ipxe" });
  const exited = once(vm, "exit");
  t.after(async () => {
    if (vm.exitCode === null && vm.signalCode === null) {
      vm.kill("SIGKILL");
      await exited;
    }
  });
  // TCG on a busy machine: bounded by count, generous in time; ends as soon as the last initrd is fetched.
  const fetched = (path: string) => events.some((e) => e.kind === "boot.asset" && e.detail?.path === path);
  for (let i = 0; i < 1200 && !fetched("os/initrd-b") && vm.exitCode === null; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const trail = events.filter((e) => e.kind.startsWith("boot.") && e.kind !== "boot.start").map((e) => e.kind);
  assert.ok(fetched("os/initrd-b"), `iPXE did not get to the last initrd: ${trail.join(", ")}`);
  assert.deepEqual(trail, ["boot.chain", "boot.ipxe", "boot.asset", "boot.asset", "boot.asset"]);
  const script = events.find((e) => e.kind === "boot.ipxe");
  assert.equal(script?.detail?.group, "vm");
  const labels = (script?.detail?.labels ?? {}) as Record<string, string>;
  assert.deepEqual(Object.keys(labels).sort(), ["arch", "domain", "hostname", "mac", "serial", "uuid"]);
  assert.equal(labels.mac, MAC, "iPXE's ${mac:hexhyp}, normalized");
  assert.deepEqual(
    events.filter((e) => e.kind === "boot.asset").map((e) => e.detail?.path),
    ["os/kernel", "os/initrd-a", "os/initrd-b"],
  );
});
