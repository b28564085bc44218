import type { BootSpec } from "./data.js";

/**
 * The iPXE scripts. `/boot.ipxe` is the fixed first step every machine chains to: it sends what
 * iPXE knows about the machine back as query parameters, which become its labels. The `${…}` are
 * iPXE's own settings, expanded by iPXE, never by us (byte for byte Matchbox's script).
 */
export const BOOT_IPXE =
  "#!ipxe\nchain ipxe?uuid=${uuid}&mac=${mac:hexhyp}&domain=${domain}&hostname=${hostname}&serial=${serial}&arch=${buildarch:uristring}\n";

/** A profile's boot as an iPXE script: kernel with its arguments, one initrd line each, boot. Args are passed through untouched. */
export function renderIpxe(boot: BootSpec & { kernel: string }): string {
  const kernel = [boot.kernel, ...boot.args].join(" ");
  const initrds = boot.initrd.map((initrd) => `initrd ${initrd}\n`).join("");
  return `#!ipxe\nkernel ${kernel}\n${initrds}boot\n`;
}
