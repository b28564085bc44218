import { bufferSource } from "../../hosts/upload-source.js";
import { AIRSTRAP_PATHS } from "../../plan/distro-paths.js";
import type { InstallContext } from "../context.js";
import type { Phase } from "../phase.js";
import { hostOf, mustRun } from "./host-of.js";

/**
 * The node-local DNS server and load balancer must run before the distro starts: the distro's
 * `server:` URL names the cluster FQDN, which only they resolve and forward. Installs the
 * single-file executable, the plan and the unit, starts the unit, and points the host's resolver
 * at it.
 */
export const nodeServices: Phase<InstallContext> = {
  title: "Start node DNS and load balancer",
  hosts: (ctx) => ctx.plan.hosts,
  order: "parallel",
  onFailure: "host-only",
  async run(host, ctx) {
    const transport = hostOf(ctx, host);
    const sudo = host.ssh.sudo;
    const files = ctx.files.get(host.name) ?? [];
    const uploads = [
      { path: AIRSTRAP_PATHS.binary, source: ctx.nodeBinary, mode: 0o755, what: "the airstrap executable" },
      ...files
        .filter((f) => f.kind === "node-plan" || f.kind === "node-unit")
        .map((f) => ({ path: f.path, source: bufferSource(f.content), mode: f.mode, what: f.path })),
    ];
    let changed = false;
    for (const upload of uploads) {
      const result = await ctx.change(host, `install ${upload.what} at ${upload.path}`, () =>
        transport.upload(upload.source, upload.path, { mode: upload.mode, sudo }),
      );
      if (result && !result.skipped) changed = true;
    }
    const facts = ctx.facts.get(host.name);
    const verb = !facts?.nodeServiceActive ? "enable --now" : changed ? "restart" : undefined;
    if (verb) {
      await ctx.change(host, `systemctl ${verb} airstrap-node`, () =>
        mustRun(
          ctx,
          host,
          "starting airstrap-node",
          `systemctl daemon-reload && systemctl ${verb === "restart" ? "enable airstrap-node && systemctl restart" : "enable --now"} airstrap-node`,
        ),
      );
    }
    await ctx.change(host, `resolve ${ctx.plan.domain} through ${host.address}`, () =>
      mustRun(ctx, host, "pointing the resolver at airstrap", resolverCommand(host.address, ctx.plan.domain)),
    );
  },
};

/**
 * With systemd-resolved, a drop-in sends the site's domain to the node's own DNS server; otherwise
 * /etc/resolv.conf is replaced (the original kept once as resolv.conf.airstrap-orig).
 */
export function resolverCommand(address: string, domain: string): string {
  const dropIn = `[Resolve]\\nDNS=${address}\\nDomains=~${domain}\\n`;
  return [
    'if [ "$(readlink -f /etc/resolv.conf)" = /run/systemd/resolve/stub-resolv.conf ] && systemctl is-active --quiet systemd-resolved; then',
    `  mkdir -p /etc/systemd/resolved.conf.d && printf '${dropIn}' > /etc/systemd/resolved.conf.d/airstrap.conf && systemctl restart systemd-resolved;`,
    "else",
    "  [ -e /etc/resolv.conf.airstrap-orig ] || cp -P /etc/resolv.conf /etc/resolv.conf.airstrap-orig 2>/dev/null || true;",
    `  printf 'nameserver ${address}\\nsearch ${domain}\\n' > /etc/resolv.conf.airstrap && mv -f /etc/resolv.conf.airstrap /etc/resolv.conf;`,
    "fi",
  ].join("\n");
}
