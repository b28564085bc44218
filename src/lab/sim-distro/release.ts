import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { runCommand } from "../exec.js";
import { renderK3sInstallScript } from "./install-k3s.js";
import { renderRke2InstallScript } from "./install-rke2.js";
import type { SimDistro } from "./node-config.js";
import { zstdStoredFrame } from "./zstd-frame.js";

export interface ReleaseRequest {
  distro: SimDistro;
  version: string;
  arch: "amd64" | "arm64";
  /** Base URL the lab's mirror serves this distro at, e.g. http://10.78.0.1:8079/rke2 (baked into install.sh). */
  mirrorBase: string;
}

/**
 * SIMULATION: writes a release of the simulated distro laid out as the real release site is
 * (`<root>/<distro>/<version>/<file>` with the real file names and sha256sum-<arch>.txt, and
 * `<root>/<distro>/install.sh`), so artifacts.source can point at the lab's mirror.
 */
export async function writeSimRelease(root: string, request: ReleaseRequest): Promise<string[]> {
  const versionDir = join(root, request.distro, request.version);
  await rm(versionDir, { recursive: true, force: true });
  await mkdir(versionDir, { recursive: true });
  const files = request.distro === "rke2" ? await rke2Files(versionDir, request) : await k3sFiles(versionDir, request);
  const sums = await Promise.all(
    files.map(
      async (name) =>
        `${createHash("sha256")
          .update(await readFile(join(versionDir, name)))
          .digest("hex")}  ${name}`,
    ),
  );
  await writeFile(join(versionDir, `sha256sum-${request.arch}.txt`), `${sums.join("\n")}\n`);
  const install =
    request.distro === "rke2"
      ? renderRke2InstallScript({ version: request.version, mirrorBase: request.mirrorBase })
      : renderK3sInstallScript({ version: request.version, mirrorBase: request.mirrorBase });
  await writeFile(join(root, request.distro, "install.sh"), install, { mode: 0o755 });
  return [`sha256sum-${request.arch}.txt`, ...files, "install.sh"];
}

function wrapper(distro: SimDistro, version: string): string {
  return `#!/bin/sh
# SIMULATION: airstrap lab's stand-in for ${distro} ${version}. This is not ${distro === "rke2" ? "RKE2" : "K3s"}: it runs
# the simulated distro of airstrap's lab build (the hidden role "airstrap lab-distro"; the shipped build lacks it).
AIRSTRAP="\${AIRSTRAP_SIMULATION_BINARY:-/usr/local/bin/airstrap}"
if [ ! -x "$AIRSTRAP" ]; then
  echo "simulated ${distro}: $AIRSTRAP is missing; install airstrap's single-file executable there first" >&2
  exit 1
fi
# airstrap's own --version would answer for airstrap; the simulation answers as ${distro} does.
case "\${1:-}" in --version|-v) set -- version ;; esac
AIRSTRAP_SIMULATION_VERSION='${version}' exec "$AIRSTRAP" lab-distro ${distro} "$@"
`;
}

function rke2Unit(role: "server" | "agent"): string {
  return `# SIMULATION: airstrap lab's stand-in for the rke2-${role} unit; runs airstrap's simulated rke2.
[Unit]
Description=Rancher Kubernetes Engine v2 (${role}) (SIMULATED by airstrap lab)
Documentation=https://github.com/rancher/rke2#readme
Wants=network-online.target
After=network-online.target
Conflicts=rke2-${role === "server" ? "agent" : "server"}.service

[Install]
WantedBy=multi-user.target

[Service]
Type=exec
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/etc/sysconfig/%N
EnvironmentFile=-/usr/local/lib/systemd/system/%N.env
KillMode=process
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStart=/usr/local/bin/rke2 ${role}
`;
}

async function rke2Files(versionDir: string, request: ReleaseRequest): Promise<string[]> {
  const staging = await mkdtemp(join(tmpdir(), "airstrap-sim-rke2-"));
  try {
    const put = async (path: string, content: string, mode: number) => {
      await mkdir(dirname(join(staging, path)), { recursive: true });
      await writeFile(join(staging, path), content);
      await chmod(join(staging, path), mode);
    };
    await put("bin/rke2", wrapper("rke2", request.version), 0o755);
    await put(
      "bin/rke2-killall.sh",
      "#!/bin/sh\n# SIMULATION: stops the simulated rke2.\nsystemctl stop rke2-server.service rke2-agent.service 2>/dev/null || true\n",
      0o755,
    );
    await put(
      "bin/rke2-uninstall.sh",
      "#!/bin/sh\n# SIMULATION: removes the simulated rke2.\nsystemctl disable --now rke2-server.service rke2-agent.service 2>/dev/null || true\nrm -rf /etc/rancher/rke2 /var/lib/rancher/rke2 /usr/local/bin/rke2 /usr/local/bin/rke2-killall.sh /usr/local/lib/systemd/system/rke2-*.service\nsystemctl daemon-reload 2>/dev/null || true\n",
      0o755,
    );
    await put("lib/systemd/system/rke2-server.service", rke2Unit("server"), 0o644);
    await put("lib/systemd/system/rke2-agent.service", rke2Unit("agent"), 0o644);
    await put("lib/systemd/system/rke2-server.env", "HOME=/root\n", 0o644);
    await put("lib/systemd/system/rke2-agent.env", "HOME=/root\n", 0o644);
    await put(
      "share/rke2/SIMULATION.txt",
      `A simulated rke2 ${request.version} for the airstrap lab. Not RKE2.\n`,
      0o644,
    );
    const tarball = `rke2.linux-${request.arch}.tar.gz`;
    await runCommand([
      "tar",
      "-czf",
      join(versionDir, tarball),
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "-C",
      staging,
      "bin",
      "lib",
      "share",
    ]);
    const images = `rke2-images.linux-${request.arch}.tar.zst`;
    await writeFile(join(versionDir, images), await emptyImageArchive(staging));
    return [tarball, images];
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function k3sFiles(versionDir: string, request: ReleaseRequest): Promise<string[]> {
  const binary = request.arch === "amd64" ? "k3s" : `k3s-${request.arch}`;
  await writeFile(join(versionDir, binary), wrapper("k3s", request.version), { mode: 0o755 });
  const staging = await mkdtemp(join(tmpdir(), "airstrap-sim-k3s-"));
  try {
    const images = `k3s-airgap-images-${request.arch}.tar.zst`;
    await writeFile(join(versionDir, images), await emptyImageArchive(staging));
    return [binary, images];
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** A docker-save archive with no images (manifest.json first, as the real ones), zstd-framed. */
async function emptyImageArchive(staging: string): Promise<Buffer> {
  const dir = join(staging, "images");
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "manifest.json"), "[]\n");
  await writeFile(join(dir, "repositories"), "{}\n");
  const tar = join(staging, "images.tar");
  await runCommand([
    "tar",
    "-cf",
    tar,
    "--owner=0",
    "--group=0",
    "--numeric-owner",
    "-C",
    dir,
    "manifest.json",
    "repositories",
  ]);
  return zstdStoredFrame(await readFile(tar));
}
