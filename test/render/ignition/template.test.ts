import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidSourceError } from "../../../src/manifest/invalid-source.js";
import { ignitionConfigSchema } from "../../../src/render/ignition/schema.js";
import { renderIgnitionTemplate } from "../../../src/render/ignition/template.js";

const VARIABLES = { NODE_NAME: "k8s-agent-01", IGNITION_VERSION: "3.3.0", SSH_KEY: "ssh-ed25519 AAAA op@laptop" };
const TEMPLATE = `# a small config
ignition:
  version: "{{ IGNITION_VERSION }}"
passwd:
  users:
    - name: core
      sshAuthorizedKeys: [{{ SSH_KEY }}]
storage:
  files:
    - path: /etc/hostname
      mode: 0o644
      contents: { inline: "{{NODE_NAME}}\\n" }
`;

function errorsOf(text: string, variables: Record<string, string> = VARIABLES, version = "3.3.0"): string[] {
  try {
    renderIgnitionTemplate({ origin: "templates/agent.ign.yaml", text }, variables, version);
  } catch (error) {
    assert.ok(error instanceof InvalidSourceError, String(error));
    assert.equal(error.file, "templates/agent.ign.yaml");
    return error.diagnostics.map((d) => `${d.file}:${d.line}:${d.column} ${d.message}`);
  }
  assert.fail("no error");
}

test("placeholders become the variables' values; inline contents become data: URLs", () => {
  const config = JSON.parse(renderIgnitionTemplate({ origin: "t", text: TEMPLATE }, VARIABLES, "3.3.0"));
  assert.deepEqual(config, {
    ignition: { version: "3.3.0" },
    passwd: { users: [{ name: "core", sshAuthorizedKeys: ["ssh-ed25519 AAAA op@laptop"] }] },
    storage: { files: [{ path: "/etc/hostname", mode: 0o644, contents: { source: "data:,k8s-agent-01%0A" } }] },
  });
});

test("a value is never read as YAML: quotes, colons, newlines and braces land in the string", () => {
  const nasty = 'x": 1\n- evil: {{ NODE_NAME }}\n  mode: 0o777 # }';
  const config = JSON.parse(
    renderIgnitionTemplate({ origin: "t", text: TEMPLATE }, { ...VARIABLES, NODE_NAME: nasty }, "3.3.0"),
  );
  assert.equal(config.storage.files.length, 1);
  assert.equal(decodeURIComponent(config.storage.files[0].contents.source.slice("data:,".length)), `${nasty}\n`);
});

test("an unknown variable is an error naming the template file, line and column, with a did-you-mean", () => {
  assert.deepEqual(errorsOf(TEMPLATE.replace("{{NODE_NAME}}", "{{ NODE_NAEM }}").replace("core", "{{ USER }}")), [
    "templates/agent.ign.yaml:6:13 unknown template variable USER",
    "templates/agent.ign.yaml:12:28 unknown template variable NODE_NAEM; did you mean NODE_NAME?",
  ]);
  assert.deepEqual(errorsOf(TEMPLATE.replace("{{NODE_NAME}}", "{{ 1 }}")), [
    "templates/agent.ign.yaml:12:28 a {{ without a variable name and }}",
  ]);
});

test("invalid Ignition is an error at the template line: unknown keys, types, relative paths, a decimal mode", () => {
  assert.deepEqual(
    errorsOf(
      TEMPLATE.replace("mode: 0o644", "mdoe: 0o644")
        .replace("path: /etc/hostname", "path: etc/hostname")
        .replace("- name: core", "- name: core\n      uid: many"),
    ),
    [
      'templates/agent.ign.yaml:7:12 must be a whole number, got "many"',
      'templates/agent.ign.yaml:11:13 must be an absolute path, got "etc/hostname"',
      'templates/agent.ign.yaml:12:7 unknown key "mdoe"; did you mean "mode"?',
    ],
  );
  assert.deepEqual(errorsOf(TEMPLATE.replace("0o644", "0644")), [
    "templates/agent.ign.yaml:11:13 0644 is the decimal number 644 in YAML 1.2, not an octal mode",
  ]);
  assert.deepEqual(errorsOf(TEMPLATE.replace("ignition:\n", "ignition:\n  bad: [\n")), [
    "templates/agent.ign.yaml:4:3 YAML: Flow sequence in block collection must be sufficiently indented and end with a ]",
  ]);
});

test("the version must be the one asked for, and a path may be written only once", () => {
  assert.deepEqual(errorsOf(TEMPLATE, VARIABLES, "3.4.0"), [
    "templates/agent.ign.yaml:3:12 version 3.3.0, but the manifest asks for 3.4.0",
  ]);
  const twice = `${TEMPLATE}  directories:\n    - { path: /etc/hostname, mode: 0o755 }\n`;
  assert.deepEqual(errorsOf(twice), [
    "templates/agent.ign.yaml:14:15 /etc/hostname is written twice (also storage.files[0])",
  ]);
  const both = TEMPLATE.replace('{ inline: "{{NODE_NAME}}\\n" }', '{ inline: "x", source: "data:,y" }');
  assert.deepEqual(errorsOf(both), ["templates/agent.ign.yaml:12:27 inline and source both given"]);
});

test("the schema: 3.4.0's LUKS fields are refused in 3.3.0; units need a type; URLs and hashes Ignition can use", () => {
  const luks = { name: "root", device: "/dev/sda2", discard: true };
  assert.equal(
    ignitionConfigSchema.safeParse({ ignition: { version: "3.4.0" }, storage: { luks: [luks] } }).success,
    true,
  );
  assert.equal(
    ignitionConfigSchema.safeParse({ ignition: { version: "3.3.0" }, storage: { luks: [luks] } }).success,
    false,
  );
  assert.equal(
    ignitionConfigSchema.safeParse({ ignition: { version: "3.3.0" }, systemd: { units: [{ name: "airstrap" }] } })
      .success,
    false,
  );
  const file = (source: string, hash?: string) => ({
    ignition: { version: "3.3.0" },
    storage: { files: [{ path: "/x", contents: { source, ...(hash ? { verification: { hash } } : {}) } }] },
  });
  assert.equal(ignitionConfigSchema.safeParse(file("http://10.0.0.1/x", `sha256-${"a".repeat(64)}`)).success, true);
  assert.equal(ignitionConfigSchema.safeParse(file("ftp://10.0.0.1/x")).success, false);
  assert.equal(ignitionConfigSchema.safeParse(file("http://10.0.0.1/x", "md5-abc")).success, false);
  assert.equal(ignitionConfigSchema.safeParse({ ignition: { version: "3.5.0" } }).success, false);
});
