import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { connect } from "node:net";
import { dirname } from "node:path";
import { OperatorError } from "../errors.js";
import { writeSimRelease } from "./sim-distro/release.js";

export const LAB_MIRROR_PORT = 8079;

export interface MirrorLaunch {
  root: string;
  bootstrapAddress: string;
  distro: { name: "rke2" | "k3s"; version: string; arch: "amd64" | "arm64" };
  command: string[];
  log: string;
}

/** The base URL a manifest's artifacts.source uses to pull the simulated release from the lab. */
export function mirrorBase(bootstrapAddress: string, distro: string): string {
  return `http://${bootstrapAddress}:${LAB_MIRROR_PORT}/${distro}`;
}

/**
 * Writes the SIMULATED release and starts the lab's mirror for it on the bootstrap address, as a
 * detached process of this same airstrap; returns its PID and URL once it accepts connections.
 */
export async function startMirrorHelper(launch: MirrorLaunch): Promise<{ pid: number; url: string }> {
  const url = mirrorBase(launch.bootstrapAddress, launch.distro.name);
  await writeSimRelease(launch.root, {
    distro: launch.distro.name,
    version: launch.distro.version,
    arch: launch.distro.arch,
    mirrorBase: url,
  });
  mkdirSync(dirname(launch.log), { recursive: true, mode: 0o700 });
  const log = openSync(launch.log, "a", 0o600);
  const [file, ...args] = launch.command;
  let pid: number | undefined;
  try {
    const child = spawn(
      file!,
      [
        ...args,
        "lab-distro",
        "mirror",
        "--root",
        launch.root,
        "--listen",
        `${launch.bootstrapAddress}:${LAB_MIRROR_PORT}`,
      ],
      { detached: true, stdio: ["ignore", log, log] },
    );
    child.unref();
    pid = child.pid;
  } finally {
    closeSync(log);
  }
  if (pid === undefined)
    throw new OperatorError("could not start the lab's release mirror", { hint: `see ${launch.log}` });
  const deadline = Date.now() + 15_000;
  while (!(await accepts(launch.bootstrapAddress, LAB_MIRROR_PORT))) {
    if (Date.now() > deadline) {
      throw new OperatorError(
        `the lab's release mirror did not start on ${launch.bootstrapAddress}:${LAB_MIRROR_PORT}`,
        {
          hint: `see ${launch.log}; is another process using that port?`,
        },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { pid, url };
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}
