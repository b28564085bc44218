import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { test } from "node:test";
import { OperatorError } from "../../../src/errors.js";
import { loadBootData } from "../../../src/services/boot-http/store.js";
import { dataFolder } from "./fixture.js";

const PROFILE = JSON.stringify({ id: "node", boot: { kernel: "/assets/k", initrd: ["/assets/i"], args: ["a"] } });
const strict = { allowCatchAll: false };

async function loadError(files: Record<string, string>, options = strict): Promise<OperatorError> {
  const dir = await dataFolder(files);
  try {
    await loadBootData(dir, options);
  } catch (error) {
    assert.ok(error instanceof OperatorError, String(error));
    return error;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.fail("expected the data to be refused");
}

test("a folder loads: groups sorted, MAC selectors normalized, profiles by file name, ignition bytes kept", async (t) => {
  const ignition = '{"ignition":{"version":"3.4.0"}}\n';
  const dir = await dataFolder({
    "groups/a.json": JSON.stringify({ id: "a", profile: "node", selector: { mac: "52-54-00-00-00-0A" } }),
    "groups/b.json": JSON.stringify({ profile: "node", selector: { mac: "52:54:00:00:00:0a", os: "installed" } }),
    "groups/.b.json.swp": "junk",
    "groups/README": "not a group",
    "profiles/node.json": PROFILE,
    "ignition/node.ign": ignition,
    "ignition/sub/other.ignition": "{}",
    "generic/motd": "hello {{.mac}}",
  });
  t.after(() => rm(dir, { recursive: true, force: true }));
  const data = await loadBootData(dir, strict);
  assert.deepEqual(
    data.groups.map((g) => [g.id, g.file, g.selector.mac]),
    [
      ["b", "groups/b.json", "52:54:00:00:00:0a"],
      ["a", "groups/a.json", "52:54:00:00:00:0a"],
    ],
  );
  assert.deepEqual([...data.profiles.keys()], ["node"]);
  assert.equal(data.ignition.get("node.ign")?.toString(), ignition);
  assert.ok(data.ignition.has("sub/other.ignition"));
  assert.deepEqual([...data.generic.keys()], ["motd"]);
  assert.deepEqual([...data.knownMacs], ["52:54:00:00:00:0a"]);
});

test("bad JSON, bad fields and dangling references are refused with the file named", async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ "groups/a.json": "{", "profiles/node.json": PROFILE }, /groups\/a\.json: not valid JSON/],
    [{ "groups/a.json": "[]", "profiles/node.json": PROFILE }, /groups\/a\.json: expected a JSON object/],
    [
      { "groups/a.json": '{"selector":{"os":"x"}}', "profiles/node.json": PROFILE },
      /groups\/a\.json: "profile" is required/,
    ],
    [
      { "groups/a.json": '{"profile":"node","selector":{"mac":"nope"}}', "profiles/node.json": PROFILE },
      /groups\/a\.json: selector\.mac "nope" is not a MAC address/,
    ],
    [
      { "groups/a.json": '{"profile":"node","selector":{"os":1}}', "profiles/node.json": PROFILE },
      /groups\/a\.json: selector\.os must be a string/,
    ],
    [{ "groups/a.json": '{"profile":"gone","selector":{"os":"x"}}' }, /groups\/a\.json: profile "gone" does not exist/],
    [
      { "groups/a.json": '{"profile":"node","selector":{"os":"x"}}', "profiles/node.json": '{"id":"other"}' },
      /profiles\/node\.json: id "other" differs from the file name/,
    ],
    [
      {
        "groups/a.json": '{"profile":"node","selector":{"os":"x"}}',
        "profiles/node.json": '{"id":"node","boot":{"args":"a b"}}',
      },
      /profiles\/node\.json: boot\.args must be a list of strings/,
    ],
    [
      {
        "groups/a.json": '{"profile":"node","selector":{"os":"x"}}',
        "profiles/node.json": PROFILE,
        "ignition/node.ign": '{"ignition":',
      },
      /ignition\/node\.ign: not valid JSON/,
    ],
    [
      {
        "groups/a.json": '{"profile":"node","selector":{"os":"x"}}',
        "profiles/node.json": PROFILE,
        "generic/t": "{{ exec }}",
      },
      /generic\/t: line 1: \{\{exec\}\} is not allowed/,
    ],
    [
      {
        "groups/a.json": '{"profile":"node","selector":{"mac":"52:54:00:00:00:01"}}',
        "groups/b.json": '{"profile":"node","selector":{"mac":"52-54-00-00-00-01"}}',
        "profiles/node.json": PROFILE,
      },
      /groups\/b\.json: selects the same machines as groups\/a\.json/,
    ],
    [{ "profiles/node.json": PROFILE }, /no groups\/ folder/],
  ];
  for (const [files, message] of cases) {
    const error = await loadError(files);
    assert.match(error.message, message);
  }
});

test("a catch-all group (empty selector) is refused unless allowed", async (t) => {
  const files = { "groups/default.json": '{"profile":"node"}', "profiles/node.json": PROFILE };
  const error = await loadError(files);
  assert.match(error.message, /groups\/default\.json: an empty selector matches every machine/);
  const dir = await dataFolder(files);
  t.after(() => rm(dir, { recursive: true, force: true }));
  const data = await loadBootData(dir, { allowCatchAll: true });
  assert.equal(data.groups[0]?.id, "default");
});
