/**
 * The TFTP floor: the least a Node.js program can do to serve a file lock-step over TFTP. One
 * listening socket; per read request, the file from memory, a connected socket of its own (as
 * airstrap's server and RFC 1350 do), an OACK when blksize is asked for, then one DATA per ACK.
 * No retransmission, no windowsize, no checks beyond the opcode: loopback does not lose, and this
 * is a measuring stick, not a server. Plain JavaScript under plain node, like airstrap's bundle.
 * Usage: node bench/pxe/tftp-floor.mjs ROOT ADDRESS PORT
 */
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [root, address, port] = process.argv.slice(2);
const files = new Map();
const listener = createSocket("udp4");

listener.on("message", (datagram, from) => {
  if (datagram.readUInt16BE(0) !== 1) return;
  const fields = datagram.subarray(2).toString("latin1").split("\0");
  let blksize = 512;
  for (let i = 2; i + 1 < fields.length; i += 2)
    if (fields[i].toLowerCase() === "blksize") blksize = Number(fields[i + 1]);
  let file = files.get(fields[0]);
  if (file === undefined) {
    file = readFileSync(join(root, fields[0]));
    files.set(fields[0], file);
  }
  send(file, blksize, blksize !== 512, from);
});

function send(file, blksize, oack, to) {
  const socket = createSocket("udp4");
  const blocks = Math.floor(file.length / blksize) + 1;
  let current = 0;
  const sendBlock = (block) => {
    const header = Buffer.from([0, 3, (block >> 8) & 0xff, block & 0xff]);
    socket.send([header, file.subarray((block - 1) * blksize, block * blksize)]);
  };
  socket.on("message", (ack) => {
    if (ack.length !== 4 || ack[1] !== 4 || ack.readUInt16BE(2) !== (current & 0xffff)) return;
    if (current === blocks) {
      socket.close();
      return;
    }
    current += 1;
    sendBlock(current);
  });
  socket.bind(0, address, () =>
    socket.connect(to.port, to.address, () => {
      if (oack) socket.send(Buffer.from(`\0\x06blksize\0${blksize}\0`, "latin1"));
      else {
        current = 1;
        sendBlock(1);
      }
    }),
  );
}

listener.bind(Number(port), address, () => console.log(`TFTP floor listening on ${address}:${port}`));
