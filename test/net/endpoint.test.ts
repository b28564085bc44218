import assert from "node:assert/strict";
import test from "node:test";
import { OperatorError, UsageError } from "../../src/errors.js";
import { boundEndpoint, formatEndpoint, parseEndpoint } from "../../src/net/endpoint.js";

test("ADDRESS:PORT and [IPv6]:PORT parse; formatting brackets IPv6 and round-trips", () => {
  for (const [text, address, port] of [
    ["10.0.0.1:6443", "10.0.0.1", 6443],
    ["[fd00::1]:53", "fd00::1", 53],
    ["[::]:0", "::", 0],
  ] as const) {
    const endpoint = parseEndpoint(text, "--listen", { allowPortZero: true });
    assert.deepEqual(endpoint, { address, port });
    assert.equal(formatEndpoint(endpoint), text);
  }
  assert.equal(boundEndpoint({ address: "::1", port: 5000 }), "[::1]:5000");
});

test("a default port makes the port optional, bare IPv6 included", () => {
  assert.deepEqual(parseEndpoint("10.0.0.1", "--upstream", { defaultPort: 53 }), { address: "10.0.0.1", port: 53 });
  assert.deepEqual(parseEndpoint("fd00::1", "--upstream", { defaultPort: 53 }), { address: "fd00::1", port: 53 });
  assert.deepEqual(parseEndpoint("[fd00::1]", "--upstream", { defaultPort: 53 }), { address: "fd00::1", port: 53 });
  assert.throws(() => parseEndpoint("10.0.0.1", "--backend"), /--backend: "10.0.0.1" is not ADDRESS:PORT/);
});

test("bad input is an OperatorError naming the flag or field (UsageError on request)", () => {
  const cases: Array<[string, RegExp]> = [
    ["fd00::1:53", /spec.x: "fd00::1:53" is not ADDRESS:PORT/],
    ["host.lan:53", /spec.x: "host.lan" is not an IP address/],
    ["10.0.0.1:70000", /spec.x: port 70000 is out of range/],
    ["10.0.0.1:0", /spec.x: port 0 is out of range/],
    ["[10.0.0.1:53", /not ADDRESS:PORT/],
    ["", /not ADDRESS:PORT/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseEndpoint(text, "spec.x"),
      (error: unknown) => error instanceof OperatorError && message.test(error.message) && error.hint !== undefined,
      text,
    );
  }
  assert.throws(() => parseEndpoint("nope", "--dns-listen", { defaultPort: 53, error: UsageError }), UsageError);
});
