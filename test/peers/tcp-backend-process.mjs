// A test backend in its own process, so tests can kill it (SIGKILL), freeze it (SIGSTOP) or
// restart it like a real server. Reports on stdout as JSON lines; takes commands on stdin.
//   mode "echo":  greets with "<name>\n", echoes; on the client's FIN answers "bye <bytes>\n" and ends.
//                 "shut\n" makes it end its side first and keep reading; "flood\n" writes until told "stop\n".
//   mode "reset": accepts (a TCP check passes) and resets each connection when its first bytes arrive.
//   mode "sink":  says nothing, reads and counts every byte ("sunk" reports the total and the open connections).
//   mode "https": HTTPS; GET /readyz answers the current status (stdin "status 503"); other paths answer "<name>\n".
import { readFileSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import { createInterface } from "node:readline";

const options = JSON.parse(process.argv[2]);
const report = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
let readyzStatus = 200;
let flooded = 0;
let sunk = 0;
const sockets = new Set();

function handleEcho(socket) {
  sockets.add(socket);
  socket.on("close", () => sockets.delete(socket));
  socket.on("error", () => {});
  socket.write(`${options.name}\n`);
  let received = 0;
  let flooding = false;
  const flood = () => {
    const chunk = Buffer.alloc(64 * 1024, 120);
    while (
      flooding &&
      socket.write(chunk, () => {
        flooded += chunk.length;
      })
    );
    if (flooding) socket.once("drain", flood);
  };
  socket.on("data", (data) => {
    received += data.length;
    const text = data.toString();
    if (text.includes("shut\n")) socket.end();
    else if (text.includes("flood\n")) {
      flooding = true;
      flood();
    } else if (text.includes("stop\n")) flooding = false;
    else if (!socket.writableEnded) socket.write(data);
  });
  socket.on("end", () => {
    report({ event: "client-end", received });
    if (!socket.writableEnded) socket.end(`bye ${received}\n`);
  });
}

function handleSink(socket) {
  sockets.add(socket);
  socket.on("close", () => sockets.delete(socket));
  socket.on("error", () => {});
  socket.on("data", (data) => {
    sunk += data.length;
  });
  socket.on("end", () => socket.end());
}

let server;
if (options.mode === "https") {
  server = https.createServer(
    { cert: readFileSync(options.cert), key: readFileSync(options.key) },
    (request, response) => {
      if (request.url === "/readyz") response.writeHead(readyzStatus).end(readyzStatus === 200 ? "ok" : "not ready");
      else response.writeHead(200, { "content-type": "text/plain" }).end(`${options.name}\n`);
    },
  );
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
} else {
  server = net.createServer({ allowHalfOpen: true }, (socket) => {
    if (options.mode === "reset") socket.once("data", () => socket.resetAndDestroy());
    else if (options.mode === "sink") handleSink(socket);
    else handleEcho(socket);
  });
}
server.listen({ host: options.address, port: options.port ?? 0, backlog: options.backlog ?? 511 }, () => {
  report({ event: "listening", port: server.address().port });
});

createInterface({ input: process.stdin }).on("line", (line) => {
  const [command, argument] = line.split(" ");
  if (command === "status") readyzStatus = Number(argument);
  if (command === "flooded") report({ event: "flooded", bytes: flooded });
  if (command === "connections") report({ event: "connections", count: sockets.size });
  if (command === "sunk") report({ event: "sunk", bytes: sunk, connections: sockets.size });
});
process.stdin.on("end", () => process.exit(0));
