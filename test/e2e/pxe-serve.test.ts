import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { tempDir } from "../helpers/cli.js";
import {
  airstrapCommand,
  PXE_SITE_INITRD as INITRD,
  PXE_SITE_KERNEL as KERNEL,
  pxeSite,
  PXE_SITE_MAC as SERVER_MAC,
  type ServeProcess,
  startServe,
} from "../helpers/pxe-site.js";
import { notOnThisMachine } from "../helpers/skip.js";
import { buildSingleExecutable } from "../peers/airstrap-sea.js";
import { createPxeNetwork, type PxeNetwork } from "../peers/pxe-network.js";
import { qemuSkipReason, startPxeVm } from "../peers/qemu-pxe.js";
import { stopChild } from "../peers/unbound.js";

/**
 * The boot chain against `airstrap serve`, with real firmware: a diskless qemu VM (TCG) whose
 * iPXE ROM boots from the network of a namespace the test makes. Proven up to the kernel download
 * (the OS itself is the lab's business), with the events in the order a machine causes them.
 */

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return notOnThisMachine("network namespaces and qemu's tap need root");
  return qemuSkipReason();
}

async function waitForEvent(serve: ServeProcess, match: (e: ReturnType<ServeProcess["events"]>[number]) => boolean) {
  // TCG on two shared CPUs: the firmware alone takes tens of seconds, OVMF minutes when the machine is busy.
  const deadline = Date.now() + 480_000;
  while (Date.now() < deadline) {
    if (serve.events().some(match)) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  assert.fail(
    `no such event within 8 minutes; got:\n${serve
      .events()
      .map((e) => `${e.kind} ${e.message}`)
      .join("\n")}`,
  );
}

/** The first index of each kind, for asserting the order a machine caused them in. */
function firstOf(events: ReturnType<ServeProcess["events"]>, match: (e: (typeof events)[number]) => boolean): number {
  const index = events.findIndex(match);
  assert.ok(index >= 0, `missing: ${match.toString()}\n${events.map((e) => e.kind).join(" ")}`);
  return index;
}

async function bootOnce(
  t: TestContext,
  network: PxeNetwork,
  serve: ServeProcess,
  vm: { firmware: "bios" | "uefi"; optionRom?: boolean },
) {
  const machine = startPxeVm({ netns: network.hub, tap: await network.addTap(), mac: SERVER_MAC, ...vm });
  t.after(() => machine.stop());
  await waitForEvent(serve, (e) => e.kind === "boot.asset" && e.detail?.path === KERNEL);
  // BIOS iPXE goes on to the initrd; UEFI iPXE stops at the test's kernel, which is no EFI image.
  if (vm.firmware === "bios") await waitForEvent(serve, (e) => e.kind === "boot.asset" && e.detail?.path === INITRD);
  await machine.stop();
}

test("full DHCP: a diskless BIOS machine gets its reserved address, chains to iPXE's script and downloads its kernel", async (t) => {
  const skip = skipReason();
  if (skip) return t.skip(skip);
  const network = await createPxeNetwork("serve-full", { boot: { address: "10.231.0.1/24" } });
  t.after(() => network.remove());
  const site = await pxeSite(t, "full", "10.231.0");
  const serve = await startServe(network, site);
  t.after(() => stopChild(serve.child));
  await bootOnce(t, network, serve, { firmware: "bios" });
  const events = serve.events();
  const offered = firstOf(events, (e) => e.kind === "dhcp.offer" && e.host === "srv-1");
  const acked = firstOf(events, (e) => e.kind === "dhcp.ack" && e.host === "srv-1");
  const chained = firstOf(events, (e) => e.kind === "boot.chain");
  const script = firstOf(events, (e) => e.kind === "boot.ipxe");
  const kernel = firstOf(events, (e) => e.kind === "boot.asset" && e.detail?.path === KERNEL);
  assert.ok(offered < acked && acked < chained && chained < script && script < kernel, "in boot order");
  const ack = events[acked]!;
  assert.match(ack.message, /10\.231\.0\.11/);
});

test("proxy DHCP beside the site's dnsmasq: a UEFI machine without iPXE takes dnsmasq's address, then airstrap's NBP over TFTP, iPXE's script and its kernel", async (t) => {
  const skip = skipReason();
  if (skip) return t.skip(skip);
  const network = await createPxeNetwork("serve-proxy", {
    boot: { address: "10.231.0.1/24" },
    site: { address: "10.231.0.2/24" },
  });
  t.after(() => network.remove());
  const leases = join(await tempDir(t, "airstrap-site-dhcp-"), "leases");
  const siteDhcp = network.spawn("site", [
    "dnsmasq",
    "--no-daemon",
    "--port=0",
    "--interface=eth0",
    "--bind-interfaces",
    "--dhcp-range=10.231.0.100,10.231.0.150,1h",
    `--dhcp-leasefile=${leases}`,
    "--log-dhcp",
  ]);
  t.after(() => stopChild(siteDhcp));
  const site = await pxeSite(t, "proxy", "10.231.0");
  const serve = await startServe(network, site);
  t.after(() => stopChild(serve.child));
  // No iPXE ROM: the firmware's own UEFI PXE client takes the TFTP leg first (NBP, then iPXE).
  await bootOnce(t, network, serve, { firmware: "uefi", optionRom: false });
  const events = serve.events();
  const proxied = firstOf(events, (e) => e.kind.startsWith("dhcp.proxy") && e.message.includes(SERVER_MAC));
  const nbp = firstOf(events, (e) => e.kind === "tftp.transfer" && /ipxe\.efi/.test(e.message));
  const script = firstOf(events, (e) => e.kind === "boot.ipxe");
  const kernel = firstOf(events, (e) => e.kind === "boot.asset" && e.detail?.path === KERNEL);
  assert.ok(proxied < nbp && nbp < script && script < kernel, "in boot order: DHCP, TFTP, iPXE script, kernel");
  assert.ok(!events.some((e) => e.kind === "dhcp.offer"), "a proxy hands out no address");
});

test("the single-file executable serves, and teardown stops it through its control endpoint across a pid namespace, leaving nothing listening", async (t) => {
  const skip = skipReason();
  if (skip) return t.skip(skip);
  const network = await createPxeNetwork("serve-down", { boot: { address: "10.231.0.1/24" } });
  t.after(() => network.remove());
  const site = await pxeSite(t, "full", "10.231.0");
  const sea = buildSingleExecutable();
  t.after(() => sea.remove());
  // As in a container with host networking: same network, its own process ids.
  const serve = await startServe(network, site, {
    prefix: ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc"],
    executable: sea.path,
  });
  t.after(() => stopChild(serve.child));
  const listening = async () =>
    (await network.exec("boot", ["ss", "-Hlnup"])).stdout + (await network.exec("boot", ["ss", "-Hlntp"])).stdout;
  assert.match(await listening(), /:67\b/);
  // teardown runs in the same network namespace as serve (the container's host network).
  const teardown = await network.exec("boot", [...airstrapCommand(sea.path), "teardown", "-f", site.manifest]);
  assert.equal(teardown.code, 0, teardown.stderr);
  assert.match(teardown.stdout, /boot services stopped/);
  await new Promise<void>((resolve) =>
    serve.child.exitCode === null ? serve.child.once("exit", () => resolve()) : resolve(),
  );
  assert.doesNotMatch(await listening(), /:(67|69|4011|8080)\b/);
  assert.equal(existsSync(join(site.dir, ".airstrap", "serve.json")), false);
  const again = await network.exec("boot", [...airstrapCommand(), "teardown", "-f", site.manifest]);
  assert.match(again.stdout, /nothing to tear down/);
});
