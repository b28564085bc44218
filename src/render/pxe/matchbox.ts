import type { Plan, PlannedPxe, PlannedPxeHost } from "../../plan/types.js";
import { ROLE_LABELS } from "./builtin-templates.js";
import { INITRD_REPORT_ARG } from "./initrd-report.js";

/**
 * Matchbox's storage shapes (groups/<id>.json, profiles/<id>.json), so a real Matchbox pointed at
 * the same folder serves the same boot. Each host has its own profile because the profile names
 * the Ignition file, and each host's Ignition config is its own.
 */
export function renderProfile(pxe: PlannedPxe, host: PlannedPxeHost): string {
  const profile = {
    id: host.profile,
    name: `${ROLE_LABELS[host.role]} ${host.name}`,
    ignition_id: host.ignitionFile,
    boot: { kernel: host.urls.kernel, initrd: host.urls.initrd, args: kernelArgs(pxe, host) },
  };
  return `${JSON.stringify(profile, null, 2)}\n`;
}

/** Selected by MAC; the metadata is what a Matchbox template could use (no secret in it). */
export function renderGroup(plan: Plan, host: PlannedPxeHost): string {
  const group = {
    id: host.name,
    name: `${host.name} (${ROLE_LABELS[host.role]})`,
    profile: host.profile,
    selector: { mac: host.mac },
    metadata: {
      cluster: plan.name,
      node_name: host.name,
      node_fqdn: `${host.name}.${plan.domain}`,
      node_ip: host.address,
      node_role: host.role,
    },
  };
  return `${JSON.stringify(group, null, 2)}\n`;
}

/**
 * iPXE expands `${mac:hexhyp}` when it fetches, so one profile shape serves every host. UEFI iPXE
 * needs `initrd=<name>` for each initrd; the last one is airstrap's, which reports a boot that
 * stops in the initramfs to `airstrap.report=` (see initrd-report.ts). Flatcar: first boot
 * (Ignition runs), a console on screen and serial. Any other OS: the dracut live-root form the
 * lab boots Debian with.
 */
export function kernelArgs(pxe: PlannedPxe, host: PlannedPxeHost): string[] {
  const initrds = host.urls.initrd.map((url) => `initrd=${url.slice(url.lastIndexOf("/") + 1)}`);
  const config = `ignition.config.url=${pxe.bootUrl}/ignition?mac=\${mac:hexhyp}`;
  const report = `${INITRD_REPORT_ARG}=${host.urls.report}`;
  if (pxe.os.kind === "flatcar")
    return [
      ...initrds,
      config,
      report,
      "flatcar.first_boot=1",
      "console=tty0",
      "console=ttyS0,115200n8",
      ...pxe.os.args,
    ];
  return [
    ...initrds,
    ...(host.urls.rootImage === undefined ? [] : [`root=live:${host.urls.rootImage}`, "rd.live.image"]),
    "ip=dhcp",
    "rd.neednet=1",
    "ignition.firstboot",
    "ignition.platform.id=metal",
    config,
    report,
    ...pxe.os.args,
  ];
}
