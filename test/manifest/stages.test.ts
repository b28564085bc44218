import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { stringify } from "yaml";
import { checkManifestFile } from "../../src/manifest/load.js";
import { validateManifestText } from "../../src/manifest/validate.js";
import { example, runAirstrap, tempDir } from "../helpers/cli.js";
import { siteManifest } from "../helpers/site-manifest.js";

const site = (stages: unknown) => stringify(siteManifest({ stages }, "edge"));

test("the staged example is valid and its stages keep their order", async () => {
  const result = await checkManifestFile(example("gitops/site.yaml"), {});
  assert.deepEqual(result.diagnostics, []);
  assert.deepEqual(
    result.manifest?.stages.map((s) => [s.name, s.dependsOn ?? []]),
    [
      ["bootstrap", []],
      ["cluster-base-apps", ["bootstrap"]],
      ["cluster-apps", ["cluster-base-apps"]],
    ],
  );
});

test("every break of the stage rule is reported at its dependsOn entry; folders are checked on disk", async () => {
  const result = await checkManifestFile(example("invalid/stages.yaml"), {});
  const seen = result.diagnostics.map(
    (d) => `${d.severity} ${d.file.replace(/^.*examples\//, "")}:${d.line}:${d.column} ${d.message}`,
  );
  assert.deepEqual(seen, [
    `error invalid/stages.yaml:13:27 stage folder stages/ok/self and stage "base"'s folder stages/ok lie one inside the other`,
    'error invalid/stages.yaml:13:55 stage "self" depends on itself',
    'error invalid/stages.yaml:14:60 stage "early" depends on "late", which is listed after it (spec.stages[3])',
    'error invalid/stages.yaml:16:56 stage "ring-a" depends on "ring-b", which depends back on it: a cycle ring-a → ring-b → ring-a',
    "error invalid/stages.yaml:18:27 stage folder ../outside is not a folder inside the site repository",
    'error invalid/stages.yaml:18:51 stage "typo" depends on "bsae", which is not a stage; did you mean "base"?',
    'error invalid/stages.yaml:19:15 duplicate stage name "base": spec.stages[0] has it too',
    `error invalid/stages.yaml:19:27 stage folder stages/ok is also stage "base"'s folder`,
    'error invalid/stages.yaml:19:50 stage "base" depends on itself',
    'warning invalid/stages.yaml:19:56 stage "base" lists "base" twice in dependsOn',
    `error invalid/stages.yaml:13:27 stage folder stages/ok/self does not exist (${example("invalid/stages/ok/self")})`,
    `error invalid/stages.yaml:14:28 stage folder stages/early does not exist (${example("invalid/stages/early")})`,
    'error invalid/stages/broken/broken.yaml:7:3 YAML: Map keys must be unique (in stage "late")',
    `error invalid/stages.yaml:16:29 stage folder stages/ring-a does not exist (${example("invalid/stages/ring-a")})`,
    `error invalid/stages.yaml:17:29 stage folder stages/ring-b does not exist (${example("invalid/stages/ring-b")})`,
  ]);
});

test("a YAML error deep in a stage folder names that file and line; an empty folder warns; a file is no folder", async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, "stages/base/nested"), { recursive: true });
  await mkdir(join(dir, "stages/empty"), { recursive: true });
  await mkdir(join(dir, "stages/base/.git"), { recursive: true });
  await writeFile(join(dir, "stages/base/a.yaml"), "kind: Namespace\n");
  await writeFile(join(dir, "stages/base/nested/b.yml"), "kind: Namespace\nmetadata: {}\nkind: Secret\n");
  await writeFile(join(dir, "stages/base/.git/ignored.yaml"), "{{{");
  await writeFile(join(dir, "stages/base/notes.txt"), "{{{");
  await writeFile(join(dir, "stages/file"), "kind: Namespace\n");
  const file = join(dir, "cluster.yaml");
  await writeFile(
    file,
    site([
      { name: "base", path: "stages/base" },
      { name: "empty", path: "stages/empty/", dependsOn: ["base"] },
      { name: "file", path: "stages/file" },
    ]),
  );
  const result = await checkManifestFile(file, {});
  assert.equal(result.manifest, undefined);
  const seen = result.diagnostics.map((d) => `${d.severity} ${d.file.slice(dir.length + 1)}:${d.line} ${d.message}`);
  assert.equal(seen.length, 3, seen.join("\n"));
  assert.match(seen[0]!, /^error stages\/base\/nested\/b\.yml:3 YAML: .* \(in stage "base"\)$/);
  assert.match(seen[1]!, /^warning cluster\.yaml:\d+ stage folder stages\/empty\/ holds no YAML files/);
  assert.match(seen[2]!, /^error cluster\.yaml:\d+ stage path stages\/file is a file, not a folder/);
});

test("plan shows the stages in order with their waves", async () => {
  const result = await runAirstrap(["plan", "-f", example("gitops/site.yaml")]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /GitOps stages/);
  assert.match(result.stdout, /1\s+bootstrap\s+stages\/bootstrap\s+1\s+-/);
  assert.match(result.stdout, /2\s+cluster-base-apps\s+stages\/cluster-base-apps\s+2\s+bootstrap/);
  assert.match(result.stdout, /3\s+cluster-apps\s+stages\/cluster-apps\s+3\s+cluster-base-apps/);
});

test("validate prints a stage file's error under that file's name, without the manifest's lines", async () => {
  const result = await runAirstrap(["validate", "-f", example("invalid/stages.yaml")]);
  assert.equal(result.code, 1);
  const block = result.stdout.split("\n").findIndex((l) => /broken\.yaml:7:3: error: YAML/.test(l));
  assert.ok(block >= 0, result.stdout);
  assert.match(result.stdout.split("\n")[block + 1]!, /^\s+hint:/, "no excerpt from the manifest under another file");
});

const stageName = fc.constantFrom("a", "b", "c", "d", "bootstrap", "base", "", "A_B", "x".repeat(70));
const stageList = fc.array(
  fc.oneof(
    fc.record(
      {
        name: fc.oneof(stageName, fc.integer(), fc.constant(null)),
        path: fc.oneof(fc.constantFrom("stages/a", "stages/a/b", "/abs", "../up", ".", "", "stages\\win"), fc.string()),
        dependsOn: fc.oneof(
          fc.array(fc.oneof(stageName, fc.integer(), fc.constant(null)), { maxLength: 5 }),
          fc.string(),
        ),
        extra: fc.string(),
      },
      { requiredKeys: [] },
    ),
    fc.string(),
    fc.constant(null),
  ),
  { maxLength: 8 },
);

test("fuzz: any stage list ends in a manifest or positioned errors, never a crash", () => {
  fc.assert(
    fc.property(fc.oneof(stageList, fc.string(), fc.integer()), (stages) => {
      const text = site(stages);
      const result = validateManifestText(text, "fuzz.yaml", {});
      const lines = text.split("\n").length;
      for (const d of result.diagnostics) {
        assert.ok(d.line >= 1 && d.line <= lines && d.column >= 1, `${d.line}:${d.column} ${d.message}`);
        assert.ok(d.message.length > 0);
      }
      assert.ok(result.manifest !== undefined || result.diagnostics.some((d) => d.severity === "error"));
    }),
    { numRuns: 2000, seed: 20261207 },
  );
});
