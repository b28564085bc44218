// A reporter for Node's test runner that writes one JSON line per skipped test (file, name, reason);
// scripts/run-tests.mjs reads them to apply the skip policy. The spec reporter still prints the run.
export default async function* skipReporter(source) {
  for await (const event of source) {
    if (event.type !== "test:pass" && event.type !== "test:fail") continue;
    const { skip, name, file } = event.data;
    if (skip === undefined || skip === false) continue;
    yield `${JSON.stringify({ file, name, reason: typeof skip === "string" ? skip : "" })}\n`;
  }
}
