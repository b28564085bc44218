import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { createEvents } from "../../../src/events.js";
import { BOOT_HTTP_DEFAULTS } from "../../../src/services/boot-http/config.js";
import { startBootHttp } from "../../../src/services/boot-http/service.js";
import { curl } from "../../peers/curl.js";

/** A folder in Matchbox's documented shapes, served as Matchbox serves it (see matchbox-example/README.md). */
const FOLDER = new URL("./matchbox-example/", import.meta.url).pathname;

test("a Matchbox example folder is served as Matchbox serves it", async (t) => {
  const server = await startBootHttp(
    { ...BOOT_HTTP_DEFAULTS, listen: [{ address: "127.0.0.1", port: 0 }], dataDir: FOLDER, allowCatchAll: true },
    createEvents(),
  );
  t.after(() => server.close());
  const url = (path: string) => `http://${server.addresses[0]}${path}`;
  const kernel = "/assets/flatcar/4081.2.0/flatcar_production_pxe.vmlinuz";
  const initrd = "/assets/flatcar/4081.2.0/flatcar_production_pxe_image.cpio.gz";

  // An unlisted machine gets the catch-all install stage; the same machine once installed gets stage 1.
  const install = await curl(url("/ipxe?uuid=u&mac=52-54-00-00-00-99&domain=&hostname=&serial=&arch=x86_64"));
  assert.equal(
    install.text,
    [
      "#!ipxe",
      `kernel ${kernel} initrd=flatcar_production_pxe_image.cpio.gz flatcar.config.url=http://matchbox.example.com:8080/ignition?uuid=\${uuid}&mac=\${mac:hexhyp} flatcar.first_boot=yes`,
      `initrd ${initrd}`,
      "boot",
      "",
    ].join("\n"),
  );
  const installedIgnition = await curl(url("/ignition?mac=52-54-00-00-00-99&os=installed"));
  assert.equal(installedIgnition.text, await readFile(`${FOLDER}ignition/flatcar.ign`, "utf8"));
  assert.equal(
    (await curl(url("/ignition?mac=52:54:00:00:00:99"))).text,
    await readFile(`${FOLDER}ignition/flatcar-install.ign`, "utf8"),
  );

  // The group selected by MAC (written upper-case in its file) wins over the catch-all.
  assert.equal(
    (await curl(url("/ipxe?mac=52-54-00-89-d8-10"))).text,
    `#!ipxe\nkernel ${kernel} initrd=flatcar_production_pxe_image.cpio.gz flatcar.autologin\ninitrd ${initrd}\nboot\n`,
  );
  assert.equal(
    (await curl(url("/ignition?mac=52:54:00:89:d8:10"))).text,
    await readFile(`${FOLDER}ignition/etcd.ign`, "utf8"),
  );
  assert.equal(
    (await curl(url("/metadata?mac=52-54-00-89-d8-10&foo=bar&count=3&gate=true"))).text,
    [
      "DEBUG=false",
      "ETCD_INITIAL_CLUSTER=node1=http://node1.example.com:2380",
      "ETCD_NAME=node1",
      "MAC=52:54:00:89:d8:10",
      "PORT=2380",
      "REQUEST_QUERY_COUNT=3",
      "REQUEST_QUERY_FOO=bar",
      "REQUEST_QUERY_GATE=true",
      "REQUEST_QUERY_MAC=52:54:00:89:d8:10",
      "REQUEST_RAW_QUERY=mac=52-54-00-89-d8-10&foo=bar&count=3&gate=true",
      "SOME_NESTED_DATA=some-value",
      "",
    ].join("\n"),
  );
  assert.equal(
    (await curl(url("/generic?mac=52-54-00-89-d8-10"))).text,
    "ETCD_NAME=node1\nETCD_INITIAL_CLUSTER=node1=http://node1.example.com:2380\nPORT=2380\nMAC=52:54:00:89:d8:10\n",
  );
  // The install stage's profile has no generic_id: 404, as Matchbox answers.
  assert.equal((await curl(url("/generic?mac=52:54:00:00:00:99"))).status, 404);
});

test("the same folder is refused without --allow-catch-all, naming the catch-all group", async () => {
  await assert.rejects(
    startBootHttp(
      { ...BOOT_HTTP_DEFAULTS, listen: [{ address: "127.0.0.1", port: 0 }], dataDir: FOLDER },
      createEvents(),
    ),
    /groups\/install\.json: an empty selector matches every machine/,
  );
});
