import assert from "node:assert/strict";
import { test } from "node:test";
import { curl } from "../../peers/curl.js";
import { bootServer, MAC_1, MAC_2, TWO_MACHINES } from "./harness.js";

test("/ answers matchbox, /boot.ipxe and /boot.ipxe.0 the chain script with arch", async (t) => {
  const { url } = await bootServer(t, TWO_MACHINES);
  const home = await curl(url("/"));
  assert.equal(home.status, 200);
  assert.equal(home.text, "matchbox\n");
  const chain =
    "#!ipxe\nchain ipxe?uuid=${uuid}&mac=${mac:hexhyp}&domain=${domain}&hostname=${hostname}&serial=${serial}&arch=${buildarch:uristring}\n";
  for (const path of ["/boot.ipxe", "/boot.ipxe.0"]) {
    const boot = await curl(url(path));
    assert.equal(boot.status, 200, path);
    assert.equal(boot.text, chain, path);
  }
  assert.equal((await curl(url("/nothing"))).status, 404);
});

test("/ipxe: the selected profile's script, for hyphen and upper-case MACs alike", async (t) => {
  const { url, events } = await bootServer(t, TWO_MACHINES);
  const expected = [
    "#!ipxe",
    "kernel /assets/vmlinuz initrd=initrd-a.img ignition.config.url=http://boot/ignition?mac=${mac:hexhyp} console=ttyS0",
    "initrd /assets/initrd-a.img",
    "initrd /assets/initrd-b.img",
    "boot",
    "",
  ].join("\n");
  for (const mac of ["52-54-00-00-00-01", "52:54:00:00:00:01", "52-54-00-00-00-01".toUpperCase()]) {
    const out = await curl(url(`/ipxe?uuid=abc&mac=${mac}&domain=&hostname=&serial=&arch=x86_64`));
    assert.equal(out.status, 200, mac);
    assert.equal(out.text, expected, mac);
  }
  const installed = await curl(url(`/ipxe?mac=${MAC_1}&os=installed`));
  assert.equal(installed.text, "#!ipxe\nkernel /assets/other\nboot\n", "the group with two selectors wins");
  const served = events.filter((e) => e.kind === "boot.ipxe");
  assert.equal(served.length, 4);
  assert.equal(served[0]?.detail?.mac, MAC_1);
  assert.equal(served[3]?.detail?.group, "node1-installed");
});

test("an unknown machine gets 404 and an event, never another machine's config", async (t) => {
  const { url, events } = await bootServer(t, TWO_MACHINES);
  for (const path of ["/ipxe", "/ignition", "/metadata", "/generic"]) {
    for (const query of ["?mac=52:54:00:00:00:99", "", "?mac=garbage", "?os=installed", "?MAC=52:54:00:00:00:01"]) {
      const out = await curl(url(path + query));
      assert.equal(out.status, 404, path + query);
      assert.doesNotMatch(out.text, /ipxe|ignition|HOST/, path + query);
    }
  }
  const unknown = events.filter((e) => e.kind === "boot.unknown");
  assert.equal(unknown.length, 20);
  assert.equal(unknown[0]?.level, "warn");
  assert.match(unknown[0]?.message ?? "", /52:54:00:00:00:99/);
});

test("/ignition: the file's bytes as Ignition JSON; no body ever reaches an event", async (t) => {
  const { url, events } = await bootServer(t, TWO_MACHINES);
  const out = await curl(url(`/ignition?mac=52-54-00-00-00-02`));
  assert.equal(out.status, 200);
  assert.equal(out.headers["content-type"], "application/vnd.coreos.ignition+json");
  assert.equal(out.text, TWO_MACHINES["ignition/install.ign"]);
  const fetched = events.find((e) => e.kind === "boot.ignition");
  assert.equal(fetched?.detail?.mac, MAC_2);
  assert.doesNotMatch(JSON.stringify(events), /SECRET-JOIN-TOKEN/);
  const none = await curl(url(`/ignition?mac=${MAC_1}&os=installed`));
  assert.equal(none.status, 404, "a profile without ignition_id");
  assert.match(events.at(-1)?.message ?? "", /has no ignition_id/);
});

test("/ignition of a profile whose file is missing is 404 with the reason in the event", async (t) => {
  const files = { ...TWO_MACHINES };
  delete files["ignition/install.ign"];
  const { url, events } = await bootServer(t, files);
  assert.equal((await curl(url(`/ignition?mac=${MAC_1}`))).status, 404);
  assert.equal(events.at(-1)?.kind, "boot.missing");
  assert.match(events.at(-1)?.message ?? "", /no file ignition\/install\.ign/);
});

test("/metadata: KEY=value lines in sorted order", async (t) => {
  const { url } = await bootServer(t, TWO_MACHINES);
  const out = await curl(url(`/metadata?mac=52-54-00-00-00-01&os=other`));
  assert.equal(out.status, 200);
  assert.equal(
    out.text,
    [
      "DISK=/dev/vda",
      "HOSTNAME=node1",
      "MAC=52:54:00:00:00:01",
      "POOL_SIZE=3",
      "REQUEST_QUERY_MAC=52:54:00:00:00:01",
      "REQUEST_QUERY_OS=other",
      "REQUEST_RAW_QUERY=mac=52-54-00-00-00-01&os=other",
      "",
    ].join("\n"),
  );
});

test("/generic renders the profile's template; an unknown variable is 404 and an event", async (t) => {
  const { url, events } = await bootServer(t, TWO_MACHINES);
  const out = await curl(url(`/generic?mac=${MAC_1}&os=other`));
  assert.equal(out.status, 200);
  assert.equal(out.text, "HOST=node1\nDISK=/dev/vda\nPOOL=3\nOS=other\n");
  const missing = await curl(url(`/generic?mac=${MAC_2}&os=other`));
  assert.equal(missing.status, 404);
  assert.equal(events.at(-1)?.kind, "boot.missing");
  assert.match(events.at(-1)?.message ?? "", /generic\/install\.env: no variable \.hostname/);
});

test("/metrics counts requests by endpoint and status; /healthz answers", async (t) => {
  const { url } = await bootServer(t, TWO_MACHINES);
  await curl(url(`/ipxe?mac=${MAC_1}`));
  await curl(url(`/ipxe?mac=52:54:00:00:00:99`));
  assert.equal((await curl(url("/healthz"))).text, "ok\n");
  const metrics = (await curl(url("/metrics"))).text;
  assert.match(metrics, /^airstrap_boot_http_requests_total\{endpoint="ipxe",code="200"\} 1$/m);
  assert.match(metrics, /^airstrap_boot_http_requests_total\{endpoint="ipxe",code="404"\} 1$/m);
  assert.match(metrics, /^airstrap_boot_http_groups 3$/m);
});

test("methods other than GET and HEAD are refused on the Matchbox endpoints", async (t) => {
  const { url } = await bootServer(t, TWO_MACHINES);
  assert.equal((await curl(url(`/ipxe?mac=${MAC_1}`), ["-X", "POST", "--data", "x"])).status, 405);
  const head = await curl(url(`/ipxe?mac=${MAC_1}`), ["-I"]);
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
});

test("labels an unknown machine chose reach the event message with control characters escaped", async (t) => {
  const { url, events } = await bootServer(t, TWO_MACHINES);
  assert.equal((await curl(url("/ipxe?os=%1b%5b31mred%0afake%20line"))).status, 404);
  assert.equal(events.at(-1)?.message, "/ipxe: no group selects os=\\x1b[31mred\\x0afake line");
});

test("clients outside the allowed networks get 403 for everything but /healthz", async (t) => {
  const elsewhere = await bootServer(t, TWO_MACHINES, { allowedNetworks: ["10.77.0.0/24"] });
  const refused = await curl(elsewhere.url(`/ignition?mac=${MAC_1}`));
  assert.equal(refused.status, 403);
  assert.doesNotMatch(refused.text, /SECRET/);
  assert.equal(elsewhere.events.at(-1)?.kind, "boot.client.refused");
  assert.equal((await curl(elsewhere.url("/healthz"))).status, 200);
  const here = await bootServer(t, TWO_MACHINES, { allowedNetworks: ["10.77.0.0/24", "127.0.0.0/8"] });
  assert.equal((await curl(here.url(`/ignition?mac=${MAC_1}`))).status, 200);
  await assert.rejects(bootServer(t, TWO_MACHINES, { allowedNetworks: ["10.77.0.0"] }), /is not a CIDR network/);
});
