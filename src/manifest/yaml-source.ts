import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { Path } from "./diagnostics.js";

/** A parsed YAML document that can say where any path of it is written. */
export interface YamlSource {
  document: Document.Parsed;
  /** Line and column (1-based, in the text as written) of an offset in the parsed text. */
  at(offset: number): { line: number; column: number };
  /** Line and column of an offset in the text as written. */
  atOriginal(offset: number): { line: number; column: number };
  /** Position of the value at `path`, or of the closest ancestor that exists. */
  positionOf(path: Path): { line: number; column: number };
  /** Position of the key `key` inside the mapping at `path`. */
  keyPositionOf(path: Path, key: string): { line: number; column: number };
}

/**
 * Parses `text`; positions are reported in `originalText` terms through `originalOffset` (the
 * text may have had environment variables substituted into it).
 */
export function parseYamlSource(
  text: string,
  originalText = text,
  originalOffset: (offset: number) => number = (o) => o,
): YamlSource {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, strict: true });
  lineCounter.addNewLine(0);
  for (let i = originalText.indexOf("\n"); i !== -1; i = originalText.indexOf("\n", i + 1))
    lineCounter.addNewLine(i + 1);
  const atOriginal = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const at = (offset: number) => atOriginal(originalOffset(offset));

  function nodeAt(path: Path): Node | undefined {
    let node: unknown = document.contents;
    let last: Node | undefined = isNode(node) ? node : undefined;
    for (const part of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === part);
        node = pair?.value ?? undefined;
      } else if (isSeq(node) && typeof part === "number") {
        node = node.items[part];
      } else {
        node = undefined;
      }
      if (!isNode(node)) return last;
      last = node;
    }
    return last;
  }

  return {
    document,
    at,
    atOriginal,
    positionOf(path) {
      const node = nodeAt(path);
      return at(node?.range?.[0] ?? 0);
    },
    keyPositionOf(path, key) {
      const node = nodeAt(path);
      if (isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && item.key.value === key);
        if (pair && isScalar(pair.key) && pair.key.range) return at(pair.key.range[0]);
      }
      return at(node?.range?.[0] ?? 0);
    },
  };
}

function isNode(value: unknown): value is Node {
  return isMap(value) || isSeq(value) || isScalar(value);
}
