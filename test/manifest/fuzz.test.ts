import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import fc from "fast-check";
import { parse, stringify } from "yaml";
import { validateManifestText } from "../../src/manifest/validate.js";
import { example } from "../helpers/cli.js";

const seeds = ["rke2-ha.yaml", "k3s-single.yaml"].map((name) => readFileSync(example(name), "utf8"));

/** Every run ends in a manifest or in errors that point inside the text; nothing throws. */
function assertWellBehaved(text: string): void {
  const result = validateManifestText(text, "fuzz.yaml", { HOME: "/root" });
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  assert.ok(result.manifest !== undefined || errors.length > 0, "neither a manifest nor an error");
  if (result.manifest) assert.equal(errors.length, 0);
  const lineCount = text.split("\n").length;
  for (const d of result.diagnostics) {
    assert.ok(
      Number.isInteger(d.line) && d.line >= 1 && d.line <= lineCount,
      `line ${d.line} outside 1..${lineCount}: ${d.message}`,
    );
    assert.ok(Number.isInteger(d.column) && d.column >= 1, `column ${d.column}: ${d.message}`);
    assert.ok(d.message.length > 0);
  }
}

const anyValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.integer()), { maxKeys: 3 }),
  fc.constantFrom(
    "10.77.0.11",
    "10.42.0.0/16",
    "server",
    "agent",
    "rke2",
    "v1.31.4+k3s1",
    "${HOME}",
    "${UNSET_X}",
    "$${",
  ),
);

type Json = unknown;
function pathsOf(value: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== "object") return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
}

function mutate(root: Json, path: Array<string | number>, kind: number, replacement: Json, newKey: string): Json {
  const copy = structuredClone(root);
  if (path.length === 0) return replacement;
  const parent = path
    .slice(0, -1)
    .reduce<Record<string | number, Json>>(
      (node, key) => node[key] as Record<string | number, Json>,
      copy as Record<string | number, Json>,
    );
  const key = path[path.length - 1]!;
  if (kind === 0) {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  } else if (kind === 1) parent[key] = replacement;
  else if (kind === 2 && !Array.isArray(parent)) {
    parent[newKey] = parent[key];
    delete parent[key];
  } else if (Array.isArray(parent)) parent.push(structuredClone(parent[Number(key)]));
  else parent[key] = [parent[key], parent[key]];
  return copy;
}

test("structural mutations of valid manifests: never throws, always positioned", () => {
  const roots = seeds.map((text) => parse(text) as Json);
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: roots.length - 1 }),
      fc.array(
        fc.tuple(fc.nat(), fc.integer({ min: 0, max: 3 }), anyValue, fc.string({ minLength: 1, maxLength: 10 })),
        { minLength: 1, maxLength: 4 },
      ),
      (seed, mutations) => {
        let doc = roots[seed];
        for (const [pick, kind, replacement, newKey] of mutations) {
          const paths = pathsOf(doc);
          doc = mutate(doc, paths[pick % paths.length]!, kind, replacement, newKey);
        }
        assertWellBehaved(stringify(doc) ?? "");
      },
    ),
    { numRuns: 3000, seed: 20261122 },
  );
});

test("byte-level mutations of valid manifest text: never throws, always positioned", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: seeds.length - 1 }),
      fc.array(
        fc.tuple(
          fc.nat(),
          fc.nat({ max: 12 }),
          fc.string({ maxLength: 6, unit: fc.constantFrom(..."{}[]:-,#&*!|>'\"%@` \t\n\\abc019$") }),
        ),
        { minLength: 1, maxLength: 5 },
      ),
      (seed, edits) => {
        let text = seeds[seed]!;
        for (const [at, removeCount, insert] of edits) {
          const position = at % (text.length + 1);
          text = text.slice(0, position) + insert + text.slice(position + removeCount);
        }
        assertWellBehaved(text);
      },
    ),
    { numRuns: 3000, seed: 20261123 },
  );
});
