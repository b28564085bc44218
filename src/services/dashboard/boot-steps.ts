import type { AirstrapEvent } from "../../events.js";
import { unmapIPv4 } from "../../net/ip.js";

/**
 * How far a machine got in network boot, from the boot services' events (dhcp.*, tftp.*, boot.*),
 * in words an operator reads: the step (DHCP, iPXE, Ignition, first boot), what it last fetched,
 * and what failed. Pure. DHCP and boot HTTP name a machine by MAC; TFTP and the asset downloads
 * only by the address it asked from, which is the one full DHCP gave it (or its planned address).
 */
export const BOOT_STEPS = ["DHCP", "iPXE", "Ignition", "first boot"] as const;
export type BootStep = (typeof BOOT_STEPS)[number];

export interface BootProgress {
  step?: BootStep;
  /** What the step's last event said, e.g. "ipxe.efi over TFTP", "vmlinuz (8.1 MB)" or "reported; Ignition ran". */
  detail?: string;
  /** The address full DHCP handed the machine: TFTP and asset requests come from it. */
  address?: string;
  /** Set when the event reports a failure. */
  error?: string;
}

/** The DHCP replies that hand a machine its address or its boot file. */
const DHCP_ANSWERS = new Set(["dhcp.offer", "dhcp.ack", "dhcp.proxy-offer", "dhcp.pxe-ack"]);

/** Kinds this file folds: the others are not boot events. */
export function isBootEvent(event: AirstrapEvent): boolean {
  return event.kind.startsWith("dhcp.") || event.kind.startsWith("tftp.") || event.kind.startsWith("boot.");
}

/** The address a TFTP or HTTP client asked from ("10.0.0.5:2070", "[fd00::5]:2070", "::ffff:10.0.0.5"). */
export function clientAddress(event: AirstrapEvent): string | undefined {
  const client = event.detail?.client;
  if (typeof client !== "string" || client === "") return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(client);
  if (bracketed) return bracketed[1];
  const withPort = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(client);
  return unmapIPv4(withPort ? (withPort[1] as string) : client);
}

/** The progress after one more boot event, or undefined when the event says nothing about it. */
export function foldBoot(before: BootProgress, event: AirstrapEvent): BootProgress | undefined {
  const detail = event.detail ?? {};
  const text = (key: string) => (typeof detail[key] === "string" ? (detail[key] as string) : undefined);
  if (DHCP_ANSWERS.has(event.kind)) {
    const address = text("address");
    const bootFile = text("bootFile");
    const words = [address, bootFile === undefined ? undefined : `boot file ${bootFile}`].filter(Boolean).join(", ");
    return { ...reach(before, "DHCP", words), ...(address === undefined ? {} : { address }) };
  }
  switch (event.kind) {
    case "tftp.transfer":
      return { ...before, detail: `${text("file") ?? "a file"} over TFTP` };
    case "tftp.transfer.failed":
      return { ...before, error: event.message };
    case "boot.ipxe":
      return reach(before, "iPXE", "iPXE script");
    case "boot.asset":
      return { ...before, detail: `${lastSegment(text("path"))} (${megabytes(detail.bytes)})` };
    case "boot.asset.missing":
    case "boot.asset.refused":
    case "boot.missing":
      return { ...before, error: event.message };
    case "boot.ignition":
      return reach(before, "Ignition", "Ignition config");
    case "boot.report": {
      const ignition = { success: "Ignition ran", failure: "Ignition failed" }[text("ignition") ?? ""];
      const words = `${detail.status === "first-boot-done" ? "reported" : "reported a failed first boot"}${ignition ? `; ${ignition}` : ""}`;
      const reported =
        detail.status === "first-boot-done" ? reach(before, "first boot", words) : { ...before, detail: words };
      return detail.ignition === "failure" ? { ...reported, error: event.message } : reported;
    }
    default:
      return undefined;
  }
}

/** Steps only ever move forward: a late DHCP renewal does not undo a first boot, nor its words. */
function reach(before: BootProgress, step: BootStep, detail: string): BootProgress {
  const further = before.step === undefined || BOOT_STEPS.indexOf(step) >= BOOT_STEPS.indexOf(before.step);
  return further ? { ...before, step, detail } : before;
}

function lastSegment(path: string | undefined): string {
  const last = path?.split("/").pop();
  if (last === undefined || last === "") return "an asset";
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

function megabytes(bytes: unknown): string {
  return typeof bytes === "number" ? `${(bytes / 1_000_000).toFixed(1)} MB` : "?";
}
