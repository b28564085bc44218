import { formatEndpoint } from "../../net/endpoint.js";
import type { Plan, PlannedPxe } from "../../plan/types.js";
import { colorsFor } from "../terminal.js";

/** A human reading of the plan: who does what, in which order, reached how. */
export function formatPlan(plan: Plan, stream: NodeJS.WriteStream): string {
  const c = colorsFor(stream);
  const table = (rows: string[][]) => {
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    return rows
      .map((r, n) =>
        r
          .map((cell, i) => (n === 0 ? c.bold(cell.padEnd(widths[i]!)) : cell.padEnd(widths[i]!)))
          .join("  ")
          .trimEnd(),
      )
      .join("\n");
  };
  const step = (n: number, text: string) => `  ${n}. ${text}`;
  const { joinOrder } = plan;
  const lines = [
    c.bold(`cluster ${plan.name}`) +
      `: ${plan.distro.name} ${plan.distro.version} (${plan.distro.arch}), domain ${plan.domain}`,
    "",
    table([
      ["HOST", "ADDRESS", "ROLE", "FQDN", "REGISTRY"],
      ...plan.hosts.map((h) => [
        h.name,
        h.address,
        h.primary ? "server (primary)" : h.role,
        h.fqdn,
        h.runsRegistry ? "yes" : "",
      ]),
    ]),
    "",
    c.bold("join order"),
    step(1, `${joinOrder.primary} initialises the cluster`),
    ...(joinOrder.servers.length ? [step(2, `then one at a time: ${joinOrder.servers.join(" → ")}`)] : []),
    ...(joinOrder.agents.length
      ? [step(joinOrder.servers.length ? 3 : 2, `then in parallel: ${joinOrder.agents.join(", ")}`)]
      : []),
    "",
    c.bold("endpoints"),
    `  join URL   ${plan.joinUrl}`,
    `  API URL    ${plan.apiUrl}`,
    `  ${plan.clusterFqdn} resolves on every node to that node itself`,
    ...plan.loadBalancer.listeners.map(
      (l) => `  LB ${l.name.padEnd(4)}    :${l.port} → ${l.backends.map(formatEndpoint).join(", ")}`,
    ),
    `  DNS        :${plan.dns.port} on every node; upstreams ${plan.dns.upstreams.length ? plan.dns.upstreams.map(formatEndpoint).join(", ") : "none (outside names refused)"}`,
    `  registry   ${plan.registry.endpoints.join(", ") || "none"} mirrors ${plan.registry.mirrors.join(", ")}`,
    "",
    c.bold("files per host"),
    ...plan.hosts.flatMap((h) => [
      `  ${h.name}`,
      ...(plan.files[h.name] ?? []).map((f) => `    ${f.mode.toString(8).padStart(4, "0")} ${f.path}`),
    ]),
    ...(plan.pxe ? ["", ...formatPxe(plan.pxe, table, c.bold)] : []),
    ...(plan.stages.length ? ["", ...formatStages(plan.stages, table, c.bold)] : []),
  ];
  return lines.join("\n");
}

function formatPxe(pxe: PlannedPxe, table: (rows: string[][]) => string, bold: (text: string) => string): string[] {
  const os =
    pxe.os.kind === "flatcar"
      ? `Flatcar ${pxe.os.channel} ${pxe.os.version}`
      : `kernel ${pxe.os.kernel}${pxe.os.rootImage ? `, root ${pxe.os.rootImage}` : ""}`;
  return [
    bold("PXE boot"),
    `  ${pxe.bootUrl} on ${pxe.interface}, DHCP ${pxe.dhcp === "proxy" ? "proxy (the site's server gives addresses)" : `full (reservations by MAC${pxe.pool ? `, pool ${pxe.pool.start}-${pxe.pool.end}` : ", no pool"})`}`,
    `  ${os}, Ignition ${pxe.ignitionVersion}${pxe.templates ? `, templates from ${pxe.templates}` : ""}`,
    "",
    table([
      ["HOST", "MAC", "ROLE", "NETWORK", "IGNITION"],
      ...pxe.hosts.map((h) => [h.name, h.mac, h.role, h.network, `ignition/${h.ignitionFile}`]),
    ]),
  ];
}

/**
 * Stages in the order they become Ready: a stage starts once the stages it depends on are Ready,
 * so stages of the same wave are applied side by side.
 */
function formatStages(
  stages: Plan["stages"],
  table: (rows: string[][]) => string,
  bold: (text: string) => string,
): string[] {
  const wave = new Map<string, number>();
  for (const stage of stages)
    wave.set(stage.name, 1 + Math.max(0, ...stage.dependsOn.map((name) => wave.get(name) ?? 0)));
  return [
    bold("GitOps stages (Flux Kustomizations, in order)"),
    table([
      ["#", "STAGE", "FOLDER", "WAVE", "AFTER"],
      ...stages.map((s, i) => [String(i + 1), s.name, s.path, String(wave.get(s.name)), s.dependsOn.join(", ") || "-"]),
    ]),
  ];
}
