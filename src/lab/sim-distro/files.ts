import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/** Writes atomically with the mode given (0600 for anything secret). */
export async function writeFileAtomic(path: string, content: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, content, { mode });
  await rename(temp, path);
}

export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

/** The kubeconfig the real distro writes for its admin, pointing at this server's own API port. */
export function renderKubeconfig(options: { distro: string; apiPort: number; caPem: string; bearer: string }): string {
  const ca = Buffer.from(options.caPem).toString("base64");
  return `# SIMULATION: written by airstrap's simulated ${options.distro} (lab only), where the real one writes its kubeconfig.
apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: ${ca}
    server: https://127.0.0.1:${options.apiPort}
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
preferences: {}
users:
- name: default
  user:
    token: ${options.bearer}
`;
}
