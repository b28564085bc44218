import type { Arch, BootOs, PxeSettings } from "../manifest/defaults.js";
import type { PlannedHost, PlannedPxe, PlannedPxeHost, PxeRole } from "./types.js";

/** Where files live under the boot HTTP server's /assets/ (a real Matchbox: its -assets-path). */
export const PXE_ASSETS = {
  /** Mirrors the release server's own layout: `<channel>.release.flatcar-linux.net/<arch>-usr/<version>/`. */
  flatcarDir: (os: Extract<BootOs, { kind: "flatcar" }>, arch: Arch) =>
    `flatcar/${os.channel}/${arch}-usr/${os.version}`,
  flatcarKernel: "flatcar_production_pxe.vmlinuz",
  flatcarInitrd: "flatcar_production_pxe_image.cpio.gz",
  executable: (arch: Arch) => `airstrap/airstrap-linux-${arch}`,
  /** Written by airstrap generate (the plan holds no secret). */
  plan: "airstrap/plan.json",
  /** airstrap's extra initrd, after the OS's own: reports a machine stuck in its initramfs (render/pxe/initrd-report.ts). */
  initrdReport: "airstrap/initrd-report.cpio",
} as const;

/** Pure: which hosts boot over PXE (every host with a mac), as what, and what each fetches. */
export function planPxe(pxe: PxeSettings, hosts: PlannedHost[], arch: Arch): PlannedPxe {
  // The address is IPv4 (PXE boots over DHCPv4): no brackets needed.
  const bootUrl = `http://${pxe.address}:${pxe.httpPort}`;
  const asset = (name: string) => `${bootUrl}/assets/${name}`;
  const boot = bootFiles(pxe.os, arch);
  return {
    ...pxe,
    bootUrl,
    hosts: hosts.flatMap((h): PlannedPxeHost[] =>
      h.mac === undefined
        ? []
        : [
            {
              name: h.name,
              mac: h.mac,
              address: h.address,
              role: pxeRole(h),
              profile: h.name,
              ignitionFile: `${h.name}.ign`,
              network: pxe.dhcp === "proxy" ? "static" : "dhcp",
              ...(h.dataDisk === undefined ? {} : { dataDisk: h.dataDisk }),
              urls: {
                kernel: asset(boot.kernel),
                initrd: [...boot.initrd.map(asset), asset(PXE_ASSETS.initrdReport)],
                ...(boot.rootImage === undefined ? {} : { rootImage: asset(boot.rootImage) }),
                ignition: `${bootUrl}/ignition?mac=${h.mac.replaceAll(":", "-")}`,
                executable: asset(PXE_ASSETS.executable(arch)),
                plan: asset(PXE_ASSETS.plan),
                report: `${bootUrl}/report?mac=${h.mac.replaceAll(":", "-")}`,
              },
            },
          ],
    ),
  };
}

export function pxeRole(host: Pick<PlannedHost, "role" | "primary">): PxeRole {
  if (host.primary) return "primary-server";
  return host.role;
}

function bootFiles(os: BootOs, arch: Arch): { kernel: string; initrd: string[]; rootImage?: string } {
  if (os.kind === "custom")
    return { kernel: os.kernel, initrd: os.initrd, ...(os.rootImage === undefined ? {} : { rootImage: os.rootImage }) };
  const dir = PXE_ASSETS.flatcarDir(os, arch);
  return { kernel: `${dir}/${PXE_ASSETS.flatcarKernel}`, initrd: [`${dir}/${PXE_ASSETS.flatcarInitrd}`] };
}
