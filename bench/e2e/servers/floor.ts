/**
 * The Node floor: the least a WebSocket echo on node:net can do. It answers the upgrade (only the
 * key is read), then for every chunk read it unmasks the complete frames it holds into server
 * frames and writes them back with ONE socket write. No validation (UTF-8, opcodes, sizes,
 * fragmentation), no limits, no timeouts, no deflate, no events per message: not a usable
 * server, but what the socket, the event loop and the kernel cost, which every Node server pays.
 * Control frames: a ping is echoed as-is with the pong opcode, a close is answered and the
 * socket ended.
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import * as net from "node:net";
import { announce } from "./lifecycle.js";

// bufferutil (as ws uses it) for unmasking: the floor should not lose to a slow JS loop.
const { mask } = createRequire(import.meta.url)("bufferutil") as {
  mask(source: Uint8Array, key: Uint8Array, output: Uint8Array, offset: number, length: number): void;
};

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const HEAD_END = Buffer.from("\r\n\r\n");

function accept(head: string): string | null {
  const key = /^sec-websocket-key:[ \t]*(\S+)/im.exec(head)?.[1];
  return key === undefined ? null : createHash("sha1").update(key + GUID).digest("base64");
}

function echo(socket: net.Socket): void {
  let pending: Buffer | null = null;
  let open = false;
  socket.on("error", () => {});
  socket.on("data", (chunk: Buffer) => {
    let input = pending === null ? chunk : Buffer.concat([pending, chunk]);
    pending = null;
    if (!open) {
      const end = input.indexOf(HEAD_END);
      if (end < 0) {
        pending = input;
        return;
      }
      const key = accept(input.toString("latin1", 0, end));
      if (key === null) return void socket.destroy();
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${key}\r\n\r\n`);
      open = true;
      input = input.subarray(end + 4);
    }
    // A server frame's header is 4 bytes shorter than the masked client frame's: the output
    // never outgrows the input.
    const output = Buffer.allocUnsafe(input.length);
    let read = 0;
    let written = 0;
    let closing = false;
    while (input.length - read >= 6) {
      const first = input[read]!;
      let length = input[read + 1]! & 0x7f;
      let header = 2;
      if (length === 126) {
        if (input.length - read < 8) break;
        length = input.readUInt16BE(read + 2);
        header = 4;
      } else if (length === 127) {
        if (input.length - read < 14) break;
        length = Number(input.readBigUInt64BE(read + 2));
        header = 10;
      }
      const start = read + header + 4;
      if (input.length < start + length) break;
      const opcode = first & 0x0f;
      output[written] = opcode === 0x9 ? (first & 0xf0) | 0xa : first;
      output[written + 1] = input[read + 1]! & 0x7f;
      input.copy(output, written + 2, read + 2, read + header);
      const key = input.subarray(read + header, start);
      mask(input.subarray(start, start + length), key, output, written + header, length);
      written += header + length;
      read = start + length;
      if (opcode === 0x8) {
        closing = true;
        break;
      }
    }
    if (read < input.length && !closing) pending = Buffer.from(input.subarray(read));
    if (written > 0) socket.write(output.subarray(0, written));
    if (closing) socket.end();
  });
}

const server = net.createServer({ noDelay: true }, echo);
server.listen(0, "127.0.0.1", () => announce(server.address()));
