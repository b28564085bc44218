/**
 * The floor for any TCP proxy on this Node: accept, connect to the one backend, copy each read to
 * the other side, close both at the first end of stream — on the same libuv handles the balancer
 * uses, with no health checks, half-close, timeouts, limits, metrics or retries. Whatever a short
 * connection costs it is what Node's handles cost, and no proxy written on them can go below that.
 * The benchmark runs it beside the balancer to show how much of the balancer's cost per connection
 * is Node's own. Not a product.
 *
 * Usage: node --import tsx bench/lb/node-floor.ts <listen addr:port> <backend addr:port>
 */
import net from "node:net";
import {
  acceptHandles,
  connectHandle,
  type TcpHandle,
  tcpBindings,
  type WriteRequest,
} from "../../src/services/lb/proxy/tcp-handle.js";

const [listen, backend] = process.argv.slice(2).map((endpoint) => {
  const at = endpoint!.lastIndexOf(":");
  return { address: endpoint!.slice(0, at), port: Number(endpoint!.slice(at + 1)) };
});
const { newWriteRequest, readOffset, readResult } = tcpBindings();

function forward(from: TcpHandle, to: TcpHandle, closeBoth: () => void): void {
  from.onread = (arrayBuffer) => {
    const count = readResult();
    if (count <= 0 || arrayBuffer === undefined) {
      if (count < 0) closeBoth();
      return undefined;
    }
    const request: WriteRequest = newWriteRequest();
    request.chunk = new Uint8Array(arrayBuffer, readOffset(), count);
    request.oncomplete = () => {
      request.chunk = undefined;
    };
    if (to.writeBuffer(request, request.chunk) !== 0) closeBoth();
    return undefined;
  };
  from.readStart();
}

const server = net.createServer();
server.listen(listen!.port, listen!.address, () => {
  acceptHandles(server, (status, client) => {
    if (status < 0 || client === undefined) return;
    let closed = false;
    const closeBoth = () => {
      if (closed) return;
      closed = true;
      client.close();
      upstream.close();
    };
    const upstream = connectHandle(backend!.address, backend!.port, (connected) => {
      if (connected !== 0) return closeBoth();
      forward(client, upstream, closeBoth);
      forward(upstream, client, closeBoth);
    });
  });
});
process.on("SIGTERM", () => process.exit(0));
