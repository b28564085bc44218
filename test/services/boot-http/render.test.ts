import assert from "node:assert/strict";
import { test } from "node:test";
import { parseGroup } from "../../../src/services/boot-http/data.js";
import { parseTemplate, renderTemplate } from "../../../src/services/boot-http/generic.js";
import { BOOT_IPXE, renderIpxe } from "../../../src/services/boot-http/ipxe.js";
import { renderMetadata } from "../../../src/services/boot-http/metadata.js";
import { labelsFromQuery } from "../../../src/services/boot-http/select.js";
import { collectVariables, formatScalar } from "../../../src/services/boot-http/variables.js";

test("/boot.ipxe is Matchbox's chain script, arch included", () => {
  assert.equal(
    BOOT_IPXE,
    [
      "#!ipxe",
      "chain ipxe?uuid=${uuid}&mac=${mac:hexhyp}&domain=${domain}&hostname=${hostname}&serial=${serial}&arch=${buildarch:uristring}",
      "",
    ].join("\n"),
  );
});

test("an iPXE script: kernel with its args, one initrd line per entry, boot", () => {
  const script = renderIpxe({
    kernel: "/assets/flatcar/vmlinuz",
    initrd: ["/assets/flatcar/a.cpio.gz", "/assets/flatcar/b.cpio.gz"],
    args: ["initrd=a.cpio.gz", "ignition.config.url=http://boot/ignition?uuid=${uuid}&mac=${mac:hexhyp}"],
  });
  assert.equal(
    script,
    [
      "#!ipxe",
      "kernel /assets/flatcar/vmlinuz initrd=a.cpio.gz ignition.config.url=http://boot/ignition?uuid=${uuid}&mac=${mac:hexhyp}",
      "initrd /assets/flatcar/a.cpio.gz",
      "initrd /assets/flatcar/b.cpio.gz",
      "boot",
      "",
    ].join("\n"),
  );
  assert.equal(renderIpxe({ kernel: "/k", initrd: [], args: [] }), "#!ipxe\nkernel /k\nboot\n");
});

const node1 = parseGroup(
  JSON.stringify({
    id: "node1",
    profile: "etcd",
    selector: { mac: "52:54:00:a1:9c:ae" },
    metadata: { meta: "data", etcd_name: "node1", some: { nested: { data: "some-value" } }, list: [1], none: null },
  }),
  "groups/node1.json",
);

test("/metadata: Matchbox's documented example, in sorted order", () => {
  const raw = "mac=52-54-00-a1-9c-ae&foo=bar&count=3&gate=true";
  const text = renderMetadata(collectVariables(node1, labelsFromQuery(new URLSearchParams(raw)), raw));
  assert.equal(
    text,
    [
      "ETCD_NAME=node1",
      "MAC=52:54:00:a1:9c:ae",
      "META=data",
      "REQUEST_QUERY_COUNT=3",
      "REQUEST_QUERY_FOO=bar",
      "REQUEST_QUERY_GATE=true",
      "REQUEST_QUERY_MAC=52:54:00:a1:9c:ae",
      "REQUEST_RAW_QUERY=mac=52-54-00-a1-9c-ae&foo=bar&count=3&gate=true",
      "SOME_NESTED_DATA=some-value",
      "",
    ].join("\n"),
  );
});

test("numbers and booleans print as Go's %v prints a JSON value", () => {
  const cases: [unknown, string][] = [
    [3, "3"],
    [8080, "8080"],
    [0.5, "0.5"],
    [123456, "123456"],
    [1000000, "1e+06"],
    [1234567, "1.234567e+06"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [true, "true"],
    ["x", "x"],
  ];
  for (const [value, text] of cases) assert.equal(formatScalar(value), text, String(value));
  assert.equal(formatScalar([1]), undefined);
  assert.equal(formatScalar(null), undefined);
});

test("generic templates substitute group variables, selectors and the request; an unknown one is an error", () => {
  const variables = collectVariables(node1, { mac: "52:54:00:a1:9c:ae", os: "installed" }, "mac=x&os=installed");
  const template = parseTemplate(
    "name={{.etcd_name}} mac={{ .mac }}\n  {{- .some.nested.data }} os={{.request.query.os}}\n{{ .request.raw_query -}}\n  end",
  );
  assert.deepEqual(renderTemplate(template, variables), {
    ok: true,
    text: "name=node1 mac=52:54:00:a1:9c:aesome-value os=installed\nmac=x&os=installedend",
  });
  assert.deepEqual(renderTemplate(parseTemplate("{{.missing}}"), variables), {
    ok: false,
    problem: "no variable .missing",
  });
  assert.deepEqual(renderTemplate(parseTemplate("{{.etcd_name.deeper}}"), variables), {
    ok: false,
    problem: "no variable .etcd_name.deeper",
  });
  assert.equal(renderTemplate(parseTemplate("{{.some}}"), variables).ok, false);
  assert.equal(renderTemplate(parseTemplate("{{.constructor}}"), variables).ok, false);
});

test("anything in a template beyond variables is refused when it is read", () => {
  for (const source of [
    "{{ exec }}",
    '{{ printf "%s" .mac }}',
    "{{/* c */}}",
    "{{ .a | html }}",
    "{{ .mac ",
    "{{.}}",
    "{{.a-b}}",
  ]) {
    assert.throws(() => parseTemplate(source), /line 1: /, source);
  }
  assert.throws(() => parseTemplate("ok\n{{ range .x }}"), /line 2: /);
});
