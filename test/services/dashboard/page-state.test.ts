import assert from "node:assert/strict";
import { test } from "node:test";
import { foldEvent, initialPageState, type PageState } from "../../../src/services/dashboard/page-state.js";
import { at, HOSTS, installOf } from "./fixture.js";

const fold = (events: Parameters<typeof foldEvent>[1][], from = initialPageState("edge", HOSTS)): PageState =>
  events.reduce(foldEvent, from);

const row = (state: PageState, name: string) => state.hosts.find((h) => h.name === name);

test("every host starts listed, not Ready, with nothing reached", () => {
  const state = initialPageState("edge", HOSTS);
  assert.deepEqual(
    state.hosts.map((h) => [h.name, h.ready, h.boot, h.phase]),
    HOSTS.map((h) => [h.name, false, undefined, undefined]),
  );
  assert.equal(state.run.outcome, "running");
});

test("install phases become the host's phase and bars on its timeline; the kube wait marks Ready", () => {
  const state = fold(installOf(["s1", "a1"], ["connect", "install"]));
  const s1 = row(state, "s1");
  assert.equal(s1?.phase, "install");
  assert.equal(s1?.phaseDone, true);
  assert.deepEqual(
    s1?.timeline.map((bar) => [bar.phase, bar.outcome, (bar.end ?? 0) - bar.start]),
    [
      ["connect", "done", 1000],
      ["install", "done", 1000],
    ],
  );
  assert.deepEqual(
    state.hosts.map((h) => h.ready),
    [true, false, true],
  );
});

test("a host the kube wait no longer names is not Ready any more", () => {
  const state = fold([
    at({ kind: "kube.wait", message: "waiting", detail: { ready: ["s1", "s2"] } }),
    at({ kind: "kube.wait", message: "waiting for s2", detail: { ready: ["s1"] } }),
  ]);
  assert.deepEqual(
    state.hosts.map((h) => h.ready),
    [true, false, false],
  );
});

test("a failed phase ends its bar as failed and becomes the host's last error, in words", () => {
  const state = fold([
    at({ kind: "install.host.start", host: "s2", phase: "install", message: "started" }),
    at({ kind: "install.host.fail", host: "s2", phase: "install", level: "error", message: "rke2 did not start" }),
  ]);
  const s2 = row(state, "s2");
  assert.equal(s2?.timeline[0]?.outcome, "failed");
  assert.equal(s2?.lastError, "install: rke2 did not start");
  assert.equal(s2?.phaseDone, false);
});

test("boot steps are matched by MAC (any case) and only ever move forward", () => {
  const mac = "52:54:00:77:00:21";
  const state = fold([
    at({ kind: "dhcp.proxy-offer", service: "dhcp", message: "offer", detail: { mac } }),
    at({ kind: "boot.ignition", message: "Ignition served", detail: { mac: mac.toUpperCase() } }),
    at({ kind: "boot.ipxe", message: "iPXE script served", detail: { mac } }),
  ]);
  assert.equal(row(state, "a1")?.boot, "Ignition");
  const booted = foldEvent(
    state,
    at({ kind: "boot.report", message: "reported", detail: { mac, status: "first-boot-done", ignition: "success" } }),
  );
  assert.equal(row(booted, "a1")?.boot, "first boot");
  assert.equal(row(booted, "s1")?.boot, undefined);
});

test("an unknown MAC or host changes no row", () => {
  const before = initialPageState("edge", HOSTS);
  const after = foldEvent(before, at({ kind: "boot.ipxe", message: "x", detail: { mac: "52:54:00:00:00:99" } }));
  assert.equal(after.hosts, before.hosts);
});

test("the kubeconfig path and the run's end make the summary", () => {
  const state = fold([
    at({
      kind: "install.kubeconfig",
      host: "s1",
      message: "kubeconfig saved",
      detail: { path: "/site/.airstrap/kubeconfig" },
    }),
    at({
      kind: "run.end",
      message: "3 nodes Ready",
      detail: { ok: true, next: ["export KUBECONFIG=/site/.airstrap/kubeconfig", "kubectl get nodes"] },
    }),
  ]);
  assert.deepEqual(state.run, {
    outcome: "complete",
    message: "3 nodes Ready",
    kubeconfig: "/site/.airstrap/kubeconfig",
    nextCommands: ["export KUBECONFIG=/site/.airstrap/kubeconfig", "kubectl get nodes"],
  });
});

test("node probes after the run draw the panels and leave the timeline's span alone", () => {
  const run = fold(installOf(["s1"], ["configure"]));
  const probed = foldEvent(
    run,
    at({ kind: "node.sample", host: "s1", message: "probed", detail: { at: 1, servicesUp: true, dnsUp: true } }),
  );
  assert.equal(probed.lastEventAt, run.lastEventAt);
  assert.equal(probed.startedAt, run.startedAt);
  assert.deepEqual(probed.nodes[0]?.lines, [{ state: "ok", text: "DNS answering" }]);
});

test("the boot services' events walk a machine through its steps, TFTP and assets matched by the address DHCP gave it", () => {
  const mac = "52:54:00:77:00:21";
  const state = fold([
    at({ kind: "dhcp.offer", message: "offer", detail: { mac, address: "10.77.0.121", bootFile: "ipxe.efi" } }),
    at({ kind: "tftp.transfer", message: "sent", detail: { client: "10.77.0.121:2070", file: "ipxe.efi" } }),
  ]);
  assert.deepEqual([row(state, "a1")?.boot, row(state, "a1")?.bootDetail], ["DHCP", "ipxe.efi over TFTP"]);
  const fetched = fold(
    [
      at({ kind: "boot.ipxe", message: "script", detail: { mac } }),
      at({
        kind: "boot.asset",
        message: "asset",
        detail: { client: "::ffff:10.77.0.121", path: "debian/vmlinuz", bytes: 8_100_000 },
      }),
    ],
    state,
  );
  assert.deepEqual([row(fetched, "a1")?.boot, row(fetched, "a1")?.bootDetail], ["iPXE", "vmlinuz (8.1 MB)"]);
  const failed = fold(
    [
      at({
        kind: "tftp.transfer.failed",
        message: "TFTP transfer of ipxe.efi stopped",
        detail: { client: "10.77.0.121:2071" },
      }),
    ],
    fetched,
  );
  assert.equal(row(failed, "a1")?.lastError, "TFTP transfer of ipxe.efi stopped");
  assert.equal(row(failed, "a1")?.boot, "iPXE", "a failure does not move the step");
  const booted = fold(
    [
      at({ kind: "boot.ignition", message: "Ignition", detail: { mac } }),
      at({ kind: "boot.report", message: "done", detail: { mac, status: "first-boot-done", ignition: "success" } }),
      at({ kind: "dhcp.ack", message: "renewal", detail: { mac, address: "10.77.0.121" } }),
    ],
    failed,
  );
  assert.deepEqual([row(booted, "a1")?.boot, row(booted, "a1")?.bootDetail], ["first boot", "reported; Ignition ran"]);
  assert.deepEqual(
    row(booted, "a1")?.timeline.map((bar) => [bar.phase, bar.outcome]),
    [["network boot", "done"]],
    "the network boot is one bar of the timeline, from DHCP to the first-boot report",
  );
  assert.equal(row(booted, "s1")?.boot, undefined);
});
