import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { decryptSops } from "sops-age";
import { parse } from "yaml";
import { newAgeIdentity } from "../../src/sops/age.js";
import { encryptText, openText } from "../../src/sops/document.js";
import { runAirstrap, tempDir } from "../helpers/cli.js";
import { ageBinary, ageDecrypt } from "../peers/age.js";

const SECRET = `# The database login (this comment stays readable, as sops keeps it)
apiVersion: v1
kind: Secret
metadata:
  name: db # the Secret's name
  namespace: apps
type: Opaque
stringData:
  password: correct horse battery staple
  port: 5432
  ratio: 0.25
  enabled: true
  empty: ""
  certificate: |
    -----BEGIN CERTIFICATE-----
    MIIB
    -----END CERTIFICATE-----
data:
  token: c2VjcmV0LXRva2Vu
  list:
    - first
    - second
`;

interface SopsFile {
  sops: {
    age: Array<{ recipient: string; enc: string }>;
    lastmodified: string;
    mac: string;
    version: string;
    encrypted_regex: string;
  };
  stringData: Record<string, string>;
}

async function keyFile(dir: string, name: string) {
  const { identity, recipient } = await newAgeIdentity();
  const path = join(dir, name);
  await writeFile(path, `${identity}\n`, { mode: 0o600 });
  return { identity, recipient, path };
}

test("the file is in sops' format; Debian's age opens every data key stanza; sops-age decrypts the values", async (t) => {
  const age = ageBinary();
  if (!age) return t.skip("age is not installed (Debian package age)");
  const dir = await tempDir(t);
  const [one, two] = [await keyFile(dir, "one.txt"), await keyFile(dir, "two.txt")];
  const text = await encryptText(SECRET, { recipients: [one.recipient, two.recipient], now: new Date() });
  const file = parse(text) as SopsFile;
  assert.equal(file.sops.encrypted_regex, "^(data|stringData)$");
  assert.match(file.sops.lastmodified, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.match(file.sops.version, /^3\.\d+\.\d+$/);
  assert.match(
    file.sops.mac,
    /^ENC\[AES256_GCM,data:[A-Za-z0-9+/=]+,iv:[A-Za-z0-9+/=]{44},tag:[A-Za-z0-9+/=]{24},type:str\]$/,
  );
  assert.match(file.stringData.password!, /^ENC\[AES256_GCM,data:.*,type:str\]$/);
  assert.match(String(file.stringData.port), /type:int\]$/);
  assert.match(String(file.stringData.enabled), /type:bool\]$/);
  assert.equal(file.stringData.empty, "", "empty strings stay as they are, as sops does");
  assert.match(text, /name: db # the Secret's name/, "metadata and its comments stay readable");
  assert.doesNotMatch(text, /correct horse|c2VjcmV0LXRva2Vu|second/);

  const keys = file.sops.age.map((stanza, i) => {
    assert.match(stanza.enc, /^-----BEGIN AGE ENCRYPTED FILE-----\n[\s\S]+\n-----END AGE ENCRYPTED FILE-----\n$/);
    return ageDecrypt(age, stanza.enc, [one, two][i]!.path);
  });
  assert.equal(keys[0]!.length, 32);
  assert.deepEqual(keys[0], keys[1], "every recipient's stanza holds the same data key");

  const plain = parse(SECRET);
  for (const identity of [one.identity, two.identity])
    assert.deepEqual(await decryptSops(text, { secretKey: identity, fileType: "yaml" }), plain);
});

test("a byte changed in any value, any encrypted key, the MAC, lastmodified or a stanza is caught", async (t) => {
  const dir = await tempDir(t);
  const key = await keyFile(dir, "key.txt");
  const text = await encryptText(SECRET, { recipients: [key.recipient], now: new Date() });
  const expected = (await openText(text, [key.identity])).document.toJS();
  const authenticated = new Set<number>();
  // sops' MAC covers values (plaintext ones too), the AAD covers the keys above encrypted values; the
  // keys of readable parts, comments and the recipient names are not covered (not by sops either).
  for (const pattern of [
    /ENC\[[^\]]+\]/g,
    /"\d{4}-[^"]+"/g,
    /(?<=apiVersion: )v1|(?<=kind: )Secret|(?<=name: )db|(?<=namespace: )apps|(?<=type: )Opaque/g,
    /^ {8}[A-Za-z0-9+/=]{20,}$/gm,
    /^ {2}[a-z]+(?=: ENC)/gm,
  ])
    for (const m of text.matchAll(pattern)) for (let i = 0; i < m[0].length; i++) authenticated.add(m.index! + i);
  let caught = 0;
  for (let position = 0; position < text.length; position++) {
    const original = text[position]!;
    const replacement = original === "A" ? "B" : original === "\n" ? "\n" : "A";
    if (replacement === original) continue;
    const changed = text.slice(0, position) + replacement + text.slice(position + 1);
    if (authenticated.has(position)) {
      let outcome: "error" | "same" | "different";
      try {
        const opened = await openText(changed, [key.identity]);
        outcome = JSON.stringify(opened.document.toJS()) === JSON.stringify(expected) ? "same" : "different";
      } catch {
        outcome = "error";
      }
      assert.equal(
        outcome,
        "error",
        `a change at ${position} (${JSON.stringify(text.slice(position - 10, position + 10))}) went unnoticed`,
      );
      caught++;
    }
  }
  assert.ok(caught > 500, `only ${caught} positions checked`);
});

test("a plaintext value changed or moved fails with the MAC error; a missing key names the recipient", async (t) => {
  const dir = await tempDir(t);
  const key = await keyFile(dir, "key.txt");
  const other = await keyFile(dir, "other.txt");
  const file = join(dir, "secret.yaml");
  await writeFile(file, await encryptText(SECRET, { recipients: [key.recipient], now: new Date() }));
  const text = await readFile(file, "utf8");
  await writeFile(join(dir, "renamed.yaml"), text.replace("name: db", "name: dc"));
  const renamed = await runAirstrap(["secrets", "decrypt", join(dir, "renamed.yaml"), "--key", key.path]);
  assert.equal(renamed.code, 1);
  assert.match(renamed.stderr, /MAC mismatch/);
  const noKey = await runAirstrap(["secrets", "decrypt", file, "--key", other.path]);
  assert.equal(noKey.code, 1);
  assert.match(noKey.stderr, new RegExp(`encrypted to ${key.recipient}`));
  assert.doesNotMatch(noKey.stderr + noKey.stdout, /AGE-SECRET-KEY/);
});

test("edit: a changed value is encrypted again with the same key; comments and order are kept", async (t) => {
  const dir = await tempDir(t);
  const key = await keyFile(dir, "key.txt");
  const file = join(dir, "secret.yaml");
  await writeFile(file, await encryptText(SECRET, { recipients: [key.recipient], now: new Date(0) }));
  const before = parse(await readFile(file, "utf8")) as SopsFile;
  const editor = join(dir, "editor.sh");
  await writeFile(editor, `#!/bin/sh\nsed -i 's/correct horse battery staple/tr0ub4dor/' "$1"\n`, { mode: 0o700 });
  const edited = await runAirstrap(["secrets", "edit", file, "--key", key.path], { env: { EDITOR: editor } });
  assert.equal(edited.code, 0, edited.stderr);
  const after = await readFile(file, "utf8");
  const parsed = parse(after) as SopsFile;
  assert.deepEqual(parsed.sops.age, before.sops.age, "the same data key, to the same recipients");
  assert.notEqual(parsed.sops.lastmodified, before.sops.lastmodified);
  const decrypted = await runAirstrap(["secrets", "decrypt", file, "--key", key.path]);
  assert.equal(decrypted.code, 0, decrypted.stderr);
  assert.equal(decrypted.stdout, SECRET.replace("correct horse battery staple", "tr0ub4dor"));
  assert.equal((await stat(file)).mode & 0o777, 0o644);

  const unchanged = await runAirstrap(["secrets", "edit", file, "--key", key.path], { env: { EDITOR: "true" } });
  assert.equal(unchanged.code, 0);
  assert.equal(await readFile(file, "utf8"), after, "no change, no rewrite");
});

test("a comment inside an encrypted section is refused rather than left readable", async (t) => {
  const dir = await tempDir(t);
  const key = await keyFile(dir, "key.txt");
  const file = join(dir, "commented.yaml");
  await writeFile(file, "kind: Secret\nstringData:\n  # the old password was hunter2\n  password: x\n");
  const result = await runAirstrap(["secrets", "encrypt", file, "--age", key.recipient]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /a comment inside stringData would stay readable/);
});

test("openbao.static-seal: a fresh 32-byte key per file, encrypted, named as the seal stanza in its comment names it", async (t) => {
  const dir = await tempDir(t);
  const key = await keyFile(dir, "key.txt");
  const keys: Buffer[] = [];
  for (const name of ["first.yaml", "second.yaml"]) {
    const out = join(dir, name);
    const result = await runAirstrap(["secrets", "template", "openbao.static-seal", "--age", key.recipient, "-o", out]);
    assert.equal(result.code, 0, result.stderr);
    const text = await readFile(out, "utf8");
    const plain = await decryptSops(text, { secretKey: key.identity, fileType: "yaml" });
    assert.deepEqual(plain.metadata, { name: "openbao-static-seal", namespace: "openbao" });
    const [[file, value]] = Object.entries(plain.data as Record<string, string>) as [[string, string]];
    assert.match(text, new RegExp(`current_key += "file:///openbao/unseal/${file.replaceAll(".", "\\.")}"`));
    assert.match(text, new RegExp(`current_key_id = "${file.replace(/\.key$/, "")}"`));
    const raw = Buffer.from(value, "base64");
    assert.equal(raw.length, 32);
    assert.ok(!text.includes(value), "the key is not in the file in clear");
    assert.ok(!(result.stdout + result.stderr).includes(value), "nor in the output");
    keys.push(raw);
  }
  assert.ok(!keys[0]!.equals(keys[1]!), "each file gets a key of its own");
});

test("keygen writes 0600 and never overwrites; templates: sops-age stays plaintext 0600, the others are encrypted", async (t) => {
  const age = ageBinary();
  const dir = await tempDir(t);
  const keyPath = join(dir, "key.txt");
  const made = await runAirstrap(["secrets", "keygen", "-o", keyPath]);
  assert.equal(made.code, 0, made.stderr);
  const recipient = made.stdout.trim();
  assert.match(recipient, /^age1[a-z0-9]{58}$/);
  assert.equal((await stat(keyPath)).mode & 0o777, 0o600);
  assert.equal((await runAirstrap(["secrets", "keygen", "-o", keyPath])).code, 1);
  const identity = (await readFile(keyPath, "utf8")).split("\n").find((l) => l.startsWith("AGE-SECRET-KEY-1"))!;

  const sopsAge = join(dir, "sops-age.yaml");
  const written = await runAirstrap(["secrets", "template", "flux-system.sops-age", "--key", keyPath, "-o", sopsAge]);
  assert.equal(written.code, 0, written.stderr);
  assert.doesNotMatch(written.stdout + written.stderr, /AGE-SECRET-KEY/);
  assert.equal((await stat(sopsAge)).mode & 0o777, 0o600);
  const secret = parse(await readFile(sopsAge, "utf8"));
  assert.deepEqual(secret.metadata, { name: "sops-age", namespace: "flux-system" });
  assert.equal(secret.stringData["age.agekey"], identity);

  for (const name of ["secrets.backup-repo", "secrets.backup-s3"]) {
    const out = join(dir, `${name}.yaml`);
    const result = await runAirstrap(["secrets", "template", name, "--age", recipient, "-o", out]);
    assert.equal(result.code, 0, result.stderr);
    const text = await readFile(out, "utf8");
    const plain = await decryptSops(text, { secretKey: identity, fileType: "yaml" });
    assert.equal(plain.metadata.namespace, "secrets");
    assert.equal(plain.metadata.name, name.split(".")[1]);
    if (age) assert.equal(ageDecrypt(age, (parse(text) as SopsFile).sops.age[0]!.enc, keyPath).length, 32);
  }
});
