import { Writable } from "node:stream";
import { answer } from "./src/services/dhcp/answer.js";
import { compileAnswerTable } from "./src/services/dhcp/answer-table.js";
import { decodeMessage, macOf } from "./src/services/dhcp/wire.js";
import { createEvents } from "./src/events.js";
import { attachBatchedPlainView } from "./src/cli/views/event-views.js";
import { stormConfig, stormMacs } from "./test/services/dhcp/netns-fixture.js";
import { pxeDiscover } from "./test/services/dhcp/fixture.js";

const known = stormMacs(1, 100);
const unknown = stormMacs(2, 100);
const macs = known.flatMap((mac, i) => [mac, unknown[i]!]);
const table = compileAnswerTable(stormConfig(known));
const datagrams = macs.map((mac, i) => pxeDiscover({ mac, xid: i, parameters: [1, 3, 6, 15, 66, 67] }));
const from = { address: "0.0.0.0", port: 68 };
function time(name: string, n: number, f: () => void) {
  for (let i = 0; i < n / 10; i++) f();
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) f();
  const t = process.cpuUsage(t0);
  console.log(name, (((t.user + t.system) * 1000) / n / 200).toFixed(0), "ns per datagram");
}
time("decode", 2000, () => { for (const d of datagrams) decodeMessage(d); });
time("decode+mac", 2000, () => { for (const d of datagrams) macOf(decodeMessage(d)); });
time("decode+answer", 2000, () => { for (const d of datagrams) answer(table, decodeMessage(d), "dhcp", from); });
const decisions = datagrams.map((d) => answer(table, decodeMessage(d), "dhcp", from)).filter((d) => d.kind === "reply");
const events = createEvents();
const sink = new Writable({ write(_c, _e, cb) { cb(); } }) as unknown as NodeJS.WriteStream;
attachBatchedPlainView(events, sink);
time("emit (per reply; /2 per datagram)", 2000, () => {
  for (const decision of decisions) {
    if (decision.kind !== "reply") continue;
    const { detail } = decision;
    events.emit({ level: "info", kind: `dhcp.${decision.step}`, service: "dhcp", ...(detail.hostname === undefined ? {} : { host: detail.hostname }), message: `offered ${detail.address} to ${decision.mac} (${detail.hostname}), boot ${detail.bootFile} (${detail.boot})`, detail: { mac: decision.mac, ...detail } });
  }
});
