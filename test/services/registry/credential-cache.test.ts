import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { createCredentialCache } from "../../../src/services/credential-cache.js";
import { createAuthorizer } from "../../../src/services/registry/auth.js";
import { RegistryError } from "../../../src/services/registry/errors.js";
import { tempDir } from "./harness.js";

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

test("a remembered header counts only while it is fresh and its htpasswd entry is unchanged", () => {
  let clock = 0;
  const cache = createCredentialCache({ ttlMs: 1000, maxEntries: 2, now: () => clock });
  const entries = new Map([["alice", "$2y$05$aaaa"]]);
  const header = basic("alice", "right");
  cache.remember(header, "alice", "$2y$05$aaaa");
  assert.equal(
    cache.accepted(header, (user) => entries.get(user)),
    true,
  );
  assert.equal(
    cache.accepted(basic("alice", "wrong"), (user) => entries.get(user)),
    false,
  );
  entries.set("alice", "$2y$05$bbbb");
  assert.equal(
    cache.accepted(header, (user) => entries.get(user)),
    false,
    "changed entry",
  );
  entries.set("alice", "$2y$05$aaaa");
  assert.equal(
    cache.accepted(header, (user) => entries.get(user)),
    false,
    "dropped once it failed",
  );
  cache.remember(header, "alice", "$2y$05$aaaa");
  clock = 1000;
  assert.equal(
    cache.accepted(header, (user) => entries.get(user)),
    false,
    "expired",
  );
});

test("the credential cache keeps at most maxEntries, dropping the oldest", () => {
  const cache = createCredentialCache({ ttlMs: 60_000, maxEntries: 2 });
  const entry = () => "$2y$05$same";
  for (const name of ["a", "b", "c"]) cache.remember(basic(name, "p"), name, "$2y$05$same");
  assert.equal(cache.accepted(basic("a", "p"), entry), false);
  assert.equal(cache.accepted(basic("b", "p"), entry), true);
  assert.equal(cache.accepted(basic("c", "p"), entry), true);
});

test("after a right password, neither a wrong one nor a changed htpasswd file is accepted", async (t) => {
  const dir = await tempDir(t, "credential-cache");
  const file = join(dir, "htpasswd");
  const htpasswd = (...args: string[]) => execFileSync("htpasswd", ["-B", "-b", ...args], { stdio: "pipe" });
  htpasswd("-c", file, "pusher", "first-pass");
  const authorizer = await createAuthorizer({ htpasswdFile: file, anonymousPullNetworks: [] });
  const push = (authorization: string) =>
    authorizer.check({ method: "POST", remoteAddress: "10.77.0.5", authorization }).then(
      () => "accepted",
      (error: RegistryError) => {
        assert.ok(error instanceof RegistryError);
        return error.code;
      },
    );
  assert.equal(await push(basic("pusher", "first-pass")), "accepted");
  assert.equal(await push(basic("pusher", "first-pass")), "accepted");
  assert.equal(await push(basic("pusher", "wrong-pass")), "UNAUTHORIZED");
  assert.equal(await push(basic("other", "first-pass")), "UNAUTHORIZED");
  htpasswd(file, "pusher", "second-pass");
  assert.equal(await push(basic("pusher", "first-pass")), "UNAUTHORIZED", "old password after the file changed");
  assert.equal(await push(basic("pusher", "second-pass")), "accepted");
  execFileSync("htpasswd", ["-D", file, "pusher"], { stdio: "pipe" });
  assert.equal(await push(basic("pusher", "second-pass")), "UNAUTHORIZED", "user removed from the file");
});
