import { createHash } from "node:crypto";

/** Kernel object names of one lab, derived from its name so two labs never share one. */
export interface LabNames {
  netns: string;
  bridge: string;
  /** The host machine's end of the link into the site; carries the bootstrap address. */
  hostLink: string;
  /** Its peer inside the namespace, plugged into the bridge. */
  siteLink: string;
  /** Tag in every nspawn machine name of this lab. */
  tag: string;
}

const LAB_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

export function isValidLabName(name: string): boolean {
  return LAB_NAME.test(name);
}

export function labNames(labName: string): LabNames {
  // Interface names are limited to 15 bytes, so the host-side names carry a hash, not the name.
  const tag = createHash("sha256").update(labName).digest("hex").slice(0, 8);
  return {
    netns: `airstrap-lab-${labName}`,
    bridge: "br-site",
    hostLink: `aslab${tag}`,
    siteLink: `aslab${tag}s`,
    tag,
  };
}

/**
 * A host's nspawn machine name and the bridge side of its veth, which systemd-nspawn names
 * "vb-" + machine name; kept under the 15-byte limit so the name stays predictable.
 */
export function hostMachine(names: LabNames, index: number): { machine: string; bridgeLink: string; tap: string } {
  const machine = `${names.tag}-h${index}`;
  return { machine, bridgeLink: `vb-${machine}`, tap: `tp-${machine}` };
}
