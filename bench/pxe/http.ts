import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { silentEvents } from "../../src/events.js";
import { ensureNetbootImage } from "../../src/lab/netboot/build.js";
import { LAB_DEBIAN_ASSETS } from "../../src/lab/netboot/store.js";
import { BOOT_HTTP_DEFAULTS } from "../../src/services/boot-http/config.js";
import { startBootHttp } from "../../src/services/boot-http/service.js";
import { startHttp } from "../../test/peers/pxe-floor.js";

/**
 * The server's share of a PXE boot, without the VMs: the same client (curl) downloads the lab's
 * initramfs and root image from the floor's static HTTP server and from airstrap's boot HTTP
 * server (`/assets/`, names resolved as `airstrap serve` resolves them from the store), both in
 * this process on loopback, rounds interleaved; medians and the ratio airstrap / floor.
 * Env: PXE_HTTP_ROUNDS (default 5).
 */
const run = promisify(execFile);
const ROUNDS = Number(process.env.PXE_HTTP_ROUNDS ?? 5);

async function download(url: string): Promise<number> {
  const { stdout } = await run("curl", ["-sS", "--fail", "-o", "/dev/null", "-w", "%{time_total}", url]);
  return Number(stdout) * 1000;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const image = await ensureNetbootImage({ events: silentEvents });
  const dataDir = await mkdtemp(join(tmpdir(), "airstrap-pxe-http-"));
  for (const folder of ["groups", "profiles", "ignition"]) await mkdir(join(dataDir, folder));
  const floor = await startHttp(
    { httpAddress: "127.0.0.1", files: { ...image, ignition: image.kernel } },
    [],
    () => "",
  );
  const byName = new Map<string, string>([
    [LAB_DEBIAN_ASSETS.initrd, image.initrd],
    [LAB_DEBIAN_ASSETS.rootImage, image.rootImage],
  ]);
  const airstrap = await startBootHttp(
    {
      ...BOOT_HTTP_DEFAULTS,
      listen: [{ address: "127.0.0.1", port: 0 }],
      dataDir,
      assets: { kind: "resolver", resolve: async (name) => byName.get(name) },
    },
    silentEvents,
  );
  try {
    const floorUrl = `http://127.0.0.1:${(floor.address() as AddressInfo).port}`;
    const airstrapUrl = `http://${airstrap.addresses[0]}/assets`;
    const files = [
      {
        name: "initramfs (66 MB)",
        floor: `${floorUrl}/initrd.img`,
        airstrap: `${airstrapUrl}/${LAB_DEBIAN_ASSETS.initrd}`,
      },
      {
        name: "root image (182 MB)",
        floor: `${floorUrl}/live.squashfs`,
        airstrap: `${airstrapUrl}/${LAB_DEBIAN_ASSETS.rootImage}`,
      },
    ];
    console.log(`HTTP downloads on loopback, curl, ${ROUNDS} interleaved rounds (after one warm-up each); medians`);
    console.log("file                  floor ms  airstrap ms  airstrap/floor");
    for (const file of files) {
      await download(file.floor);
      await download(file.airstrap);
      const times = { floor: [] as number[], airstrap: [] as number[] };
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? (["floor", "airstrap"] as const) : (["airstrap", "floor"] as const);
        for (const side of order) times[side].push(await download(file[side]));
      }
      const [f, a] = [median(times.floor), median(times.airstrap)];
      console.log(
        `${file.name.padEnd(20)}  ${f.toFixed(0).padStart(8)}  ${a.toFixed(0).padStart(11)}  ${(a / f).toFixed(3).padStart(14)}`,
      );
    }
  } finally {
    await airstrap.close();
    floor.closeAllConnections();
    await new Promise<void>((resolve) => floor.close(() => resolve()));
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
