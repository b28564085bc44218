import { openSync, readFileSync, readSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { silentEvents } from "../../src/events.js";
import { ensureNetbootImage, type NetbootImage } from "../../src/lab/netboot/build.js";
import { labPower } from "../../src/lab/power.js";
import { createTestLab, labSkipReason, type TestLab } from "../../test/lab/lab-fixture.js";
import { sshRunAsync } from "../../test/peers/lab-ssh.js";
import {
  type HttpRequestRecord,
  startPxeFloor,
  waitForSshAnswer,
  writeFloorIgnition,
} from "../../test/peers/pxe-floor.js";

/**
 * Issue 15's floor: power-on to SSH for 1, 2 and 4 PXE VMs started together, booted by dnsmasq
 * (DHCP + TFTP) and a static HTTP server with the lab's netboot image and one Ignition file; and
 * where the time goes, from dnsmasq's log, the HTTP server's request log and each serial console
 * (timestamped here as its lines appear). A second column (airstrap's boot services) is one more
 * entry in SETUPS: it starts its services for the site and returns the same logs.
 */
interface BootServices {
  requests: HttpRequestRecord[];
  dnsmasqLog?: string;
  close(): Promise<void>;
}

interface Setup {
  name: string;
  start(site: TestLab, image: NetbootImage, ignition: string, workDir: string): Promise<BootServices>;
}

const SETUPS: Setup[] = [
  {
    name: "floor (dnsmasq + static HTTP)",
    async start(site, image, ignition, workDir) {
      const lab = await site.lab();
      return startPxeFloor({
        netns: lab.names.netns,
        bridge: lab.names.bridge,
        dhcpAddress: `${site.subnet}.2/24`,
        httpAddress: site.bootstrapAddress,
        machines: site.hosts.map((host) => ({ mac: host.mac!, address: host.address, hostname: host.name })),
        files: { kernel: image.kernel, initrd: image.initrd, rootImage: image.rootImage, ignition },
        workDir,
      });
    },
  },
];

const COUNTS = (process.env.PXE_BENCH_VMS ?? "1,2,4").split(",").map(Number);
const BOOT_TIMEOUT_MS = Number(process.env.PXE_BENCH_TIMEOUT_S ?? 600) * 1000;

/** Console lines that mark a step, first time seen. */
const CONSOLE_MARKS: Array<[string, RegExp]> = [
  ["kernel", /Linux version/],
  ["ignition-fetch", /ignition\[\d+\]: .*(GET http|fetched)/i],
  // Ignition says "finished successfully" after every stage; the files stage is the one that matters.
  ["ignition-done", /Finished .*ignition-files/],
  ["switch-root", /Switching root|Reached target.*Switch Root/],
  ["sshd", /Started .*OpenBSD Secure Shell|Started ssh\.service/],
];

interface VmResult {
  host: string;
  sshMs?: number;
  marks: Record<string, number>;
}

async function bootOnce(setup: Setup, count: number, image: NetbootImage): Promise<VmResult[]> {
  const site = await createTestLab({
    offset: 70 + count,
    hosts: Array.from({ length: count }, (_, index) => ({
      name: `pxe-${index + 1}`,
      role: (index === 0 ? "server" : "agent") as "server" | "agent",
      octet: 31 + index,
      mac: `52:54:00:9e:01:${(0x31 + index).toString(16)}`,
    })),
  });
  let services: BootServices | undefined;
  try {
    await site.up();
    const { ignition, knownHosts } = await writeFloorIgnition(
      site.dir,
      readFileSync(`${site.identity}.pub`, "utf8").trim(),
      site.hosts.map((host) => host.address),
    );
    services = await setup.start(site, image, ignition, join(site.dir, "services"));
    const consoles = site.hosts.map((host) =>
      watchConsole(join(site.dir, `.airstrap/lab/logs/${host.name}.console.log`)),
    );
    const poweredOn = Date.now();
    await Promise.all(site.hosts.map((host) => labPower(site.state, host.name, "on", silentEvents)));
    const answers = await Promise.all(
      site.hosts.map((host) =>
        waitForSshAnswer(
          () =>
            sshRunAsync(
              { address: host.address, user: "core" },
              site.identity,
              knownHosts,
              "test -e /etc/airstrap-floor",
            ),
          BOOT_TIMEOUT_MS,
        ),
      ),
    );
    return site.hosts.map((host, index) => {
      const marks = consoles[index]!.stop();
      const relative: Record<string, number> = {};
      for (const [name, at] of Object.entries(marks)) relative[name] = at - poweredOn;
      Object.assign(relative, httpMarks(services!.requests, host.address, poweredOn));
      const acks = services!.dnsmasqLog ? dhcpAcks(services!.dnsmasqLog, host.mac!) : [];
      relative["dhcp-acks"] = acks.length;
      if (acks[0] !== undefined) relative["dhcp-first-ack"] = acks[0] - poweredOn;
      const answered = answers[index];
      return { host: host.name, ...(answered ? { sshMs: answered - poweredOn } : {}), marks: relative };
    });
  } finally {
    await services?.close();
    await site.remove();
  }
}

/** Polls the console log and notes when each mark first shows (the console itself has no clock). */
function watchConsole(path: string): { stop(): Record<string, number> } {
  const marks: Record<string, number> = {};
  let text = "";
  let offset = 0;
  const poll = () => {
    try {
      const fd = openSync(path, "r");
      const buffer = Buffer.alloc(1 << 20);
      for (;;) {
        const read = readSync(fd, buffer, 0, buffer.length, offset);
        if (read <= 0) break;
        offset += read;
        text += buffer.subarray(0, read).toString("utf8");
      }
    } catch {
      return;
    }
    for (const [name, pattern] of CONSOLE_MARKS) {
      if (marks[name] === undefined && pattern.test(text)) marks[name] = Date.now();
    }
    // Only the tail can still hold a line in progress.
    text = text.slice(-4096);
  };
  const timer = setInterval(poll, 250);
  return {
    stop() {
      clearInterval(timer);
      poll();
      return marks;
    },
  };
}

function httpMarks(requests: HttpRequestRecord[], client: string, origin: number): Record<string, number> {
  const mine = requests.filter((request) => request.client.endsWith(client) && request.status === 200);
  const first = (path: string) => mine.find((request) => request.path === path);
  const marks: Record<string, number> = {};
  const script = first("/boot.ipxe");
  const initrd = first("/initrd.img");
  const root = first("/live.squashfs");
  const config = first("/ignition.json");
  if (script) marks["http-ipxe-script"] = script.start - origin;
  if (initrd) marks["http-initrd-done"] = initrd.end - origin;
  if (root) {
    marks["http-root-start"] = root.start - origin;
    marks["http-root-done"] = root.end - origin;
  }
  if (config) marks["http-ignition"] = config.start - origin;
  return marks;
}

/** When dnsmasq acknowledged this MAC (ms since the epoch; its log has whole seconds, local time). */
function dhcpAcks(log: string, mac: string): number[] {
  const year = new Date().getFullYear();
  return readFileSync(log, "utf8")
    .split("\n")
    .filter((line) => line.includes("DHCPACK") && line.includes(mac))
    .map((line) => new Date(`${line.slice(0, 15)} ${year}`).getTime());
}

const seconds = (ms: number | undefined) => (ms === undefined ? "-" : (ms / 1000).toFixed(1));

function report(setup: Setup, count: number, results: VmResult[]): string {
  const lines = [`## ${setup.name}, ${count} VM(s) started together (load average ${loadavg()[0]!.toFixed(1)})`];
  const times = results.map((result) => result.sshMs).filter((ms): ms is number => ms !== undefined);
  lines.push(
    `power-on to SSH: max ${seconds(times.length ? Math.max(...times) : undefined)} s, mean ${seconds(
      times.length ? times.reduce((a, b) => a + b, 0) / times.length : undefined,
    )} s, ${times.length}/${results.length} answered`,
  );
  lines.push(
    "VM     DHCP  iPXE-script  initrd-done  kernel  ignition-GET  root-start  root-done  ignition-done  switch-root  sshd   SSH    DHCP-ACKs",
  );
  for (const result of results) {
    const m = result.marks;
    lines.push(
      [
        result.host.padEnd(6),
        seconds(m["dhcp-first-ack"]).padStart(4),
        seconds(m["http-ipxe-script"]).padStart(11),
        seconds(m["http-initrd-done"]).padStart(11),
        seconds(m.kernel).padStart(6),
        seconds(m["http-ignition"]).padStart(12),
        seconds(m["http-root-start"]).padStart(10),
        seconds(m["http-root-done"]).padStart(9),
        seconds(m["ignition-done"]).padStart(13),
        seconds(m["switch-root"]).padStart(11),
        seconds(m.sshd).padStart(5),
        seconds(result.sshMs).padStart(5),
        String(m["dhcp-acks"] ?? "-").padStart(9),
      ].join("  "),
    );
  }
  lines.push(
    "(seconds after power-on; DHCP: first ACK, whole seconds from dnsmasq's log; DHCP-ACKs: iPXE, initramfs, booted root, renewals)",
  );
  return lines.join("\n");
}

async function main(): Promise<void> {
  const skip = await labSkipReason();
  if (skip) throw new Error(skip);
  const image = await ensureNetbootImage({ events: silentEvents });
  console.log(`netboot image ${image.hash} (kernel ${image.kernelVersion}); TCG, 1 vCPU and 2 GiB per VM`);
  for (const setup of SETUPS) {
    for (const count of COUNTS) console.log(`\n${report(setup, count, await bootOnce(setup, count, image))}`);
  }
}

await main();
