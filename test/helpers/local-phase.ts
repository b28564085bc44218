import { silentEvents } from "../../src/events.js";
import { localHost } from "../../src/hosts/local-host.js";
import type { PhaseContext } from "../../src/install/phase.js";
import { changeDoor } from "../../src/install/runner.js";
import type { PlannedHost } from "../../src/plan/types.js";

/** This machine as an install host, for host-side scripts run by a real shell (no SSH). */
export const localPlannedHost: PlannedHost = {
  name: "here",
  fqdn: "here.test.lan",
  address: "127.0.0.1",
  role: "agent",
  primary: false,
  labels: {},
  taints: [],
  ssh: { user: "root", port: 22, sudo: false } as PlannedHost["ssh"],
  connection: "local",
  runsRegistry: false,
};

/** A phase context whose one host is this machine, making real changes. */
export const localPhaseContext = {
  events: silentEvents,
  dryRun: false,
  hosts: new Map([["here", localHost()]]),
  change: changeDoor(silentEvents, false),
} as unknown as PhaseContext;
