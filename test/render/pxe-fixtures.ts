import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { validateManifestText } from "../../src/manifest/validate.js";
import { planCluster } from "../../src/plan/plan.js";
import type { Plan } from "../../src/plan/types.js";
import { renderPlanJson } from "../../src/render/host-files.js";
import type { IgnitionTemplate } from "../../src/render/ignition/template.js";
import { renderPxeFiles } from "../../src/render/pxe/pxe-files.js";
import type { PxeInputs } from "../../src/render/pxe/variables.js";
import { example } from "../helpers/cli.js";

/** The PXE example's plan (edited), fixed inputs, and everything rendered from them. */
export const INPUTS: PxeInputs = {
  token: "0123456789abcdef".repeat(4),
  sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperatorKeyOperatorKeyOperatorKeyOper op@laptop",
  siteCa: "-----BEGIN CERTIFICATE-----\nMIIBsiteca\n-----END CERTIFICATE-----\n",
  planSha256: "ab".repeat(32),
  executableSha256: "cd".repeat(32),
  hostKeys: Object.fromEntries(
    ["k8s-server-01", "k8s-server-02", "k8s-server-03", "k8s-agent-01", "k8s-agent-02"].map((host) => [
      host,
      {
        private: `-----BEGIN OPENSSH PRIVATE KEY-----\nkey-of-${host}\n-----END OPENSSH PRIVATE KEY-----\n`,
        public: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${host.replaceAll("-", "")}`,
      },
    ]),
  ),
};

export async function pxePlan(edit: (text: string) => string = (t) => t): Promise<Plan> {
  const result = validateManifestText(edit(await readFile(example("pxe-rke2.yaml"), "utf8")), "pxe-rke2.yaml", {});
  assert.ok(result.manifest, JSON.stringify(result.diagnostics));
  return planCluster(result.manifest);
}

export const CUSTOM_OS = (text: string) =>
  text.replace(
    /os:\n {8}name: flatcar\n {8}channel: stable\n {8}version: 3975.2.2\n/,
    "os: { kernel: debian/vmlinuz, initrd: [debian/initrd.img], rootImage: debian/live.squashfs, args: [console=ttyS0] }\n",
  );

export const renderAll = (plan: Plan, overrides = new Map<string, IgnitionTemplate>()) =>
  renderPxeFiles(plan, renderPlanJson(plan), INPUTS, overrides);

/** Every PXE host gets /dev/vda as its data disk, but k8s-agent-02 its own by-id path. */
export const WITH_DATA_DISKS = (text: string) =>
  text
    .replace("      httpPort: 8080\n", "      httpPort: 8080\n      dataDisk: /dev/vda\n")
    .replace(
      'mac: "52:54:00:77:00:22",',
      'mac: "52:54:00:77:00:22", dataDisk: /dev/disk/by-id/nvme-eui.0025388b91c0d1a2,',
    );
