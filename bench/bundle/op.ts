// One timed bundle operation in its own process, so its peak RSS is its own. Prints one JSON line.
import { readArtifactIndex } from "../../src/artifacts/artifact-index.js";
import { createBundle } from "../../src/artifacts/bundle/create.js";
import { loadBundle } from "../../src/artifacts/bundle/load.js";
import { loadOrCreateSigningKey } from "../../src/artifacts/bundle/signing.js";
import { trustKey } from "../../src/artifacts/bundle/trust.js";
import { verifyBundle } from "../../src/artifacts/bundle/verify.js";
import { silentEvents } from "../../src/events.js";
import { openBlobStore } from "../../src/store/blob-store.js";

const [op, storeDir, bundle, stateDir] = process.argv.slice(2);
if (!op || !storeDir || !bundle || !stateDir)
  throw new Error("usage: op.ts create|verify|load|baseline STORE BUNDLE STATE");
const key = await loadOrCreateSigningKey(stateDir);
const store = await openBlobStore(storeDir);
const started = process.hrtime.bigint();
let bytes = 0;
if (op === "create") {
  const index = await readArtifactIndex(storeDir);
  const created = await createBundle({
    store,
    output: bundle,
    content: index,
    manifest: { file: "cluster.yaml", text: "bench", cluster: "bench" },
    signingKey: key,
    events: silentEvents,
  });
  bytes = created.parts.reduce((sum, p) => sum + p.size, 0);
} else if (op === "verify") {
  bytes = (await verifyBundle([bundle], trustKey(key.publicKey), silentEvents)).bytes;
} else if (op === "load") {
  bytes = (await loadBundle([bundle], store, trustKey(key.publicKey), silentEvents)).bytes;
} else if (op !== "baseline") {
  throw new Error(`unknown op ${op}`);
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(`${JSON.stringify({ op, bytes, seconds, maxRssKiB: process.resourceUsage().maxRSS })}\n`);
