import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { runCommand, waitForExit } from "../../src/lab/exec.js";

/**
 * The floor of a PXE boot (the benchmark's reference): Debian's dnsmasq in the lab's namespace doing
 * DHCP (one reservation per MAC, nothing else) and TFTP, and a static HTTP server on this machine
 * serving kernel, initramfs, root image and one Ignition file. The qemu ROM is iPXE and says so
 * (user class "iPXE"): it is sent straight to the HTTP script; any other PXE client gets
 * undionly.kpxe over TFTP first.
 */
export interface PxeFloorOptions {
  netns: string;
  bridge: string;
  /** The address dnsmasq takes on the bridge (CIDR, inside the lab's subnet). */
  dhcpAddress: string;
  /** Where the HTTP server listens: the bootstrap address, which the site reaches. */
  httpAddress: string;
  machines: Array<{ mac: string; address: string; hostname: string }>;
  files: { kernel: string; initrd: string; rootImage: string; ignition: string };
  /** Kernel arguments after the floor's own. */
  kernelArgs?: string[];
  workDir: string;
}

export interface HttpRequestRecord {
  client: string;
  path: string;
  status: number;
  bytes: number;
  /** ms since the epoch: when the request arrived and when the last byte was handed to the socket. */
  start: number;
  end: number;
}

export interface PxeFloor {
  url: string;
  dnsmasqLog: string;
  requests: HttpRequestRecord[];
  close(): Promise<void>;
}

const ROUTES = {
  "/vmlinuz": "kernel",
  "/initrd.img": "initrd",
  "/live.squashfs": "rootImage",
  "/ignition.json": "ignition",
} as const;

export function floorKernelArgs(url: string): string[] {
  return [
    "initrd=initrd.img",
    `root=live:${url}/live.squashfs`,
    "rd.live.image",
    "ip=dhcp",
    "rd.neednet=1",
    "ignition.firstboot",
    "ignition.platform.id=metal",
    `ignition.config.url=${url}/ignition.json`,
    "console=ttyS0",
    "systemd.journald.forward_to_console=1",
  ];
}

export async function startPxeFloor(options: PxeFloorOptions): Promise<PxeFloor> {
  await mkdir(options.workDir, { recursive: true });
  const requests: HttpRequestRecord[] = [];
  let script = "";
  const http = await startHttp(options, requests, () => script);
  const address = http.address();
  if (address === null || typeof address === "string") throw new Error("the floor's HTTP server has no port");
  const url = `http://${options.httpAddress}:${address.port}`;
  script = [
    "#!ipxe",
    `kernel ${url}/vmlinuz ${[...floorKernelArgs(url), ...(options.kernelArgs ?? [])].join(" ")}`,
    `initrd ${url}/initrd.img`,
    "boot",
    "",
  ].join("\n");
  const dnsmasq = await startDnsmasq(options, url);
  let closed = false;
  return {
    url,
    dnsmasqLog: dnsmasq.log,
    requests,
    async close() {
      if (closed) return;
      closed = true;
      process.kill(dnsmasq.pid, "SIGTERM");
      if (!(await waitForExit(dnsmasq.pid, 5_000))) process.kill(dnsmasq.pid, "SIGKILL");
      await runCommand(["ip", "-n", options.netns, "addr", "del", options.dhcpAddress, "dev", options.bridge], {
        allowFailure: true,
      });
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** The floor's static HTTP server alone (the boot benchmark also times its downloads against airstrap's). */
export async function startHttp(
  options: Pick<PxeFloorOptions, "httpAddress" | "files">,
  requests: HttpRequestRecord[],
  bootScript: () => string,
): Promise<Server> {
  const server = createServer((req, res) => {
    const start = Date.now();
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const record = (status: number, bytes: number) =>
      requests.push({ client: req.socket.remoteAddress ?? "?", path, status, bytes, start, end: Date.now() });
    if (path === "/boot.ipxe") {
      const body = bootScript();
      res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) });
      res.end(body, () => record(200, Buffer.byteLength(body)));
      return;
    }
    const part = ROUTES[path as keyof typeof ROUTES];
    if (!part) {
      res.writeHead(404).end(() => record(404, 0));
      return;
    }
    const file = options.files[part];
    stat(file).then(
      (info) => {
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": info.size });
        const stream = createReadStream(file);
        stream.pipe(res);
        res.on("finish", () => record(200, info.size));
        res.on("close", () => stream.destroy());
      },
      () => res.writeHead(404).end(() => record(404, 0)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, options.httpAddress, () => resolve());
  });
  return server;
}

async function startDnsmasq(options: PxeFloorOptions, url: string): Promise<{ pid: number; log: string }> {
  const { netns, bridge } = options;
  await runCommand(["ip", "-n", netns, "addr", "replace", options.dhcpAddress, "dev", bridge]);
  const [serverAddress, prefix] = options.dhcpAddress.split("/") as [string, string];
  const log = join(options.workDir, "dnsmasq.log");
  const config = join(options.workDir, "dnsmasq.conf");
  await writeFile(
    config,
    [
      "port=0",
      `interface=${bridge}`,
      "bind-interfaces",
      "dhcp-authoritative",
      `dhcp-range=${serverAddress},static,${prefixMask(Number(prefix))}`,
      ...options.machines.map((machine) => `dhcp-host=${machine.mac},${machine.address},${machine.hostname}`),
      // No router and no resolver: the site has no way out.
      "dhcp-option=option:router",
      "dhcp-option=option:dns-server",
      "dhcp-userclass=set:ipxe,iPXE",
      `dhcp-boot=tag:ipxe,${url}/boot.ipxe`,
      "dhcp-boot=tag:!ipxe,undionly.kpxe",
      "enable-tftp",
      "tftp-root=/usr/lib/ipxe",
      "log-dhcp",
      `log-facility=${log}`,
      `dhcp-leasefile=${join(options.workDir, "dnsmasq.leases")}`,
      "",
    ].join("\n"),
  );
  await writeFile(log, "");
  const child = spawn(
    "ip",
    ["netns", "exec", netns, "dnsmasq", "--keep-in-foreground", `--conf-file=${config}`, "--pid-file="],
    { stdio: ["ignore", "ignore", "pipe"], detached: false },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error("dnsmasq did not start");
  // Ready when it logs its DHCP range; gone means a bad config (its complaint is on stderr).
  const deadline = Date.now() + 15_000;
  while (!(await readFile(log, "utf8")).includes("DHCP, static leases only")) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`dnsmasq did not start: ${stderr.trim() || "no DHCP range after 15 s"}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { pid, log };
}

function prefixMask(prefix: number): string {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((shift) => (mask >>> shift) & 0xff).join(".");
}

/**
 * The floor's one Ignition file (spec 3.3.0, what Debian's Ignition 2.14 accepts): a user with the
 * lab's key and passwordless sudo, the host's SSH key (so the test pins it, as airstrap does), one file.
 */
export function floorIgnition(options: {
  user: string;
  authorizedKey: string;
  hostKey: { privateKey: string; publicKey: string };
  file: { path: string; content: string };
}): string {
  const data = (text: string) => `data:,${encodeURIComponent(text)}`;
  const file = (path: string, mode: number, content: string) => ({
    path,
    mode,
    overwrite: true,
    contents: { source: data(content) },
  });
  return `${JSON.stringify(
    {
      ignition: { version: "3.3.0" },
      passwd: { users: [{ name: options.user, groups: ["sudo"], sshAuthorizedKeys: [options.authorizedKey] }] },
      storage: {
        files: [
          file("/etc/ssh/ssh_host_ed25519_key", 0o600, options.hostKey.privateKey),
          file("/etc/ssh/ssh_host_ed25519_key.pub", 0o644, options.hostKey.publicKey),
          // Flatcar's sudo group needs no password; Debian's does, and install runs sudo -n.
          file(`/etc/sudoers.d/${options.user}`, 0o440, `${options.user} ALL=(ALL) NOPASSWD:ALL\n`),
          file(options.file.path, 0o644, options.file.content),
        ],
      },
    },
    null,
    2,
  )}\n`;
}

export const FLOOR_USER = "core";
export const FLOOR_FILE = { path: "/etc/airstrap-floor", content: "written by Ignition\n" };

/**
 * Writes the floor's Ignition file for these machines (one config for all, as the benchmark's "same
 * Ignition file") with a fresh host key, and a known_hosts that pins it for each address.
 */
export async function writeFloorIgnition(
  dir: string,
  authorizedKey: string,
  addresses: string[],
): Promise<{ ignition: string; knownHosts: string }> {
  const keyFile = join(dir, "floor_host_key");
  await runCommand(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pxe-floor", "-f", keyFile]);
  const hostKey = { privateKey: await readFile(keyFile, "utf8"), publicKey: await readFile(`${keyFile}.pub`, "utf8") };
  const pinned = hostKey.publicKey.split(" ").slice(0, 2).join(" ");
  const knownHosts = join(dir, "floor_known_hosts");
  await writeFile(knownHosts, addresses.map((address) => `${address} ${pinned}\n`).join(""));
  const ignition = join(dir, "floor_ignition.json");
  await writeFile(ignition, floorIgnition({ user: FLOOR_USER, authorizedKey, hostKey, file: FLOOR_FILE }));
  return { ignition, knownHosts };
}

/** Polls SSH until the command succeeds or the bound passes; returns when it answered (ms since the epoch). */
export async function waitForSshAnswer(
  run: () => Promise<{ code: number }>,
  timeoutMs: number,
): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await run()).code === 0) return Date.now();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
  return undefined;
}
