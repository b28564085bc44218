export type Severity = "error" | "warning";
export type Path = ReadonlyArray<string | number>;

/** A cross-field check's result, before it is placed at a line and column. */
export interface Finding {
  severity: Severity;
  path: Path;
  message: string;
  hint?: string;
}

/** One finding about the manifest, with where it is and what would be valid. */
export interface Diagnostic {
  severity: Severity;
  file: string;
  line: number;
  column: number;
  /** Dotted location inside the document, e.g. spec.hosts[2].role. */
  path: string;
  message: string;
  hint?: string;
}

export function formatPath(path: Path): string {
  return path.reduce<string>(
    (acc, part) => (typeof part === "number" ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part),
    "",
  );
}

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return a.line - b.line || a.column - b.column || a.message.localeCompare(b.message);
}
