#!/usr/bin/env node
// Runs every test file under test/ (or those given) with Node's built-in runner and tsx.
//
// Skip policy: a skipped test is not a pass. When CI=true the run fails if any test skipped for a
// reason the project could fix (by installing a package, say). Only a reason that starts with
// "not on this machine:" is allowed there: the machine lacks what no package gives (root, /dev/kvm,
// a kernel feature). test/helpers/skip.ts writes such reasons.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const ALLOWED_SKIP_PREFIX = "not on this machine:";

function findTests(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return findTests(path);
    return name.endsWith(".test.ts") ? [path] : [];
  });
}

function readSkips(file) {
  try {
    return readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line));
  } catch {
    return [];
  }
}

const describeSkip = (skip) =>
  `  ${relative(process.cwd(), skip.file ?? "?")}: ${skip.name} — ${skip.reason || "(no reason given)"}`;

const args = process.argv.slice(2);
const files = (args.length > 0 ? args : ["test"])
  .flatMap((p) => (statSync(p).isDirectory() ? findTests(p) : [p]))
  .sort();
const concurrency = process.env.TEST_CONCURRENCY ?? "2";
const scratch = mkdtempSync(join(tmpdir(), "airstrap-run-tests-"));
const skipsFile = join(scratch, "skips.jsonl");
const reporter = new URL("./skip-reporter.mjs", import.meta.url).href;
const result = spawnSync(
  process.execPath,
  [
    "--import",
    "tsx",
    "--test",
    `--test-concurrency=${concurrency}`,
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    `--test-reporter=${reporter}`,
    `--test-reporter-destination=${skipsFile}`,
    ...files,
  ],
  { stdio: "inherit" },
);
const skips = readSkips(skipsFile);
rmSync(scratch, { recursive: true, force: true });

const fixable = skips.filter((skip) => !skip.reason.startsWith(ALLOWED_SKIP_PREFIX));
const allowed = skips.filter((skip) => skip.reason.startsWith(ALLOWED_SKIP_PREFIX));
const inCi = process.env.CI === "true" || process.env.CI === "1";
if (allowed.length > 0) console.log(`\nskipped, allowed (${allowed.length}):\n${allowed.map(describeSkip).join("\n")}`);
if (fixable.length > 0) {
  const heading = inCi
    ? `CI=true: ${fixable.length} test(s) skipped for a reason the project can fix — this fails the run`
    : `skipped for a reason the project can fix (${fixable.length}; with CI=true this fails the run)`;
  console.log(`\n${heading}:\n${fixable.map(describeSkip).join("\n")}`);
  if (inCi) {
    console.log(
      `install what they need (scripts/debian-packages.txt), or, when no package can give it, start the reason with "${ALLOWED_SKIP_PREFIX}"`,
    );
  }
}
const status = result.status ?? 1;
process.exit(status === 0 && inCi && fixable.length > 0 ? 1 : status);
