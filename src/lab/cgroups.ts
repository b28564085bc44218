import { existsSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";

/**
 * Without systemd on this machine, nothing gives each container a cgroup of its own: every host's
 * systemd would create its units' cgroups in one shared tree and they would trip over each other
 * (units failing with 219/CGROUP at random). So each host is started inside its own cgroup,
 * `<current>/airstrap-lab/<machine>`, in the hierarchies systemd uses (name=systemd and/or the
 * unified one), which nspawn --keep-unit then hands to the container as its root.
 */
const LAB_CGROUP = "airstrap-lab";

function hierarchies(): string[] {
  let lines: string[];
  try {
    lines = readFileSync("/proc/self/cgroup", "utf8").trim().split("\n");
  } catch {
    return [];
  }
  const dirs: string[] = [];
  for (const line of lines) {
    const [id, controllers, path = "/"] = line.split(":");
    let mount: string | undefined;
    if (controllers === "name=systemd") mount = "/sys/fs/cgroup/systemd";
    else if (id === "0" && controllers === "") {
      mount = existsSync("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified";
    }
    if (mount && existsSync(mount)) dirs.push(join(mount, path, LAB_CGROUP));
  }
  return dirs;
}

/** The cgroup directories (one per hierarchy) a host's container is started in. */
export function hostCgroups(machine: string): string[] {
  return hierarchies().map((dir) => join(dir, machine));
}

/** Removes the cgroups (empty once their containers are gone) of the machines the test picks. */
export function removeHostCgroups(isLabMachine: (machine: string) => boolean): void {
  for (const dir of hierarchies()) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) if (isLabMachine(name)) removeTree(join(dir, name));
    try {
      rmdirSync(dir);
    } catch {}
  }
}

/** Depth first: a cgroup directory can only be removed once its children are. */
function removeTree(dir: string): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return;
  }
  for (const entry of entries) removeTree(join(dir, entry));
  try {
    rmdirSync(dir);
  } catch {}
}
