import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { parse } from "yaml";
import { manifestJsonSchema } from "../../src/manifest/json-schema.js";
import { example } from "../helpers/cli.js";

const ajv = new Ajv2020({ allErrors: true, strict: false });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validate = ajv.compile(manifestJsonSchema());
const load = async (name: string) => parse(await readFile(example(name), "utf8")) as unknown;

test("the JSON Schema accepts the valid examples and the init template", async () => {
  const { MANIFEST_TEMPLATE } = await import("../../src/manifest/template.js");
  for (const doc of [
    await load("rke2-ha.yaml"),
    await load("k3s-single.yaml"),
    await load("pxe-rke2.yaml"),
    parse(MANIFEST_TEMPLATE),
  ]) {
    assert.equal(validate(doc), true, JSON.stringify(validate.errors));
  }
});

test("the JSON Schema rejects the invalid examples that a schema can judge", async () => {
  for (const name of ["unknown-keys.yaml", "wrong-types.yaml", "no-server.yaml"]) {
    assert.equal(validate(await load(`invalid/${name}`)), false, `${name} was accepted`);
  }
  validate(await load("invalid/wrong-types.yaml"));
  const errors = (validate.errors ?? []).map((e) => e.instancePath);
  for (const path of [
    "/metadata/name",
    "/spec/distro/name",
    "/spec/ssh/port",
    "/spec/ssh/sudo",
    "/spec/hosts/0/address",
    "/spec/hosts/0/role",
    "/spec/loadBalancer/apiPort",
  ]) {
    assert.ok(errors.includes(path), `no schema error at ${path}: ${errors.join(", ")}`);
  }
});

test("the JSON Schema knows the PXE fields: both OS forms, never mixed; a pool only with dhcp: full", async () => {
  const pxeSite = (await load("pxe-rke2.yaml")) as { spec: { provisioning: { pxe: Record<string, unknown> } } };
  const withPxe = (pxe: Record<string, unknown>) => ({
    ...pxeSite,
    spec: { ...pxeSite.spec, provisioning: { pxe: { ...pxeSite.spec.provisioning.pxe, ...pxe } } },
  });
  const custom = { kernel: "debian/vmlinuz", initrd: ["debian/initrd.img"], rootImage: "debian/live.squashfs" };
  assert.equal(validate(withPxe({ os: custom, ignitionVersion: "3.4.0" })), true, JSON.stringify(validate.errors));
  assert.equal(validate(withPxe({ dhcp: "full", pool: { start: "10.77.0.200", end: "10.77.0.210" } })), true);
  for (const wrong of [
    { os: { ...custom, version: "3975.2.2" } },
    { os: { kernel: "debian/vmlinuz" } },
    { os: { channel: "stable" } },
    { pool: { start: "10.77.0.200", end: "10.77.0.210" } },
    { ignitionVersion: "3.5.0" },
    { templatez: "./t" },
  ])
    assert.equal(validate(withPxe(wrong)), false, `accepted ${JSON.stringify(wrong)}`);
  for (const name of ["pxe.yaml", "pxe-os.yaml"])
    assert.equal(validate(await load(`invalid/${name}`)), false, `${name} was accepted`);
});

test("what JSON Schema cannot express is left to airstrap validate, and said so", async () => {
  // Duplicates across hosts, overlapping networks and files on disk are beyond JSON Schema.
  for (const name of ["duplicates.yaml", "networks.yaml"]) assert.equal(validate(await load(`invalid/${name}`)), true);
  assert.match(String(manifestJsonSchema().title), /airstrap/);
});
