import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";

// The house rules of docs/development.md, checked on the source itself so a new file cannot
// quietly bring a second shape back.

const SRC = join(import.meta.dirname, "..", "..", "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") ? [path] : [];
  });
}

const files = sourceFiles(SRC).map((path) => ({ path: relative(SRC, path), text: readFileSync(path, "utf8") }));

test("every service folder has the one shape: service.ts exporting start<Name>, and config.ts", () => {
  const services = readdirSync(join(SRC, "services")).filter((name) =>
    statSync(join(SRC, "services", name)).isDirectory(),
  );
  assert.ok(services.length >= 10, `found only ${services.join(", ")}`);
  for (const name of services) {
    const service = files.find((file) => file.path === join("services", name, "service.ts"));
    assert.ok(service, `src/services/${name}/ has no service.ts`);
    assert.match(
      service.text,
      /export async function start[A-Z]\w*\(/,
      `src/services/${name}/service.ts exports no start<Name>`,
    );
    assert.ok(
      files.some((file) => file.path === join("services", name, "config.ts")),
      `src/services/${name}/ has no config.ts`,
    );
  }
});

test("command-line parsing lives only in src/cli", () => {
  const parsing = files.filter((file) => !file.path.startsWith("cli/") && /from "commander"/.test(file.text));
  assert.deepEqual(
    parsing.map((file) => file.path),
    [],
  );
});

test("product code does not depend on the lab (only src/lab and the lab's own CLI verbs may)", () => {
  const labImport = /from "(\.\.\/)+lab\//;
  const offenders = files.filter(
    (file) => !file.path.startsWith("lab/") && !file.path.startsWith("cli/") && labImport.test(file.text),
  );
  assert.deepEqual(
    offenders.map((file) => file.path),
    [],
  );
});

test("HTTP requests go through src/net/http-client.ts (the health probe keeps its own, by design)", () => {
  const allowed = new Set(["net/http-client.ts", "services/lb/probe.ts"]);
  const clientCall = /(?<![.\w])fetch\(|\bhttps?\.(request|get)\(|import \{[^}]*\brequest\b[^}]*\} from "node:https?"/;
  const offenders = files.filter((file) => !allowed.has(file.path) && clientCall.test(file.text));
  assert.deepEqual(
    offenders.map((file) => file.path),
    [],
  );
});
