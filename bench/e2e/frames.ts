/**
 * The bytes the load generator (./load.ts) sends and checks: client frames built once before
 * the run, the opening handshake, and the JSON-like text the deflate workload sends.
 */
import { createHash, randomBytes } from "node:crypto";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** Fixed, not zero: every server must really unmask (a zero key would make unmasking a copy). */
const MASK_KEY = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);

export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;
export const OPCODE_CLOSE = 0x8;

/** A masked, final client frame (RSV1 set for a compressed message). */
export function clientFrame(opcode: number, payload: Uint8Array, rsv1 = false): Buffer {
  const length = payload.length;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + 4 + length);
  frame[0] = 0x80 | (rsv1 ? 0x40 : 0) | opcode;
  if (length < 126) frame[1] = 0x80 | length;
  else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.set(MASK_KEY, header);
  for (let i = 0; i < length; i++) frame[header + 4 + i] = payload[i]! ^ MASK_KEY[i & 3]!;
  return frame;
}

/** A masked close frame with status 1000. */
export function closeFrame(): Buffer {
  return clientFrame(OPCODE_CLOSE, Uint8Array.of(0x03, 0xe8));
}

/** A fresh Sec-WebSocket-Key and the Sec-WebSocket-Accept the server must answer with. */
export function handshakeKey(): { key: string; accept: string } {
  const key = randomBytes(16).toString("base64");
  return { key, accept: createHash("sha1").update(key + GUID).digest("base64") };
}

/** The opening handshake request, as a browser sends it (less the headers servers ignore). */
export function upgradeRequest(port: number, key: string, deflate: boolean): string {
  return (
    `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
    (deflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" : "") +
    "\r\n"
  );
}

/**
 * Checks a response head: "101", the right accept value, and (when offered) permessage-deflate
 * accepted. Returns an error message or null.
 */
export function checkResponseHead(head: string, accept: string, deflate: boolean): string | null {
  if (!head.startsWith("HTTP/1.1 101")) return `not switching protocols: ${JSON.stringify(head.slice(0, 80))}`;
  const value = /^sec-websocket-accept:[ \t]*(\S+)/im.exec(head)?.[1];
  if (value !== accept) return `wrong Sec-WebSocket-Accept ${String(value)}`;
  if (deflate && !/^sec-websocket-extensions:[^\r\n]*permessage-deflate/im.test(head)) return "permessage-deflate was not accepted";
  return null;
}

/**
 * `count` distinct payloads of `size` bytes: printable ASCII for text (valid UTF-8 as is, so no
 * server pays for multi-byte decoding the workload does not ask for), random bytes for binary.
 * Distinct, so that an echo that mixes messages up fails the content check.
 */
export function payloads(count: number, size: number, binary: boolean): Buffer[] {
  const out: Buffer[] = [];
  for (let n = 0; n < count; n++) {
    if (binary) out.push(randomBytes(size));
    else {
      const text = Buffer.allocUnsafe(size);
      for (let i = 0; i < size; i++) text[i] = 0x21 + ((i * 7 + n * 13) % 94);
      out.push(text);
    }
  }
  return out;
}

/** Deterministic JSON-like text of exactly `size` bytes (ASCII), as W6 sends (bench/workloads/deflate.ts). */
export function jsonPayloads(count: number, size: number): Buffer[] {
  let state = 1;
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const words = ["alpha", "beta", "gamma", "delta", "user", "order", "status", "pending", "shipped", "price", "quantity", "sku", "warehouse", "customer", "email", "address", "Berlin", "Paris", "Tokyo", "true", "false", "null"];
  const pick = (): string => words[Math.floor(random() * words.length)]!;
  const out: Buffer[] = [];
  for (let seq = 0; seq < count; seq++) {
    const items: object[] = [];
    let text = "";
    while (text.length < size) {
      items.push({ id: Math.floor(random() * 1e6), name: `${pick()}-${Math.floor(random() * 1000)}`, status: pick(), price: Math.round(random() * 10000) / 100, tags: [pick(), pick()] });
      text = JSON.stringify({ type: "update", seq, items });
    }
    out.push(Buffer.from(text.slice(0, size), "latin1"));
  }
  return out;
}

/** A server frame parsed whole (for the handshake and content checks, not the timed path). */
export interface ServerFrame {
  first: number;
  payload: Buffer;
}

/** Complete unmasked frames at the start of `input`, and how many bytes they took. */
export function parseServerFrames(input: Buffer): { frames: ServerFrame[]; used: number } {
  const frames: ServerFrame[] = [];
  let at = 0;
  while (input.length - at >= 2) {
    if ((input[at + 1]! & 0x80) !== 0) throw new Error("a server frame is masked");
    let length = input[at + 1]! & 0x7f;
    let header = 2;
    if (length === 126) {
      if (input.length - at < 4) break;
      length = input.readUInt16BE(at + 2);
      header = 4;
    } else if (length === 127) {
      if (input.length - at < 10) break;
      length = Number(input.readBigUInt64BE(at + 2));
      header = 10;
    }
    if (input.length - at < header + length) break;
    frames.push({ first: input[at]!, payload: input.subarray(at + header, at + header + length) });
    at += header + length;
  }
  return { frames, used: at };
}
