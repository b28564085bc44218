import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import type { TestContext } from "node:test";
import type { DnsConfig } from "../../../src/services/dns/config.js";
import type { startDns } from "../../../src/services/dns/service.js";
import { serverOf } from "../../peers/dig.js";
import { lastAddressOf, rawQuery } from "./raw-client.js";

/**
 * Keeps 32 queries for git.edge.lan in flight (4000 in all) from `clientAddress` while the data
 * is swapped 20 times between 10.77.0.30 and 10.77.0.50; every query must be answered, and both
 * values must have been served.
 */
export async function assertNoQueryDroppedAcrossReloads(
  t: TestContext,
  dns: Awaited<ReturnType<typeof startDns>>,
  config: DnsConfig,
  clientAddress: string,
  timeoutMs: number,
): Promise<void> {
  const { address, port } = serverOf(dns.addresses[0]!);
  const total = 4000;
  const window = 32;
  const socket = createSocket("udp4");
  t.after(() => socket.close());
  await new Promise<void>((resolve) => socket.bind({ address: clientAddress, port: 0 }, () => resolve()));
  const answered = new Set<number>();
  const answers = new Set<string>();
  let sent = 0;
  const done = new Promise<void>((resolve, reject) => {
    const guard = setTimeout(() => reject(new Error(`only ${answered.size} of ${sent} answered`)), timeoutMs);
    const sendNext = () => {
      if (sent >= total) return;
      socket.send(rawQuery(sent, "git.edge.lan", 1), port, address);
      sent += 1;
    };
    socket.on("message", (reply) => {
      answered.add(reply.readUInt16BE(0));
      // The last answer record's address: old data has 10.77.0.30, new data 10.77.0.50.
      answers.add(lastAddressOf(reply)!);
      if (answered.size === total) {
        clearTimeout(guard);
        resolve();
      } else {
        sendNext();
      }
    });
    for (let i = 0; i < window; i++) sendNext();
  });
  const reloads = (async () => {
    for (let i = 0; i < 20; i++) {
      const value = i % 2 === 0 ? "10.77.0.50" : "10.77.0.30";
      const records = config.records.map((r) => (r.value === "10.77.0.30" ? { ...r, value } : r));
      await dns.reload({ ...config, listen: [serverOf(dns.addresses[0]!)], records });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  await Promise.all([done, reloads]);
  assert.equal(answered.size, total);
  assert.ok(answers.has("10.77.0.50") && answers.has("10.77.0.30"), `answers seen: ${[...answers]}`);
}
