import assert from "node:assert/strict";
import { test } from "node:test";
import { chooseDataPath, type DataPath, forgetFallbackTold } from "../../../src/services/lb/proxy/data-path.js";
import { handlePath } from "../../../src/services/lb/proxy/handle-path.js";
import { socketPath } from "../../../src/services/lb/proxy/socket-path.js";
import { startLoadBalancer } from "../../../src/services/lb/service.js";
import { startBackends } from "../../peers/tcp-backend.js";
import { greeting, lbConfigFor, recordingEvents, testBothPaths, waitFor } from "./helpers.js";

const paths: Record<DataPath["kind"], DataPath> = { handles: handlePath, sockets: socketPath };

test("the handle path when Node's internals pass their check; the socket path, told once, when they fail", () => {
  forgetFallbackTold();
  const events = recordingEvents();
  assert.equal(chooseDataPath(paths, () => {}, events, undefined).kind, "handles");
  assert.equal(events.log.length, 0);
  const missing = () => {
    throw new Error("no tcp_wrap here");
  };
  assert.equal(chooseDataPath(paths, missing, events, undefined).kind, "sockets");
  assert.equal(chooseDataPath(paths, missing, events, undefined).kind, "sockets");
  const told = events.log.filter((event) => event.kind === "lb.datapath.fallback");
  assert.equal(told.length, 1, "told once, however many listeners start");
  assert.equal(told[0]!.level, "warn");
  assert.match(told[0]!.message, /net\.Socket.*no tcp_wrap here/);
  assert.equal(chooseDataPath(paths, () => {}, events, "sockets").kind, "sockets", "forced");
  assert.throws(() => chooseDataPath(paths, () => {}, events, "sockts"), /must be "handles" or "sockets"/);
});

testBothPaths("the listener moves bytes through the path it says it uses", async (t, path) => {
  const [backend] = await startBackends([{ name: "a", address: "127.0.0.2" }]);
  t.after(() => backend!.kill());
  const events = recordingEvents();
  const lb = await startLoadBalancer(lbConfigFor([backend!]), events);
  t.after(() => lb.close());
  const said = events.log.filter((event) => event.kind === "lb.listener.datapath").map((e) => e.detail?.dataPath);
  assert.deepEqual(said, [path]);
  await waitFor(() => lb.health().healthy, "backend up");
  assert.equal(await greeting(lb.listenerAddress("test")), "a");
});
