import assert from "node:assert/strict";
import { test } from "node:test";
import { normalizeMac } from "../../../src/services/boot-http/mac.js";
import { labelsFromQuery, selectGroup, sortGroups } from "../../../src/services/boot-http/select.js";

const group = (id: string, selector: Record<string, string>) => ({ id, selector });
const labels = (query: string) => labelsFromQuery(new URLSearchParams(query));

test("MACs in hyphen, colon, upper case and dotted form normalize to lowercase colon form", () => {
  assert.equal(normalizeMac("52-54-00-A1-9C-AE"), "52:54:00:a1:9c:ae");
  assert.equal(normalizeMac("52:54:00:A1:9C:AE"), "52:54:00:a1:9c:ae");
  assert.equal(normalizeMac("5254.00a1.9cae"), "52:54:00:a1:9c:ae");
  assert.equal(normalizeMac("02:00:5e:10:00:00:00:01"), "02:00:5e:10:00:00:00:01");
  for (const bad of [
    "",
    "52:54:00:a1:9c",
    "52:54-00:a1:9c:ae",
    "52:54:00:a1:9c:zz",
    "525400a19cae",
    "52:54:00:a1:9c:ae:",
  ]) {
    assert.equal(normalizeMac(bad), undefined, bad);
  }
});

test("every query parameter is a label with its first value; a mac that is no MAC is dropped", () => {
  assert.deepEqual(labels("mac=52-54-00-A1-9C-AE&os=installed&os=other&uuid="), {
    mac: "52:54:00:a1:9c:ae",
    os: "installed",
    uuid: "",
  });
  assert.deepEqual(labels("MAC=52-54-00-a1-9c-ae"), { MAC: "52:54:00:a1:9c:ae" });
  assert.deepEqual(labels("mac=nonsense&arch=x86_64"), { arch: "x86_64" });
});

test("groups with more selectors come first; ties in reverse byte order of their k=v strings", () => {
  const sorted = sortGroups([
    group("one", { mac: "52:54:00:00:00:01" }),
    group("two-a", { mac: "52:54:00:00:00:01", os: "installed" }),
    group("os-only", { os: "installed" }),
    group("two-b", { arch: "x86_64", mac: "52:54:00:00:00:01" }),
    group("empty", {}),
  ]);
  assert.deepEqual(
    sorted.map((g) => g.id),
    ["two-a", "two-b", "os-only", "one", "empty"],
  );
});

test("the most specific group whose selectors all match wins; extra labels do not matter", () => {
  const sorted = sortGroups([
    group("install", { mac: "52:54:00:00:00:01" }),
    group("installed", { mac: "52:54:00:00:00:01", os: "installed" }),
    group("other", { mac: "52:54:00:00:00:02" }),
  ]);
  assert.equal(selectGroup(sorted, labels("mac=52-54-00-00-00-01"))?.id, "install");
  assert.equal(selectGroup(sorted, labels("mac=52:54:00:00:00:01&os=installed&extra=1"))?.id, "installed");
  assert.equal(selectGroup(sorted, labels("MAC=52:54:00:00:00:01")), undefined, "label keys are case-sensitive");
  assert.equal(selectGroup(sorted, labels("mac=52:54:00:00:00:03")), undefined);
  assert.equal(selectGroup(sorted, labels("")), undefined);
});

test("a tie between two equally specific matching groups goes to the greater selector string", () => {
  const sorted = sortGroups([group("by-arch", { arch: "x86_64" }), group("by-os", { os: "installed" })]);
  assert.equal(selectGroup(sorted, labels("arch=x86_64&os=installed"))?.id, "by-os");
});

test("an inherited property name is no label", () => {
  const sorted = sortGroups([group("proto", { constructor: "x" })]);
  assert.equal(selectGroup(sorted, labels("")), undefined);
});
