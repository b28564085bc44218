import { spawn } from "node:child_process";
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ipxeCatalog } from "../../src/artifacts/boot-catalog.js";
import { pullBootFiles } from "../../src/artifacts/pull-boot-files.js";
import { defaultStoreDir } from "../../src/artifacts/store-location.js";
import { silentEvents } from "../../src/events.js";
import { runCommand } from "../../src/lab/exec.js";
import type { NetbootImage } from "../../src/lab/netboot/build.js";
import { storeNetbootImage } from "../../src/lab/netboot/store.js";
import { openBlobStore } from "../../src/store/blob-store.js";
import type { TestLab } from "../../test/lab/lab-fixture.js";
import { startPxeFloor } from "../../test/peers/pxe-floor.js";
import { waitForOutput } from "../../test/peers/pxe-network.js";
import { stopChild } from "../../test/peers/unbound.js";
import { dhcpAcksFromDnsmasq, type Marks, marksFromAirstrapEvents, marksFromFloorRequests } from "./boot-marks.js";

/**
 * The two boot paths the benchmark compares, each started for a lab site and returning, per VM,
 * where its boot stood when (from the servers' own records). Both serve the same netboot image and
 * the same Ignition file; both run their DHCP on the lab's bridge, in the lab's namespace, at .2 of
 * the site's /24 (so neither holds port 67 of this machine).
 */
export interface BootServices {
  /** Server-side marks for one VM (ms since the epoch). */
  marks(host: { name: string; address: string; mac: string }): Marks;
  close(): Promise<void>;
}

export interface SetupContext {
  site: TestLab;
  image: NetbootImage;
  /** The one Ignition file both boot paths hand every VM. */
  ignition: string;
  workDir: string;
  /** airstrap's single-file executable, as it ships. */
  airstrap: string;
}

export interface Setup {
  name: string;
  start(context: SetupContext): Promise<BootServices>;
}

/** The kernel arguments the floor adds after its own; airstrap's profile gets the same through os.args. */
export const CONSOLE_ARGS = ["console=ttyS0", "systemd.journald.forward_to_console=1"];
/** Last octet of the boot services' address on the lab's bridge. */
export const SERVICES_OCTET = 2;

export const FLOOR: Setup = {
  name: "floor",
  async start({ site, image, ignition, workDir }) {
    const lab = await site.lab();
    const floor = await startPxeFloor({
      netns: lab.names.netns,
      bridge: lab.names.bridge,
      dhcpAddress: `${site.subnet}.${SERVICES_OCTET}/24`,
      httpAddress: site.bootstrapAddress,
      machines: site.hosts.map((host) => ({ mac: host.mac!, address: host.address, hostname: host.name })),
      files: { kernel: image.kernel, initrd: image.initrd, rootImage: image.rootImage, ignition },
      workDir,
    });
    return {
      marks: (host) => ({
        ...marksFromFloorRequests(floor.requests, host.address),
        ...dhcpAcksFromDnsmasq(floor.dnsmasqLog, host.mac),
      }),
      close: () => floor.close(),
    };
  },
};

/**
 * `airstrap serve` from the single-file executable, in the lab's namespace: its DHCP (full), TFTP
 * and boot HTTP server, the netboot image from the site's artifact store, and the floor's Ignition
 * file as every role's template (so the VMs get the same config).
 */
export const AIRSTRAP: Setup = {
  name: "airstrap serve",
  async start({ site, image, ignition, workDir, airstrap }) {
    const lab = await site.lab();
    const { netns, bridge } = lab.names;
    const store = await openBlobStore(defaultStoreDir(site.file));
    await storeNetbootImage(store.root, image);
    await pullBootFiles({ store, catalog: ipxeCatalog({ arch: "amd64" }), events: silentEvents });
    const templates = join(workDir, "templates");
    await mkdir(templates, { recursive: true });
    for (const role of ["primary-server", "server", "agent"]) {
      await copyFile(ignition, join(templates, `${role}.ign.yaml`));
    }
    const address = `${site.subnet}.${SERVICES_OCTET}/24`;
    await runCommand(["ip", "-n", netns, "addr", "replace", address, "dev", bridge]);
    const inSite = (args: string[]) => ["ip", "netns", "exec", netns, airstrap, ...args, "-f", site.file];
    const [command, ...args] = inSite([
      "serve",
      "--output",
      "json",
      "--node-binary",
      airstrap,
      "--templates",
      templates,
    ]);
    const child = spawn(command!, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    try {
      await waitForOutput(child, /"serve\.ready"/, 120_000);
    } catch (error) {
      await stopChild(child);
      throw error;
    }
    return {
      marks: (host) => marksFromAirstrapEvents(output, host),
      async close() {
        const teardown = await runCommand(inSite(["teardown"]), { allowFailure: true });
        if (teardown.code !== 0) console.error(`airstrap teardown failed: ${teardown.stderr.trim()}`);
        await stopChild(child);
        await runCommand(["ip", "-n", netns, "addr", "del", address, "dev", bridge], { allowFailure: true });
      },
    };
  },
};
