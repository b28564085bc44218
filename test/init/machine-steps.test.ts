import assert from "node:assert/strict";
import { test } from "node:test";
import type { AirstrapEvent } from "../../src/events.js";
import { describeRow, MachineSteps } from "../../src/init/machine-steps.js";

/** The one row an event changed (these events change at most one). */
function applyOne(steps: MachineSteps, e: Parameters<MachineSteps["apply"]>[0]) {
  const rows = steps.apply(e);
  assert.ok(rows.length <= 1, `${e.kind} changed ${rows.length} rows`);
  return rows[0];
}

const SRV = {
  name: "srv-1",
  mac: "52:54:00:9e:15:31",
  address: "10.77.0.31",
  hostKeyFingerprint: `SHA256:${"A".repeat(43)}`,
};
const AGT = { name: "agt-1", mac: "52:54:00:9e:15:41", address: "10.77.0.41" };

let clock = 0;
const event = (kind: string, fields: Partial<AirstrapEvent> = {}): AirstrapEvent => ({
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, clock++)).toISOString(),
  level: "info",
  kind,
  message: kind,
  ...fields,
});
const dhcp = (mac: string, kind = "dhcp.ack", arch: number | null = 0) =>
  event(kind, {
    detail: { mac, address: mac === SRV.mac ? SRV.address : AGT.address, ...(arch === null ? {} : { arch }) },
  });
const report = (mac: string, body: Record<string, unknown>) =>
  event("boot.report", {
    detail: { mac, group: "g", status: "first-boot-done", ignition: "success", sshHostKeyFingerprints: [], ...body },
  });

/** A whole boot of srv-1, in the order the services see it, up to Ready. */
const SRV_BOOT = [
  dhcp(SRV.mac, "dhcp.offer"),
  dhcp(SRV.mac),
  event("boot.ipxe", { detail: { mac: SRV.mac } }),
  event("boot.asset", { detail: { path: "debian/vmlinuz", client: SRV.address } }),
  event("boot.asset", { detail: { path: "debian/initrd.img", client: `::ffff:${SRV.address}` } }),
  event("boot.ignition", { detail: { mac: SRV.mac } }),
  // The initramfs's and the booted OS's own DHCP: no architecture, not a new boot.
  dhcp(SRV.mac, "dhcp.ack", null),
  event("boot.asset", { detail: { path: "airstrap/plan.json", client: SRV.address } }),
  report(SRV.mac, { sshHostKeyFingerprints: [SRV.hostKeyFingerprint] }),
  event("init.ssh", { host: "srv-1" }),
  event("install.host.start", { host: "srv-1", phase: "Connect" }),
  event("install.host.start", { host: "srv-1", phase: "Start the primary server" }),
  event("kube.wait", { detail: { ready: ["srv-1"] } }),
];

test("a machine goes from waiting through each boot step to Ready, one change per step", () => {
  const steps = new MachineSteps([SRV, AGT]);
  assert.deepEqual(
    steps.machines().map((m) => [m.name, m.step]),
    [
      ["srv-1", "waiting"],
      ["agt-1", "waiting"],
    ],
  );
  // Each change as it was then (a row is the tracker's own object, which moves on).
  const seen = SRV_BOOT.map((e) => {
    const row = applyOne(steps, e);
    return row ? `${row.step}${row.note ? ` ${row.note}` : ""}` : "-";
  });
  assert.deepEqual(seen, [
    "dhcp",
    "-",
    "ipxe",
    "kernel debian/vmlinuz",
    "kernel debian/initrd.img",
    "ignition",
    "-",
    "-",
    "reported",
    "ssh",
    "installing Connect",
    "installing Start the primary server",
    "ready",
  ]);
  const row = steps.machine("srv-1")!;
  assert.equal(row.failure, undefined);
  assert.deepEqual(row.report?.fingerprints, [SRV.hostKeyFingerprint]);
  assert.equal(steps.machine("agt-1")!.step, "waiting", "the other machine did not move");
  assert.equal(describeRow(row), "Ready");
});

test("a MAC the manifest does not know is listed once as unknown, and moves no known machine", () => {
  const steps = new MachineSteps([SRV]);
  const stranger = "52:54:00:ee:ee:01";
  const first = applyOne(steps, event("dhcp.unknown-mac", { detail: { mac: stranger } }));
  assert.equal(first?.known, false);
  assert.equal(applyOne(steps, event("dhcp.unknown-mac", { detail: { mac: stranger } })), undefined, "told once");
  assert.equal(applyOne(steps, dhcp(stranger)), undefined, "no step for an unknown machine from an offer it never got");
  assert.equal(
    applyOne(steps, event("boot.unknown", { detail: { endpoint: "ipxe", labels: { mac: stranger } } }))?.note,
    "asked for ipxe: refused",
  );
  assert.deepEqual(
    steps.machines().map((m) => [m.name ?? "?", m.mac, m.known]),
    [
      ["srv-1", SRV.mac, true],
      ["?", stranger, false],
    ],
  );
  assert.match(describeRow(steps.machines()[1]!), /^unknown machine/);
});

test("a failed Ignition or another host key in the report is a failure that keeps the step reached", () => {
  const steps = new MachineSteps([SRV, AGT]);
  applyOne(steps, dhcp(AGT.mac));
  applyOne(steps, event("boot.ignition", { detail: { mac: AGT.mac } }));
  const failed = applyOne(
    steps,
    report(AGT.mac, { status: "first-boot-failed", ignition: "failure", message: "files stage: 404" }),
  );
  assert.equal(failed?.step, "reported");
  assert.equal(failed?.failure, "reported first-boot-failed, Ignition failure (files stage: 404)");

  applyOne(steps, dhcp(SRV.mac));
  const other = applyOne(steps, report(SRV.mac, { sshHostKeyFingerprints: [`SHA256:${"B".repeat(43)}`] }));
  assert.match(
    other?.failure ?? "",
    /booted another config: its SSH host key is SHA256:B+, not the SHA256:A+ airstrap generated/,
  );
});

test("the firmware asking DHCP again after a later step is a new boot: the machine starts over, its failure forgotten", () => {
  const steps = new MachineSteps([AGT]);
  applyOne(steps, dhcp(AGT.mac));
  applyOne(steps, event("boot.ignition", { detail: { mac: AGT.mac } }));
  applyOne(steps, report(AGT.mac, { ignition: "failure" }));
  assert.ok(steps.machine("agt-1")!.failure);
  const again = applyOne(steps, dhcp(AGT.mac, "dhcp.offer", 0));
  assert.equal(again?.step, "dhcp");
  assert.equal(again?.failure, undefined);
  assert.equal(again?.report, undefined);
});

test("install failures and marks by name: the step stays where the machine got to", () => {
  const steps = new MachineSteps([SRV]);
  steps.set("srv-1", "ssh", "already up before this run");
  applyOne(steps, event("install.host.start", { host: "srv-1", phase: "Gather facts" }));
  const row = applyOne(
    steps,
    event("install.host.fail", { host: "srv-1", phase: "Gather facts", message: "sudo refused" }),
  );
  assert.equal(row?.step, "installing");
  assert.equal(row?.failure, "Gather facts: sudo refused");
  assert.equal(steps.failByName("nobody", "x"), undefined);
  assert.equal(applyOne(steps, event("install.host.start", { host: "nobody", phase: "Connect" })), undefined);
});

test("nodes that turn Ready together are each a change: one kube.wait moves both machines", () => {
  const steps = new MachineSteps([SRV, AGT]);
  for (const host of ["srv-1", "agt-1"]) steps.apply(event("install.host.start", { host, phase: "Connect" }));
  const rows = steps.apply(event("kube.wait", { detail: { ready: ["srv-1", "agt-1"] } }));
  assert.deepEqual(
    rows.map((row) => [row.name, row.step]),
    [
      ["srv-1", "ready"],
      ["agt-1", "ready"],
    ],
  );
  assert.deepEqual(steps.apply(event("kube.wait", { detail: { ready: ["srv-1", "agt-1"] } })), [], "told once");
  assert.deepEqual(
    steps.apply(event("init.ssh", { host: "srv-1" })),
    [],
    "a machine that is Ready does not go back to SSH",
  );
});
