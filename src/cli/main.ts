// `airstrap plan | head` closes the pipe early; that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode === undefined ? 0 : Number(process.exitCode));
    throw error;
  });
}

const argv = process.argv.slice(2);
// `registry serve` runs on every server node for the cluster's lifetime: it loads the registry's
// verbs only, not every module of the CLI (ssh2 alone, with its WebAssembly, is ~14 MB resident;
// the whole CLI idled at ~86 MB, the registry's verbs at ~56 MB). Dynamic imports are what keep
// the bundle from running the other modules' code at start.
const verbs =
  argv[0] === "registry" && argv[1] === "serve"
    ? import("./registry.js").then((verb) => [verb.registerRegistry])
    : import("./commands.js").then((all) => all.commands);

// No top-level await: this file is also bundled as CommonJS for the single-file executable.
void Promise.all([import("./program.js"), verbs])
  .then(([program, registers]) => program.runCli(argv, registers))
  .then((code) => {
    process.exitCode = code;
  });
