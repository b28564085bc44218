import assert from "node:assert/strict";
import { test } from "node:test";
import { parseQuery, RCODE, readName } from "../../../src/services/dns/wire.js";
import { rawQuery } from "./raw-client.js";

test("names: case folded, escapes kept distinct, pointers only backwards", () => {
  const message = Buffer.from([3, 0x46, 0x6f, 0x4f, 3, 0x61, 0x2e, 0x62, 0, 0xc0, 0, 0xc0, 11]);
  assert.deepEqual(readName(message, 0), { name: "foo.a\\.b", end: 9 });
  assert.deepEqual(readName(message, 9), { name: "foo.a\\.b", end: 11 });
  // A pointer to itself (a loop) and a pointer forward are both malformed.
  assert.equal(readName(message, 11), undefined);
  assert.equal(readName(Buffer.from([0xc0, 2, 0]), 0), undefined);
  // 64-octet labels use reserved bits; names over 255 octets are refused.
  assert.equal(readName(Buffer.from([64, ...Buffer.alloc(64, 0x61), 0]), 0), undefined);
  const long = Buffer.concat([
    ...Array.from({ length: 5 }, () => Buffer.from([60, ...Buffer.alloc(60, 0x61)])),
    Buffer.from([0]),
  ]);
  assert.equal(readName(long, 0), undefined);
});

test("query verdicts", () => {
  const ok = parseQuery(rawQuery(9, "Git.Edge.lan", 1));
  assert.equal(ok.kind, "query");
  assert.equal(ok.kind === "query" && ok.query.name, "git.edge.lan");
  assert.deepEqual(parseQuery(Buffer.alloc(11)), { kind: "drop" });
  assert.deepEqual(parseQuery(rawQuery(1, "a", 1, { flags: 0x8000 })), { kind: "drop" });
  const twoQuestions = rawQuery(1, "a", 1);
  twoQuestions.writeUInt16BE(2, 4);
  assert.equal(
    parseQuery(twoQuestions).kind === "error" && (parseQuery(twoQuestions) as { rcode: number }).rcode,
    RCODE.FORMERR,
  );
  const notify = rawQuery(1, "a", 6, { flags: 4 << 11 });
  assert.equal((parseQuery(notify) as { rcode: number }).rcode, RCODE.NOTIMP);
  const withOpt = Buffer.concat([rawQuery(1, "a", 1), Buffer.from([0, 0, 41, 16, 0, 0, 1, 0, 0, 0, 0])]);
  withOpt.writeUInt16BE(1, 10);
  assert.equal((parseQuery(withOpt) as { rcode: number }).rcode, RCODE.BADVERS);
  const twoOpts = Buffer.concat([withOpt, Buffer.from([0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 0])]);
  twoOpts.writeUInt16BE(2, 10);
  assert.equal((parseQuery(twoOpts) as { rcode: number }).rcode, RCODE.FORMERR);
});
