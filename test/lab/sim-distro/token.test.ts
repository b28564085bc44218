import assert from "node:assert/strict";
import { test } from "node:test";
import { caHash, formatNodeToken, parseToken, tokenMatches } from "../../../src/lab/sim-distro/token.js";

test("node-token has the real distro's K10<ca sha256>::server:<password> form and parses back", () => {
  const token = formatNodeToken("CA PEM", "secret");
  assert.equal(token, `K10${caHash("CA PEM")}::server:secret`);
  assert.deepEqual(parseToken(token), { caHash: caHash("CA PEM"), password: "secret" });
  assert.deepEqual(parseToken(" secret\n"), { password: "secret" });
});

test("the full token and the bare password both match; anything else does not", () => {
  assert.equal(tokenMatches(formatNodeToken("x", "secret"), "secret"), true);
  assert.equal(tokenMatches("secret", "secret"), true);
  assert.equal(tokenMatches("secret2", "secret"), false);
  assert.equal(tokenMatches("", "secret"), false);
});
