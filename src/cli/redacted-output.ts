import { redact, redactBytes, registerEnvironmentSecrets } from "../secrets.js";

let installed = false;

/**
 * Everything this process writes to stdout and stderr — views, summaries, errors, commander's own
 * messages — passes through the secret registry's redactor (src/secrets.ts). Installed once, when
 * a command starts.
 */
export function redactProcessOutput(env: NodeJS.ProcessEnv = process.env): void {
  registerEnvironmentSecrets(env);
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) =>
      write(
        typeof chunk === "string" ? redact(chunk) : Buffer.isBuffer(chunk) ? redactBytes(chunk) : chunk,
        ...rest,
      )) as typeof stream.write;
  }
}
