/** Presentation-form names ("a.b.c", lower case, a backslash before a dot inside a label, "" for the root). Pure. */

/** Encodes a presentation-form name (no trailing dot needed) as uncompressed wire labels. */
export function encodeName(name: string): Uint8Array {
  const labels = splitLabels(name);
  const bytes: number[] = [];
  for (const label of labels) {
    bytes.push(label.length);
    for (let i = 0; i < label.length; i++) bytes.push(label.charCodeAt(i) & 0xff);
  }
  bytes.push(0);
  return Uint8Array.from(bytes);
}

/** Splits a presentation name into raw labels, honouring "\." and "\\" escapes. */
export function splitLabels(name: string): string[] {
  const trimmed = name.endsWith(".") && !name.endsWith("\\.") ? name.slice(0, -1) : name;
  if (trimmed === "") return [];
  const labels: string[] = [];
  let current = "";
  for (let i = 0; i < trimmed.length; i++) {
    const char = trimmed[i]!;
    if (char === "\\" && i + 1 < trimmed.length) {
      current += trimmed[++i];
    } else if (char === ".") {
      labels.push(current);
      current = "";
    } else {
      current += char;
    }
  }
  labels.push(current);
  return labels;
}

/** The name with its leftmost label removed; undefined for the root. */
export function parentName(name: string): string | undefined {
  if (name === "") return undefined;
  for (let i = 0; i < name.length; i++) {
    if (name[i] === "\\") {
      i++;
    } else if (name[i] === ".") {
      return name.slice(i + 1);
    }
  }
  return "";
}

export function isSubdomain(name: string, ancestor: string): boolean {
  if (ancestor === "") return true;
  if (name === ancestor) return true;
  const dot = name.length - ancestor.length - 1;
  return dot > 0 && name.endsWith(ancestor) && name[dot] === "." && name[dot - 1] !== "\\";
}

/** Splits off the leftmost label: [raw label, rest of the name]. */
export function firstLabel(name: string): [string, string] {
  let label = "";
  for (let i = 0; i < name.length; i++) {
    const char = name[i]!;
    if (char === "\\" && i + 1 < name.length) {
      label += name[++i];
    } else if (char === ".") {
      return [label, name.slice(i + 1)];
    } else {
      label += char;
    }
  }
  return [label, ""];
}
