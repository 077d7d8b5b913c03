/**
 * The Node floor: the least a WebSocket echo on node:net can do. It answers the upgrade (only the
 * key is read), then for every chunk read it unmasks the complete frames it holds into server
 * frames and writes them back with ONE socket write (small frames copied into one buffer; large
 * payloads unmasked in place and written with their header as one corked writev). No validation
 * (UTF-8, opcodes, sizes, fragmentation), no limits, no timeouts, no deflate, no events per
 * message: not a usable server, but what the socket, the event loop and the kernel cost, which
 * every Node server pays. Control frames: a ping is echoed with the pong opcode, a close is
 * answered and the socket ended.
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import * as net from "node:net";
import { announce } from "./lifecycle.js";

// bufferutil (as ws uses it) for unmasking: the floor should not lose to a slow JS loop.
const { mask, unmask } = createRequire(import.meta.url)("bufferutil") as {
  mask(source: Uint8Array, key: Uint8Array, output: Uint8Array, offset: number, length: number): void;
  unmask(buffer: Uint8Array, key: Uint8Array): void;
};

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const HEAD_END = Buffer.from("\r\n\r\n");
/** Payloads from this size on are unmasked in place and written as they are, not copied. */
const IN_PLACE = 16 * 1024;

function accept(head: string): string | null {
  const key = /^sec-websocket-key:[ \t]*(\S+)/im.exec(head)?.[1];
  return key === undefined ? null : createHash("sha1").update(key + GUID).digest("base64");
}

/** Bytes the frame starting at `at` needs in all (header, key, payload), or 0 if its header is incomplete. */
function frameSize(input: Buffer, at: number): number {
  if (input.length - at < 2) return 0;
  const length = input[at + 1]! & 0x7f;
  if (length < 126) return 6 + length;
  if (length === 126) return input.length - at < 4 ? 0 : 8 + input.readUInt16BE(at + 2);
  return input.length - at < 10 ? 0 : 14 + Number(input.readBigUInt64BE(at + 2));
}

function echo(socket: net.Socket): void {
  // Chunks of an incomplete frame, joined only once the frame is complete (a 64 KiB frame arrives
  // in several reads; joining at every read would copy it again and again).
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let needed = 0;
  let open = false;
  socket.on("error", () => {});
  socket.on("data", (chunk: Buffer) => {
    pending.push(chunk);
    pendingLength += chunk.length;
    if (pendingLength < needed) return;
    let input = pending.length === 1 ? chunk : Buffer.concat(pending, pendingLength);
    pending = [];
    pendingLength = 0;
    needed = 0;
    if (!open) {
      const end = input.indexOf(HEAD_END);
      if (end < 0) {
        pending = [input];
        pendingLength = input.length;
        return;
      }
      const key = accept(input.toString("latin1", 0, end));
      if (key === null) return void socket.destroy();
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${key}\r\n\r\n`);
      open = true;
      input = input.subarray(end + 4);
    }
    // First pass: how many bytes the copied part of the output takes (server headers, small
    // payloads), so that a read holding 64 KiB frames does not allocate (and fault in) a buffer
    // the size of the read for a few header bytes.
    let outputSize = 0;
    for (let at = 0; ; ) {
      const size = frameSize(input, at);
      if (size === 0 || input.length - at < size) break;
      const header = input[at + 1]! & 0x7f;
      const headerSize = header < 126 ? 2 : header === 126 ? 4 : 10;
      const length = size - headerSize - 4;
      outputSize += headerSize + (length >= IN_PLACE ? 0 : length);
      at += size;
    }
    const output = Buffer.allocUnsafe(outputSize);
    const parts: Buffer[] = [];
    let flushed = 0;
    let read = 0;
    let written = 0;
    let closing = false;
    for (;;) {
      const size = frameSize(input, read);
      if (size === 0 || input.length - read < size) {
        needed = size;
        break;
      }
      const first = input[read]!;
      const header = input[read + 1]! & 0x7f;
      const headerSize = header < 126 ? 2 : header === 126 ? 4 : 10;
      const start = read + headerSize + 4;
      const length = size - headerSize - 4;
      const opcode = first & 0x0f;
      output[written] = opcode === 0x9 ? (first & 0xf0) | 0xa : first;
      output[written + 1] = header;
      input.copy(output, written + 2, read + 2, read + headerSize);
      const key = input.subarray(read + headerSize, start);
      if (length >= IN_PLACE) {
        const payload = input.subarray(start, start + length);
        unmask(payload, key);
        parts.push(output.subarray(flushed, written + headerSize), payload);
        written += headerSize;
        flushed = written;
      } else {
        mask(input.subarray(start, start + length), key, output, written + headerSize, length);
        written += headerSize + length;
      }
      read = start + length;
      if (opcode === 0x8) {
        closing = true;
        break;
      }
    }
    if (read < input.length && !closing) {
      pending = [input.subarray(read)];
      pendingLength = input.length - read;
    }
    if (written > flushed) parts.push(output.subarray(flushed, written));
    if (parts.length === 1) socket.write(parts[0]!);
    else if (parts.length > 1) {
      // One writev for the whole read.
      socket.cork();
      for (const part of parts) socket.write(part);
      socket.uncork();
    }
    if (closing) socket.end();
  });
}

const server = net.createServer({ noDelay: true }, echo);
server.listen(0, "127.0.0.1", () => announce(server.address()));
