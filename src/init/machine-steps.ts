import type { AirstrapEvent } from "../events.js";

/**
 * Where each machine of a bare-metal bring-up is, read from the event stream alone (pure: the boot
 * services', the SSH probe's, the install's and the wait's events in; a changed row out). The steps
 * are the order a machine goes through them; a machine that boots again (DHCP after a later step)
 * starts over, so a power cycle shows as one.
 */
export const MACHINE_STEPS = [
  "waiting",
  "dhcp",
  "ipxe",
  "kernel",
  "ignition",
  "reported",
  "ssh",
  "installing",
  "installed",
  "ready",
] as const;
export type MachineStep = (typeof MACHINE_STEPS)[number];

export const STEP_LABELS: Record<MachineStep, string> = {
  waiting: "waiting for power-on",
  dhcp: "DHCP",
  ipxe: "iPXE script",
  kernel: "kernel and initramfs",
  ignition: "Ignition fetched",
  reported: "first boot reported",
  ssh: "SSH reachable",
  installing: "installing",
  installed: "installed",
  ready: "Ready",
};

export interface MachineRow {
  /** The manifest's host name; absent for a machine the manifest does not know. */
  name?: string;
  mac: string;
  /** The address it has (reserved, or what DHCP acknowledged). */
  address?: string;
  step: MachineStep;
  /** What the step adds: the phase being installed, the file being fetched. */
  note?: string;
  /** Set when the machine cannot go on by itself: what went wrong, in words. */
  failure?: string;
  /** What the machine said in its first-boot report. */
  report?: { status: string; ignition: string; message?: string; fingerprints: string[] };
  known: boolean;
  /** ISO time of the last change. */
  since: string;
}

export interface PlannedMachine {
  name: string;
  mac: string;
  address: string;
  /** "SHA256:…" of the SSH host key airstrap generated for it: a report naming another booted another config. */
  hostKeyFingerprint?: string;
}

export class MachineSteps {
  private readonly rows = new Map<string, MachineRow>();
  private readonly byName = new Map<string, string>();
  private readonly byAddress = new Map<string, string>();
  private readonly expected = new Map<string, string>();

  constructor(machines: PlannedMachine[], now = new Date().toISOString()) {
    for (const machine of machines) {
      const mac = machine.mac.toLowerCase();
      this.rows.set(mac, {
        name: machine.name,
        mac,
        address: machine.address,
        step: "waiting",
        known: true,
        since: now,
      });
      this.byName.set(machine.name, mac);
      this.byAddress.set(machine.address, mac);
      if (machine.hostKeyFingerprint) this.expected.set(mac, machine.hostKeyFingerprint);
    }
  }

  /** Every machine: the manifest's in its order, then the unknown ones as they appeared. */
  machines(): MachineRow[] {
    return [...this.rows.values()];
  }

  machine(name: string): MachineRow | undefined {
    const mac = this.byName.get(name);
    return mac === undefined ? undefined : this.rows.get(mac);
  }

  /** Sets where a known machine is without an event (a re-run finding it already up). */
  set(name: string, step: MachineStep, note?: string, time = new Date().toISOString()): MachineRow | undefined {
    const mac = this.byName.get(name);
    return mac === undefined ? undefined : this.move(mac, step, time, note);
  }

  /**
   * Applies one event; returns every row it changed (one event of the Ready wait can move several
   * machines at once).
   */
  changes(event: AirstrapEvent): MachineRow[] {
    if (event.kind !== "kube.wait") {
      const row = this.apply(event);
      return row === undefined ? [] : [row];
    }
    const ready = Array.isArray(event.detail?.ready) ? (event.detail.ready as unknown[]) : [];
    return ready.flatMap((name) => {
      const mac = typeof name === "string" ? this.byName.get(name) : undefined;
      const row = mac === undefined ? undefined : this.atLeast(mac, "ready", event.time);
      return row === undefined ? [] : [row];
    });
  }

  /** Applies one event; returns the row it changed, if any (the last one, for an event that moves several: see changes). */
  apply(event: AirstrapEvent): MachineRow | undefined {
    const detail = event.detail ?? {};
    const mac = typeof detail.mac === "string" ? detail.mac.toLowerCase() : undefined;
    switch (event.kind) {
      case "dhcp.offer":
      case "dhcp.ack":
      case "dhcp.pxe-ack":
      case "dhcp.pxe-offer":
        if (!this.isKnown(mac)) return undefined;
        if (event.kind === "dhcp.ack" && typeof detail.address === "string") this.noteAddress(mac, detail.address);
        // Firmware and iPXE send their architecture (option 93); the booted OS's DHCP client does not.
        return this.atLeast(mac, "dhcp", event.time, undefined, detail.arch !== undefined);
      case "dhcp.unknown-mac":
        return mac === undefined ? undefined : this.unknown(mac, event.time, "asked for DHCP: not answered");
      case "boot.unknown": {
        const labels = detail.labels as Record<string, string> | undefined;
        const asked = labels?.mac?.toLowerCase();
        return asked === undefined || this.rows.get(asked)?.known
          ? undefined
          : this.unknown(asked, event.time, `asked for ${String(detail.endpoint)}: refused`);
      }
      case "boot.ipxe":
        return this.isKnown(mac) ? this.atLeast(mac, "ipxe", event.time) : undefined;
      case "boot.asset": {
        const client = typeof detail.client === "string" ? detail.client.replace(/^::ffff:/, "") : undefined;
        const owner = client === undefined ? undefined : this.byAddress.get(client);
        if (owner === undefined || typeof detail.path !== "string" || detail.path.startsWith("airstrap/"))
          return undefined;
        return this.atLeast(owner, "kernel", event.time, detail.path);
      }
      case "boot.ignition":
        return this.isKnown(mac) ? this.atLeast(mac, "ignition", event.time) : undefined;
      case "boot.report":
        return this.isKnown(mac) ? this.reported(mac, detail, event.time) : undefined;
      case "init.ssh":
        return this.named(event, (m) => this.atLeast(m, "ssh", event.time));
      case "install.host.start":
        return this.named(event, (m) => this.atLeast(m, "installing", event.time, event.phase));
      case "install.host.fail":
        return this.named(event, (m) => this.fail(m, `${event.phase ?? "install"}: ${event.message}`, event.time));
      case "install.phase.end":
        return undefined;
      case "kube.wait":
        return this.changes(event).at(-1);
      default:
        return undefined;
    }
  }

  /** Marks a known machine as failed (a bound passed, a check failed); keeps the step it reached. */
  fail(mac: string, failure: string, time: string): MachineRow | undefined {
    const row = this.rows.get(mac);
    if (!row || row.failure === failure) return undefined;
    row.failure = failure;
    row.since = time;
    return row;
  }

  failByName(name: string, failure: string, time = new Date().toISOString()): MachineRow | undefined {
    const mac = this.byName.get(name);
    return mac === undefined ? undefined : this.fail(mac, failure, time);
  }

  private isKnown(mac: string | undefined): mac is string {
    return mac !== undefined && this.rows.get(mac)?.known === true;
  }

  private named(event: AirstrapEvent, act: (mac: string) => MachineRow | undefined): MachineRow | undefined {
    const mac = event.host === undefined ? undefined : this.byName.get(event.host);
    return mac === undefined ? undefined : act(mac);
  }

  private noteAddress(mac: string, address: string): void {
    const row = this.rows.get(mac)!;
    if (row.address !== address) {
      if (row.address !== undefined && this.byAddress.get(row.address) === mac) this.byAddress.delete(row.address);
      row.address = address;
    }
    this.byAddress.set(address, mac);
  }

  private reported(mac: string, detail: Record<string, unknown>, time: string): MachineRow | undefined {
    const row = this.rows.get(mac)!;
    const fingerprints = Array.isArray(detail.sshHostKeyFingerprints)
      ? detail.sshHostKeyFingerprints.filter((f): f is string => typeof f === "string")
      : [];
    row.report = {
      status: String(detail.status),
      ignition: String(detail.ignition),
      ...(typeof detail.message === "string" ? { message: detail.message } : {}),
      fingerprints,
    };
    const expected = this.expected.get(mac);
    const said = detail.message ? ` (${String(detail.message)})` : "";
    if (detail.status !== "first-boot-done" || detail.ignition === "failure") {
      row.failure = `reported ${String(detail.status)}, Ignition ${String(detail.ignition)}${said}`;
    } else if (expected !== undefined && !fingerprints.includes(expected)) {
      row.failure = `booted another config: its SSH host key is ${fingerprints.join(", ") || "none"}, not the ${expected} airstrap generated for it${said}`;
    }
    return this.atLeast(mac, "reported", time, undefined, false, true);
  }

  private unknown(mac: string, time: string, note: string): MachineRow | undefined {
    const row = this.rows.get(mac);
    if (row?.known) return undefined;
    if (row) {
      if (row.note === note) return undefined;
      row.note = note;
      row.since = time;
      return row;
    }
    const added: MachineRow = { mac, step: "dhcp", note, known: false, since: time };
    this.rows.set(mac, added);
    return added;
  }

  /**
   * Moves a machine forward to `step` (never back, except that DHCP again after a later step is a
   * new boot: the machine starts over and its earlier failure is forgotten).
   */
  private atLeast(
    mac: string,
    step: MachineStep,
    time: string,
    note?: string,
    restartsBoot = false,
    force = false,
  ): MachineRow | undefined {
    const row = this.rows.get(mac)!;
    const at = MACHINE_STEPS.indexOf(row.step);
    const to = MACHINE_STEPS.indexOf(step);
    if (restartsBoot && at > MACHINE_STEPS.indexOf("dhcp") && at < MACHINE_STEPS.indexOf("ssh")) {
      delete row.failure;
      delete row.report;
      return this.move(mac, step, time, note);
    }
    if (to < at || (to === at && row.note === note && !force)) return undefined;
    return this.move(mac, step, time, note);
  }

  private move(mac: string, step: MachineStep, time: string, note?: string): MachineRow {
    const row = this.rows.get(mac)!;
    row.step = step;
    if (note === undefined) delete row.note;
    else row.note = note;
    row.since = time;
    return row;
  }
}

/** One line for a row: `srv-1  52:54:00:…  Ignition fetched` (+ note, failure). */
export function describeRow(row: MachineRow): string {
  const step = row.known ? STEP_LABELS[row.step] : "unknown machine";
  const note = row.note ? ` (${row.note})` : "";
  const failure = row.failure ? `: ${row.failure}` : "";
  return `${step}${note}${failure}`;
}
