import type { DhcpBoot } from "./config.js";
import { type DhcpMessage, Option } from "./wire.js";

/**
 * What kind of boot client sent a request, and so which file it gets: a BIOS or UEFI PXE ROM gets
 * its NBP (iPXE, chainloaded), iPXE itself gets the HTTP script (anything else would loop back
 * into iPXE), a UEFI HTTP boot client gets the HTTP URL of an EFI binary.
 */
export type BootKind = "bios" | "uefi" | "ipxe" | "http";

export interface ClientKind {
  /** Vendor class 60 begins with PXEClient or HTTPClient: it is booting from the network. */
  booting: boolean;
  /** "PXEClient" or "HTTPClient", echoed in option 60 of the reply. */
  vendorClass: "PXEClient" | "HTTPClient" | undefined;
  /** First architecture of option 93 (RFC 4578 §2.1); undefined when absent or malformed. */
  arch: number | undefined;
  boot: BootKind | undefined;
}

const PXE_CLIENT = Buffer.from("PXEClient", "latin1");
const HTTP_CLIENT = Buffer.from("HTTPClient", "latin1");

/** Compared byte by byte: every request is classified, and a string of the whole option is not needed. */
function startsWith(value: Buffer | undefined, prefix: Buffer): boolean {
  if (value === undefined || value.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (value[i] !== prefix[i]) return false;
  return true;
}

const UEFI_ARCHES = new Set([6, 7, 9]);
const BIOS_ARCH = 0;
const UEFI_HTTP_ARCHES = new Set([16]);

export function clientKindOf(message: DhcpMessage): ClientKind {
  const vendor = message.options.get(Option.VENDOR_CLASS);
  const vendorClass = startsWith(vendor, PXE_CLIENT)
    ? "PXEClient"
    : startsWith(vendor, HTTP_CLIENT)
      ? "HTTPClient"
      : undefined;
  const archOption = message.options.get(Option.CLIENT_ARCH);
  const arch = archOption !== undefined && archOption.length >= 2 ? archOption.readUInt16BE(0) : undefined;
  return { booting: vendorClass !== undefined, vendorClass, arch, boot: bootKindOf(message, vendorClass, arch) };
}

function bootKindOf(message: DhcpMessage, vendorClass: string | undefined, arch: number | undefined) {
  if (isIpxe(message)) return "ipxe";
  if (vendorClass === "HTTPClient" || (arch !== undefined && UEFI_HTTP_ARCHES.has(arch))) return "http";
  if (arch === undefined || arch === BIOS_ARCH) return "bios";
  if (UEFI_ARCHES.has(arch)) return "uefi";
  return undefined;
}

/** iPXE names itself in user class 77 ("iPXE") and always sends its encapsulated option 175. */
function isIpxe(message: DhcpMessage): boolean {
  if (message.options.has(Option.IPXE_ENCAPSULATED)) return true;
  return message.options.get(Option.USER_CLASS)?.includes("iPXE", 0, "latin1") === true;
}

/** The boot file for this kind of client, or undefined when there is none to give. */
export function bootFileFor(kind: BootKind | undefined, boot: DhcpBoot): string | undefined {
  switch (kind) {
    case "bios":
      return boot.biosFile;
    case "uefi":
      return boot.uefiFile;
    case "ipxe":
      return boot.ipxeScriptUrl;
    case "http":
      return boot.httpBootUrl;
    default:
      return undefined;
  }
}
