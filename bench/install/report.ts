import type { CpuUse } from "./cpu-usage.js";

export interface Scenario {
  label: string;
  servers: number;
  agents: number;
  concurrency?: number;
  /** false: spec.bootstrap.relay: false, every host fetches from the bootstrap machine. */
  relay?: false;
}

export interface Measured {
  scenario: Scenario;
  hosts: number;
  installSeconds: number;
  waitSeconds: number;
  /** Seconds per install phase, by title. */
  phases: Map<string, number>;
  cpu: CpuUse;
}

function columns(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ")).join("\n");
}

const totalOf = (r: Measured) => r.installSeconds + r.waitSeconds;

function ratioLine(what: string, results: Measured[], numerator: string, denominator: string, target?: string) {
  const top = results.find((r) => r.scenario.label === numerator);
  const bottom = results.find((r) => r.scenario.label === denominator);
  if (!top || !bottom) return `${what}: not measured`;
  return `${what}: ${(totalOf(top) / totalOf(bottom)).toFixed(2)}×${target ? ` (target ${target})` : ""}`;
}

/** The wall-time table, the CPU the hosts used, each phase's share, and the ratios issue 8 targets. */
export function report(results: Measured[]): string {
  const main = columns([
    ["scenario", "hosts", "install s", "wait s", "total s", "host CPU s", "machine busy"],
    ...results.map((r) => [
      r.scenario.label,
      String(r.hosts),
      r.installSeconds.toFixed(1),
      r.waitSeconds.toFixed(1),
      totalOf(r).toFixed(1),
      r.cpu.hostSeconds.toFixed(1),
      `${Math.round(r.cpu.machineBusyShare * 100)}%`,
    ]),
  ]);
  const titles = [...new Set(results.flatMap((r) => [...r.phases.keys()]))];
  const phases = columns([
    [
      "phase (s; the longer lane)",
      ...results.map((r) => `${r.scenario.servers}+${r.scenario.agents}${r.scenario.concurrency ? "/1" : ""}`),
    ],
    ...titles.map((title) => [title, ...results.map((r) => r.phases.get(title)?.toFixed(1) ?? "-")]),
  ]);
  return [
    main,
    "",
    phases,
    "",
    ratioLine("N = 12 vs N = 2 agents (3 servers)", results, "3 servers + 12 agents", "3 servers + 2 agents", "< 1.2×"),
    ratioLine(
      "one host at a time vs all at once (3 + 12)",
      results,
      "3 servers + 12 agents, serial",
      "3 servers + 12 agents",
      "≥ 3×",
    ),
    ratioLine(
      "with the relay vs without (3 + 12)",
      results,
      "3 servers + 12 agents",
      "3 servers + 12 agents, no relay",
    ),
  ].join("\n");
}
