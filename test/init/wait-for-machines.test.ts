import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { type AirstrapEvent, createEvents } from "../../src/events.js";
import { MachineSteps } from "../../src/init/machine-steps.js";
import { waitForMachines } from "../../src/init/wait-for-machines.js";
import { sshdAvailable, startSshd } from "../peers/sshd.js";

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test("a machine whose sshd answers is told as reached; one that booted and reported but does not answer is named with what it said", async (t) => {
  const missing = sshdAvailable();
  if (missing) return t.skip(missing);
  const sshd = await startSshd();
  t.after(() => sshd.stop());
  const steps = new MachineSteps([
    { name: "up-1", mac: "52:54:00:00:00:01", address: "127.0.0.1" },
    { name: "mute-1", mac: "52:54:00:00:00:02", address: "127.0.0.2" },
  ]);
  steps.apply({
    time: new Date().toISOString(),
    level: "info",
    kind: "boot.report",
    message: "",
    detail: {
      mac: "52:54:00:00:00:02",
      status: "first-boot-done",
      ignition: "success",
      message: "kernel 6.1.0-28-amd64",
    },
  });
  const events = createEvents();
  const seen: AirstrapEvent[] = [];
  events.subscribe((e) => {
    seen.push(e);
    steps.apply(e);
  });
  const outcome = await waitForMachines({
    machines: [
      { name: "up-1", address: "127.0.0.1", sshPort: sshd.port },
      { name: "mute-1", address: "127.0.0.1", sshPort: await closedPort() },
    ],
    steps,
    events,
    deadline: Date.now() + 1500,
    intervalMs: 100,
  });
  assert.equal(outcome.ok, false);
  assert.deepEqual(
    seen.filter((e) => e.kind === "init.ssh").map((e) => e.host),
    ["up-1"],
  );
  assert.equal(steps.machine("up-1")?.step, "ssh");
  assert.deepEqual(outcome.failures, [
    {
      host: "mute-1",
      lastStep: "first boot reported",
      reason:
        "last step: first boot reported (it reported first-boot-done, Ignition success: kernel 6.1.0-28-amd64); did not answer SSH before --timeout",
    },
  ]);
});

test("a machine that never asked for DHCP is named as never having shown up; every machine failing ends the wait before the deadline", async () => {
  const steps = new MachineSteps([{ name: "ghost-1", mac: "52:54:00:00:00:03", address: "127.0.0.1" }]);
  const port = await closedPort();
  const timedOut = await waitForMachines({
    machines: [{ name: "ghost-1", address: "127.0.0.1", sshPort: port }],
    steps,
    events: createEvents(),
    deadline: Date.now() + 300,
    intervalMs: 50,
  });
  assert.match(
    timedOut.failures[0]?.reason ?? "",
    /^never showed up \(no DHCP request\); did not answer SSH before --timeout$/,
  );

  const failed = new MachineSteps([{ name: "bad-1", mac: "52:54:00:00:00:04", address: "127.0.0.1" }]);
  failed.failByName("bad-1", "the power-on command failed (exit 3)");
  const started = Date.now();
  const outcome = await waitForMachines({
    machines: [{ name: "bad-1", address: "127.0.0.1", sshPort: port }],
    steps: failed,
    events: createEvents(),
    deadline: started + 600_000,
    intervalMs: 50,
  });
  assert.equal(outcome.ok, false);
  assert.match(outcome.failures[0]?.reason ?? "", /the power-on command failed \(exit 3\)$/);
  assert.ok(Date.now() - started < 600_000, "did not wait for the deadline");
});

test("a machine that reported a failed Ignition from its initramfs ends the wait, named once with Ignition's words", async () => {
  const steps = new MachineSteps([{ name: "agt-1", mac: "52:54:00:00:00:05", address: "127.0.0.1" }]);
  const failed = "Ignition failed: failed to create users/groups: useradd: group 'video' does not exist";
  const at = new Date().toISOString();
  steps.apply({ time: at, level: "info", kind: "boot.ignition", message: "", detail: { mac: "52:54:00:00:00:05" } });
  steps.apply({
    time: at,
    level: "warn",
    kind: "boot.report",
    message: "",
    detail: { mac: "52:54:00:00:00:05", status: "first-boot-failed", ignition: "failure", message: failed },
  });
  const outcome = await waitForMachines({
    machines: [{ name: "agt-1", address: "127.0.0.1", sshPort: await closedPort() }],
    steps,
    events: createEvents(),
    deadline: Date.now() + 600_000,
    intervalMs: 50,
  });
  assert.deepEqual(outcome.failures, [
    {
      host: "agt-1",
      lastStep: "first boot reported",
      reason: `last step: first boot reported; reported first-boot-failed, Ignition failure (${failed})`,
    },
  ]);
});
