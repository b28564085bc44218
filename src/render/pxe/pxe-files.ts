import { OperatorError } from "../../errors.js";
import { closestMatch } from "../../manifest/did-you-mean.js";
import { PXE_ASSETS } from "../../plan/pxe.js";
import type { Plan, PlannedPxe, PlannedPxeHost } from "../../plan/types.js";
import { type IgnitionTemplate, renderIgnitionTemplate } from "../ignition/template.js";
import { DATA_DISK_MOUNT_UNIT_NAME } from "../units.js";
import { builtInTemplate, PXE_ROLES, TEMPLATE_SUFFIX, templateName } from "./builtin-templates.js";
import { renderInitrdReportArchive } from "./initrd-report.js";
import { renderGroup, renderProfile } from "./matchbox.js";
import { type PxeInputs, templateVariables } from "./variables.js";

/** A file of the generated folder, by its path inside it. */
export interface GeneratedFile {
  path: string;
  content: string;
  mode: number;
}

export const MATCHBOX_DIR = "matchbox";

/**
 * Pure: the Matchbox data folder for every PXE host — `profiles/<id>.json`, `groups/<id>.json`,
 * `ignition/<id>.ign` (0600: it holds the join token) — and `assets/airstrap/plan.json` and
 * `assets/airstrap/initrd-report.cpio`. A host's template is, in order: `<host>.ign.yaml` from
 * the overrides, `<role>.ign.yaml` from the overrides, the built-in one of its role.
 */
export function renderPxeFiles(
  plan: Plan,
  planJson: string,
  inputs: PxeInputs,
  overrides: ReadonlyMap<string, IgnitionTemplate> = new Map(),
): GeneratedFile[] {
  const pxe = plan.pxe;
  if (!pxe) return [];
  checkOverrideNames(pxe, overrides);
  const at = (path: string) => `${MATCHBOX_DIR}/${path}`;
  return [
    ...pxe.hosts.flatMap((host): GeneratedFile[] => [
      { path: at(`profiles/${host.profile}.json`), content: renderProfile(pxe, host), mode: 0o644 },
      { path: at(`groups/${host.name}.json`), content: renderGroup(plan, host), mode: 0o644 },
      {
        path: at(`ignition/${host.ignitionFile}`),
        content: renderIgnition(plan, pxe, host, inputs, overrides),
        mode: 0o600,
      },
    ]),
    { path: at(`assets/${PXE_ASSETS.plan}`), content: planJson, mode: 0o644 },
    { path: at(`assets/${PXE_ASSETS.initrdReport}`), content: renderInitrdReportArchive(), mode: 0o644 },
  ];
}

function renderIgnition(
  plan: Plan,
  pxe: PlannedPxe,
  host: PlannedPxeHost,
  inputs: PxeInputs,
  overrides: ReadonlyMap<string, IgnitionTemplate>,
): string {
  const template = overrides.get(`${host.name}${TEMPLATE_SUFFIX}`) ??
    overrides.get(templateName(host.role)) ?? {
      origin: `built-in:${templateName(host.role)}`,
      text: builtInTemplate(host.role, { dataDisk: host.dataDisk !== undefined }),
    };
  const config = renderIgnitionTemplate(template, templateVariables(plan, pxe, host, inputs), pxe.ignitionVersion);
  if (host.dataDisk !== undefined) checkDataDisk(config, host.name, host.dataDisk, template.origin);
  return config;
}

/** An override that leaves the manifest's data disk out would boot a node with no room under /var/lib. */
function checkDataDisk(config: string, name: string, device: string, origin: string): void {
  const parsed = JSON.parse(config) as {
    storage?: { filesystems?: Array<{ device?: string; path?: string }> };
    systemd?: { units?: Array<{ name?: string; enabled?: boolean }> };
  };
  const filesystem = parsed.storage?.filesystems?.some((f) => f.device === device);
  const mounted = parsed.systemd?.units?.some((u) => u.name === DATA_DISK_MOUNT_UNIT_NAME && u.enabled === true);
  if (filesystem && mounted) return;
  throw new OperatorError(
    `${origin}: host ${name} has the data disk ${device}, but the template ${filesystem ? `does not enable ${DATA_DISK_MOUNT_UNIT_NAME}` : "formats no filesystem on it"}`,
    {
      hint: "copy the filesystems entry and the var-lib.mount unit of the built-in template (airstrap generate --export-templates DIR --data-disk), or remove dataDisk",
    },
  );
}

/** A file in the templates folder that replaces nothing is a typo until shown otherwise. */
function checkOverrideNames(pxe: PlannedPxe, overrides: ReadonlyMap<string, IgnitionTemplate>): void {
  const names = [...PXE_ROLES.map(templateName), ...pxe.hosts.map((h) => `${h.name}${TEMPLATE_SUFFIX}`)];
  for (const [name, template] of overrides) {
    if (names.includes(name)) continue;
    const suggestion = closestMatch(name, names);
    throw new OperatorError(
      `${template.origin}: replaces no template${suggestion ? `; did you mean ${suggestion}?` : ""}`,
      { hint: `template names: ${names.join(", ")}` },
    );
  }
}
