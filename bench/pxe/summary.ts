/**
 * One table for the whole of bench/pxe/run.sh: tftp.ts and dhcp.ts each append their headline
 * rows to the file named by PXE_BENCH_SUMMARY (JSON lines); this prints them together, with the
 * targets of issue 14 beside them.
 * Usage: node --import tsx bench/pxe/summary.ts <file>
 */
import { appendFileSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";

export interface SummaryRow {
  bench: string;
  measure: string;
  /** Figures by server (airstrap, dnsmasq, and the DHCP floor). */
  values: Record<string, number>;
  /** airstrap / dnsmasq as measured (for DHCP offers/s: the median of the per-round ratios). */
  ratio?: string;
  target?: string;
  met?: boolean;
  load: string;
}

export const loadNow = () =>
  loadavg()
    .map((v) => v.toFixed(1))
    .join(" ");

/** Adds a row to the run's summary, when run.sh asked for one. */
export function addSummaryRow(row: SummaryRow): void {
  const file = process.env.PXE_BENCH_SUMMARY;
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
}

function print(file: string): void {
  const rows = readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as SummaryRow);
  const figure = (value: number | undefined) =>
    value === undefined ? "–" : value >= 100 ? value.toFixed(0) : value.toFixed(value >= 10 ? 1 : 2);
  const lines = [
    "| bench | measure | airstrap | dnsmasq | floor | airstrap / dnsmasq | target | met | load average (1 5 15 min) at the end |",
    "|---|---|---:|---:|---:|---:|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.bench} | ${r.measure} | ${figure(r.values.airstrap)} | ${figure(r.values.dnsmasq)} | ${figure(r.values.floor)} | ${r.ratio ?? "–"} | ${r.target ?? "–"} | ${r.met === undefined ? "–" : r.met ? "yes" : "no"} | ${r.load} |`,
    ),
  ];
  process.stdout.write(`\nPXE benchmark summary\n\n${lines.join("\n")}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) print(process.argv[2]!);
