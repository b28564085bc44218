/** The fast data path: libuv TCP handles without net.Socket (tcp-handle.ts, splice.ts, flow.ts). */
import type net from "node:net";
import type { DataPath, Upstream } from "./data-path.js";
import { Splice } from "./splice.js";
import { acceptHandles, connectHandle, errorName, type TcpHandle } from "./tcp-handle.js";

export const handlePath: DataPath = {
  kind: "handles",
  acceptOn(server: net.Server, accepted, failed) {
    acceptHandles(server, (status, client) => {
      if (status < 0 || client === undefined) failed(`accept failed: ${errorName(status)}`);
      else accepted(client);
    });
  },
  refuse: (client) => (client as TcpHandle).close(),
  splice: (client, hooks, owner) => new Splice(client as TcpHandle, hooks, owner),
  connect(address, port, done) {
    const upstream = connectHandle(address, port, done);
    upstream.setNoDelay(true);
    return upstream;
  },
  abandon: (upstream: Upstream) => (upstream as TcpHandle).close(),
};
