import { shellQuote } from "../../hosts/shell.js";
import { bufferSource } from "../../hosts/upload-source.js";
import { AIRSTRAP_PATHS } from "../../plan/distro-paths.js";
import type { PlannedHost } from "../../plan/types.js";
import type { InstallContext, SeedImages } from "../context.js";
import { ensureFiles } from "../ensure-file.js";
import { hostOf, mustRun } from "../host-of.js";
import type { Phase } from "../phase.js";

/**
 * The image registry replicas on the hosts the manifest names (seed 002): their certificate from
 * the site CA, the push token, the unit; started before the distro so containerd finds them; then
 * seeded from the registry install serves on the bootstrap machine, so every replica holds every
 * image and release of the store. Replicas then keep each other complete (peer replication).
 */
export const registryReplicas: Phase<InstallContext> = {
  title: "Start and seed registry replicas",
  hosts: (ctx) => (ctx.registry ? ctx.plan.hosts.filter((h) => h.runsRegistry) : []),
  order: "parallel",
  onFailure: "host-only",
  async run(host, ctx) {
    const registry = ctx.registry;
    const material = registry?.material.hosts.get(host.name);
    if (!registry || !material) return;
    const unit = (ctx.files.get(host.name) ?? []).filter((f) => f.kind === "registry-unit");
    const wanted = [
      { path: AIRSTRAP_PATHS.siteCa, content: registry.material.siteCa, mode: 0o644 },
      { path: AIRSTRAP_PATHS.registryCert, content: material.cert, mode: 0o644 },
      { path: AIRSTRAP_PATHS.registryKey, content: material.key, mode: 0o600 },
      { path: AIRSTRAP_PATHS.registryPushToken, content: registry.material.pushToken, mode: 0o600 },
      ...unit.map((f) => ({ path: f.path, content: f.content, mode: f.mode })),
    ];
    const wrote = await ensureFiles(
      ctx,
      host,
      wanted.map((f) => ({ path: f.path, source: bufferSource(f.content), mode: f.mode })),
    );
    const changed = wrote.includes(true);
    const active = ctx.facts.get(host.name)?.registryServiceActive === true;
    if (!active || changed) {
      await ctx.change(host, active ? "restart airstrap-registry" : "enable and start airstrap-registry", () =>
        mustRun(
          ctx,
          host,
          "starting airstrap-registry",
          `systemctl daemon-reload && systemctl ${active ? "restart" : "enable --no-reload --now"} airstrap-registry`,
        ),
      );
    }
    if (registry.seed) await seed(ctx, host, registry.seed);
  },
};

/** Copies from the bootstrap registry what the replica lacks; a replica that has every tag is left alone. */
async function seed(ctx: InstallContext, host: PlannedHost, from: { url: string; images: SeedImages }) {
  const root = AIRSTRAP_PATHS.registryRoot;
  // Guarded by the -d test: opening a store creates its folders, and a dry run must change nothing.
  const listed = await hostOf(ctx, host).exec(
    `[ -d ${shellQuote(root)} ] && ${AIRSTRAP_PATHS.binary} registry list --root ${shellQuote(root)}`,
    { sudo: host.ssh.sudo },
  );
  const missing = missingTags(from.images, listed.code === 0 ? listed.stdout : "");
  if (missing.length === 0) {
    ctx.events.emit({
      level: "debug",
      kind: "install.unchanged",
      host: host.name,
      message: "the registry replica holds every image of the store",
    });
    return;
  }
  await ctx.change(host, `seed the registry replica from ${from.url} (${missing.length} tag(s) missing)`, () =>
    mustRun(
      ctx,
      host,
      "seeding the registry replica",
      `${AIRSTRAP_PATHS.binary} registry replicate --root ${shellQuote(root)} --from ${shellQuote(from.url)} --trust-ca ${AIRSTRAP_PATHS.siteCa}`,
    ),
  );
}

/** `repo:tag` of every expected tag absent from `airstrap registry list` output (`repo<TAB>tag tag…` lines). */
export function missingTags(expected: SeedImages, listing: string): string[] {
  const held = new Set<string>();
  for (const line of listing.split("\n")) {
    const [repo, tags = ""] = line.split("\t");
    if (repo) for (const tag of tags.split(" ").filter(Boolean)) held.add(`${repo}:${tag}`);
  }
  return expected.flatMap(({ repo, tags }) => tags.map((tag) => `${repo}:${tag}`)).filter((ref) => !held.has(ref));
}
