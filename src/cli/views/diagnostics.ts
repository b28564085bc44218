import type { Diagnostic } from "../../manifest/diagnostics.js";
import { colorsFor } from "../terminal.js";

/** Compiler-style: `file:line:col: error: message`, the source line with a caret, then the hint. */
export function formatDiagnostics(
  diagnostics: Diagnostic[],
  source: { file: string; text: string } | undefined,
  stream: NodeJS.WriteStream,
): string {
  const c = colorsFor(stream);
  const lines = source?.text.split(/\r?\n/) ?? [];
  return diagnostics
    .map((d) => {
      const label = d.severity === "error" ? c.red("error") : c.yellow("warning");
      const where = d.path && !d.message.includes(d.path) ? `${d.path}: ` : "";
      const out = [`${c.bold(`${d.file}:${d.line}:${d.column}`)}: ${label}: ${where}${d.message}`];
      // Findings in other files (a stage's manifests) carry no excerpt: only the source's lines are at hand.
      const line = d.file === source?.file ? lines[d.line - 1] : undefined;
      if (line !== undefined && line.trim() !== "") {
        const gutter = String(d.line).padStart(4);
        out.push(
          c.dim(`${gutter} | `) + line,
          `${c.dim(`${" ".repeat(4)} | `)}${" ".repeat(Math.max(0, d.column - 1))}${c.red("^")}`,
        );
      }
      if (d.hint) out.push(`     ${c.dim("hint:")} ${d.hint}`);
      return out.join("\n");
    })
    .join("\n");
}
