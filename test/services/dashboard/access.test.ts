import assert from "node:assert/strict";
import { test } from "node:test";
import { decideAccess, TOKEN_COOKIE } from "../../../src/services/dashboard/access.js";

const url = (path: string) => new URL(path, "http://dashboard");
const TOKEN = "s3cr3t-token-value";

test("without a token everyone may look", () => {
  assert.deepEqual(decideAccess(undefined, url("/"), undefined), { kind: "allowed" });
});

test("with a token: refused without it, or with a wrong one in the URL or the cookie", () => {
  assert.equal(decideAccess(TOKEN, url("/"), undefined).kind, "refused");
  assert.equal(decideAccess(TOKEN, url("/?token=wrong"), undefined).kind, "refused");
  assert.equal(decideAccess(TOKEN, url("/"), `${TOKEN_COOKIE}=wrong`).kind, "refused");
  assert.equal(decideAccess(TOKEN, url("/"), `other=${TOKEN}`).kind, "refused");
});

test("the token in the URL sets an HttpOnly, same-site cookie and leaves the address bar", () => {
  const access = decideAccess(TOKEN, url("/?token=s3cr3t-token-value&x=1"), undefined);
  assert.deepEqual(access, {
    kind: "set-cookie",
    location: "/?x=1",
    cookie: `${TOKEN_COOKIE}=${TOKEN}; Path=/; HttpOnly; SameSite=Strict`,
  });
});

test("the cookie lets the browser in on every later request", () => {
  assert.deepEqual(decideAccess(TOKEN, url("/events"), `a=b; ${TOKEN_COOKIE}=${TOKEN}`), { kind: "allowed" });
});
