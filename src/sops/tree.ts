import { isAlias, isMap, isScalar, isSeq, type Node, type Scalar } from "yaml";
import type { SopsType } from "./cipher.js";

/** A value of the document, with the path of map keys above it (sops leaves list indices out). */
export interface Leaf {
  node: Scalar;
  path: string[];
}

export class SopsFormatError extends Error {}

/** Which values a file encrypts: sops' rules, one of which is set per file. */
export interface EncryptionRule {
  encrypted_regex?: string;
  unencrypted_regex?: string;
  encrypted_suffix?: string;
  unencrypted_suffix?: string;
}

/** The sops rule for a path: one key in the path decides it, as sops tests each component. */
export function shouldEncrypt(rule: EncryptionRule, path: string[]): boolean {
  if (rule.encrypted_regex !== undefined) {
    const re = new RegExp(rule.encrypted_regex);
    return path.some((part) => re.test(part));
  }
  if (rule.unencrypted_regex !== undefined) {
    const re = new RegExp(rule.unencrypted_regex);
    return !path.some((part) => re.test(part));
  }
  if (rule.encrypted_suffix !== undefined) {
    const suffix = rule.encrypted_suffix;
    return path.some((part) => part.endsWith(suffix));
  }
  const suffix = rule.unencrypted_suffix ?? "_unencrypted";
  return !path.some((part) => part.endsWith(suffix));
}

/** Values in document order, as sops walks them; `skipTopKey` leaves the `sops` metadata out. */
export function leavesOf(root: unknown, skipTopKey?: string): Leaf[] {
  const out: Leaf[] = [];
  const walk = (node: unknown, path: string[]) => {
    if (node === null || node === undefined) return;
    if (isAlias(node)) throw new SopsFormatError(`anchors and aliases are not supported (at ${where(path)})`);
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        if (typeof key !== "string") throw new SopsFormatError(`a key under ${where(path)} is not a string`);
        if (path.length === 0 && key === skipTopKey) continue;
        walk(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) for (const item of node.items) walk(item, path);
    else if (isScalar(node)) {
      if (node.value !== null) out.push({ node, path });
    } else throw new SopsFormatError(`unsupported YAML node at ${where(path)}`);
  };
  walk(root, []);
  return out;
}

const where = (path: string[]) => (path.length ? path.join(".") : "the top level");

/** The bytes sops hashes and encrypts for a value, and the type it records. */
export function plainOf(node: Scalar): { text: string; type: Exclude<SopsType, "comment"> } {
  const value = node.value;
  if (typeof value === "string") return { text: value, type: "str" };
  if (typeof value === "boolean") return { text: value ? "True" : "False", type: "bool" };
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new SopsFormatError(`the value ${node.source} is not a finite number`);
    const written = String(node.source ?? value);
    if (Number.isInteger(value) && !/[.eE]/.test(written)) return { text: String(value), type: "int" };
    return { text: formatFloat(value), type: "float" };
  }
  throw new SopsFormatError(`a value of type ${typeof value} cannot be encrypted`);
}

/** Shortest decimal without an exponent, as Go's strconv.FormatFloat(f, 'f', -1, 64). */
function formatFloat(value: number): string {
  const text = String(value);
  if (!/e/i.test(text)) return text;
  const [mantissa, exponentText] = text.split(/e/i) as [string, string];
  const exponent = Number(exponentText);
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace(/^-/, "").replace(".", "");
  const point = (mantissa.replace(/^-/, "").split(".")[0] ?? "").length + exponent;
  const body =
    point <= 0
      ? `0.${"0".repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + "0".repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return (negative ? "-" : "") + body;
}

/** The typed value of decrypted text, as sops restores it. */
export function typedValue(text: string, type: string): string | number | boolean {
  switch (type) {
    case "str":
      return text;
    case "int":
    case "float": {
      const number = Number(text);
      if (text.trim() === "" || Number.isNaN(number)) throw new SopsFormatError(`"${type}" value is not a number`);
      return number;
    }
    case "bool":
      if (/^(true|false)$/i.test(text)) return text.toLowerCase() === "true";
      throw new SopsFormatError('"bool" value is neither True nor False');
    default:
      throw new SopsFormatError(`values of type ${type} are not supported`);
  }
}

/** The first comment inside `node` (on any key or value below it), for refusing to leave it readable. */
export function commentInside(node: unknown): string | undefined {
  const own = (n: unknown) => {
    const c = n as Partial<Pick<Node, "comment" | "commentBefore">> | null;
    return c?.commentBefore ?? c?.comment ?? undefined;
  };
  if (node === null || node === undefined) return undefined;
  const mine = own(node);
  if (mine) return mine;
  if (isMap(node)) {
    for (const pair of node.items) {
      const found = own(pair.key) ?? commentInside(pair.value);
      if (found) return found;
    }
  } else if (isSeq(node)) {
    for (const item of node.items) {
      const found = commentInside(item);
      if (found) return found;
    }
  }
  return undefined;
}
