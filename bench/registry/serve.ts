/**
 * The registry alone, as the benchmark runs it: bundled by esbuild like the shipped executable
 * (no tsx in the process, so its memory is the registry's own).
 * Usage: serve.cjs ROOT ADDR:PORT [HTPASSWD]
 */
import { createEvents } from "../../src/events.js";
import { DEFAULT_MAX_MANIFEST_BYTES } from "../../src/services/registry/config.js";
import { startRegistry } from "../../src/services/registry/service.js";

const [root, listen, htpasswdFile] = process.argv.slice(2);
if (!root || !listen) {
  process.stderr.write("usage: serve.cjs ROOT ADDR:PORT [HTPASSWD]\n");
  process.exit(2);
}
startRegistry(
  {
    root,
    listen: [listen],
    auth: { anonymousPullNetworks: [], ...(htpasswdFile ? { htpasswdFile } : {}) },
    upstreams: [],
    peers: [],
    maxManifestBytes: DEFAULT_MAX_MANIFEST_BYTES,
  },
  createEvents(),
).then(
  (registry) => {
    process.stderr.write(`registry listening on ${registry.addresses.join(", ")} \n`);
    process.on("SIGTERM", () => void registry.close().then(() => process.exit(0)));
  },
  (error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  },
);
