import { join } from "node:path";
import { OperatorError } from "../../errors.js";
import type { Events } from "../../events.js";
import { DISTRO_PATHS } from "../../plan/distro-paths.js";
import { connectSupervisor } from "./client.js";
import { writeFileAtomic } from "./files.js";
import { nodeRegistration } from "./identity.js";
import type { SimNodeConfig } from "./node-config.js";
import type { JoinRequest, JoinResponse } from "./server.js";
import { HEARTBEAT_MS, type RunningSimNode, retry } from "./server-node.js";

/** SIMULATION of a distro agent: joins through the `server:` URL, then heartbeats through it. */
export async function runSimAgent(config: SimNodeConfig, version: string, events: Events): Promise<RunningSimNode> {
  if (!config.server || !config.token) {
    throw new OperatorError("an agent needs server: and token:", {
      hint: `set both in ${DISTRO_PATHS[config.distro].config}`,
    });
  }
  const self = nodeRegistration(config, version);
  const client = await retry(events, self.name, () => connectSupervisor(config.server!, config.token!, "node"));
  const answer = await retry(events, self.name, () =>
    client.call<JoinResponse>("POST", "/v1-sim/join", self satisfies JoinRequest),
  );
  await writeFileAtomic(join(config.dataDir, "agent", "server-ca.crt"), answer.caCert, 0o644);
  events.emit({ level: "info", kind: "sim.joined", host: self.name, message: `joined through ${config.server}` });
  const timer = setInterval(() => {
    client.call("POST", "/v1-sim/heartbeat", { name: self.name }).catch((error: Error) => {
      events.emit({ level: "warn", kind: "sim.heartbeat.failed", host: self.name, message: error.message });
    });
  }, HEARTBEAT_MS);
  return {
    name: self.name,
    async close() {
      clearInterval(timer);
    },
  };
}
