import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { silentEvents } from "../../src/events.js";
import { LAB_MIRROR_PORT } from "../../src/lab/mirror-helper.js";
import { ensureNetbootImage } from "../../src/lab/netboot/build.js";
import { storeNetbootImage } from "../../src/lab/netboot/store.js";
import { runAirstrap } from "../helpers/cli.js";
import { type JsonEvent, jsonEvents } from "../helpers/cli-stream.js";
import { createTestLab, type TestLab } from "../lab/lab-fixture.js";

/** The lab VM's blank sparse data disk (virtio), which Ignition formats and mounts at /var/lib. */
export const LAB_DATA_DISK = "/dev/vda";

/**
 * A lab site for `airstrap init` whose machines boot over PXE: the lab up (its VMs off), the
 * netboot image and the simulated distro's release in the site's artifact store. The VMs run from
 * RAM, as a PXE-booted Flatcar does, so the manifest gives them the lab VM's data disk; their
 * console goes to the serial port (`.airstrap/lab/logs/<host>.console.log`).
 */
export async function createInitLabSite(options: {
  offset: number;
  hosts: Array<{ name: string; role: "server" | "agent"; octet: number; mac: string }>;
}): Promise<TestLab> {
  const site = await createTestLab({
    ...options,
    pxe: { dataDisk: LAB_DATA_DISK, args: ["console=ttyS0"] },
  });
  appendFileSync(site.file, `  artifacts: { source: "http://${site.bootstrapAddress}:${LAB_MIRROR_PORT}/rke2" }\n`);
  try {
    await site.up();
    await storeNetbootImage(join(site.dir, ".airstrap/store"), await ensureNetbootImage({ events: silentEvents }));
    const pull = await runAirstrap(["artifacts", "pull", "-f", site.file], { cwd: site.dir });
    assert.equal(pull.code, 0, pull.stderr);
    return site;
  } catch (error) {
    await site.remove();
    throw error;
  }
}

/** init's `--output json` lines carry their time and level. */
export type InitEvent = JsonEvent & { time: string; level: string };

export interface InitRun {
  child: ChildProcess;
  events(): InitEvent[];
  exited: Promise<number>;
  stderr(): string;
}

/**
 * `airstrap init --output json` from `binary` (the lab build, whose simulated distro the hosts
 * run), pressing each VM's power button through `airstrap lab power`: off, then on (a machine
 * stuck from an interrupted run boots afresh), under flock, since the button rewrites the lab's
 * state file and init presses it for every machine at once.
 */
export function startInit(binary: string, site: TestLab, timeoutSeconds: number, extraArgs: string[] = []): InitRun {
  const press = (action: string) => `${binary} lab power ${action} "$AIRSTRAP_HOST" -f ${site.file} >/dev/null`;
  const powerOn = `flock ${join(site.dir, ".power.lock")} sh -c '${press("off")} && ${press("on")}'`;
  const child = spawn(
    binary,
    [
      "init",
      ...["-f", site.file, "--output", "json", "--node-binary", binary, "--power-on", powerOn],
      ...["--timeout", String(timeoutSeconds), "--ready-timeout", "600"],
      ...extraArgs,
    ],
    { cwd: site.dir, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number>((resolve) =>
    child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : -1))),
  );
  return {
    child,
    exited,
    stderr: () => stderr,
    events: () => jsonEvents(stdout) as InitEvent[],
  };
}
