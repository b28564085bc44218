import { OperatorError } from "../../errors.js";
import type { Events } from "../../events.js";
import { parseEndpoint } from "../../net/endpoint.js";
import { notifyReady } from "../../services/systemd-notify.js";
import { runSimAgent } from "./agent-node.js";
import { startReleaseMirror } from "./mirror.js";
import { loadSimNodeConfig, parseSimFlags, type SimDistro } from "./node-config.js";
import { type RunningSimNode, runSimServer } from "./server-node.js";

const DISTROS = ["rke2", "k3s"] as const;

/**
 * `airstrap lab-distro rke2|k3s server|agent [options]`: the SIMULATED distro's program, which the
 * lab's rke2/k3s wrappers run. Resolves when SIGTERM/SIGINT has stopped it.
 */
export async function runSimDistro(args: string[], events: Events, env = process.env): Promise<void> {
  const [distro, role, ...rest] = args;
  if (!DISTROS.includes(distro as SimDistro)) {
    throw new OperatorError(`unknown simulated distro "${distro ?? ""}"`, { hint: "use rke2 or k3s" });
  }
  const version = env.AIRSTRAP_SIMULATION_VERSION ?? (distro === "rke2" ? "v1.31.4+rke2r1" : "v1.31.4+k3s1");
  if (role === "version") {
    // What install's facts read, in the real binaries' form: "rke2 version v1.31.4+rke2r1 (<commit>)".
    process.stdout.write(`${distro} version ${version} (simulated by airstrap)\n`);
    return;
  }
  if (role !== "server" && role !== "agent") {
    throw new OperatorError(`the simulated ${distro} has no "${role ?? ""}" command`, {
      hint: `use: ${distro} server, or ${distro} agent`,
    });
  }
  const config = await loadSimNodeConfig(distro as SimDistro, role, parseSimFlags(rest), env);
  const node: RunningSimNode =
    role === "server" ? await runSimServer(config, version, events) : await runSimAgent(config, version, events);
  notifyReady();
  await untilSignalled();
  await node.close();
}

/** `airstrap lab-distro mirror --root DIR --listen ADDRESS:PORT`: the lab's release mirror. */
export async function runReleaseMirror(args: string[]): Promise<void> {
  const flags = parseSimFlags(args);
  const root = flags.root;
  const listen = flags.listen;
  if (typeof root !== "string" || typeof listen !== "string") {
    throw new OperatorError("the mirror needs --root DIR and --listen ADDRESS:PORT");
  }
  const { address, port } = parseEndpoint(listen, "--listen", { allowPortZero: true });
  const server = await startReleaseMirror(root, address, port);
  await untilSignalled();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function untilSignalled(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      resolve();
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}
