/**
 * Wire bytes for the conformance suite, written from RFC 6455 §5.2 without the codec: what a
 * peer puts on the wire (frames, handshakes), and a reader for what our connection writes back.
 * Deliberately independent of codec/ so the suite does not test the codec against itself.
 */
import { createHash } from "node:crypto";

export type Role = "client" | "server";
export const ROLES: readonly Role[] = ["server", "client"];

export const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;
/** RSV bits as the 3-bit field of the first byte: RSV1 = 4, RSV2 = 2, RSV3 = 1. */
export const RSV1 = 4;
export const RSV2 = 2;
export const RSV3 = 1;

const utf8 = new TextEncoder();

export function bytes(data: string | Uint8Array | readonly number[]): Uint8Array {
  if (typeof data === "string") return utf8.encode(data);
  return data instanceof Uint8Array ? data : Uint8Array.from(data);
}

/** Bytes from hex with optional spaces: hex("ce ba e1"). */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, "");
  if (digits.length % 2 !== 0) throw new Error(`odd hex: ${text}`);
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("hex");
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return concatAll(parts);
}

export function concatAll(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export interface FrameSpec {
  opcode: number;
  payload?: string | Uint8Array | readonly number[];
  /** Default true. */
  fin?: boolean;
  /** RSV field, 0–7 (RSV1 = 4). */
  rsv?: number;
  /** Force a length encoding; default the minimal one (RFC 6455 §5.2). */
  lengthForm?: 7 | 16 | 64;
  /** Announce this length instead of the payload's (for hostile headers); payload bytes are still written. */
  announce?: bigint;
  /** Masking key; default: a fixed non-zero key when the frame must be masked. */
  maskKey?: Uint8Array;
}

/** A non-zero key, so an endpoint that forgot to unmask would see garbage. */
export const DEFAULT_KEY = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);

/** One frame's bytes; masked when `masked`, byte by byte (the reference masking). */
export function frame(spec: FrameSpec, masked: boolean): Uint8Array {
  const payload = bytes(spec.payload ?? []);
  const length = spec.announce ?? BigInt(payload.length);
  const form = spec.lengthForm ?? (length <= 125n ? 7 : length <= 0xffffn ? 16 : 64);
  const head: number[] = [((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | spec.opcode];
  const maskBit = masked ? 0x80 : 0;
  if (form === 7) {
    head.push(maskBit | Number(length));
  } else if (form === 16) {
    head.push(maskBit | 126, Number(length >> 8n) & 0xff, Number(length) & 0xff);
  } else {
    head.push(maskBit | 127);
    for (let shift = 56n; shift >= 0n; shift -= 8n) head.push(Number((length >> shift) & 0xffn));
  }
  const key = spec.maskKey ?? DEFAULT_KEY;
  if (masked) head.push(...key);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  for (let i = 0; i < payload.length; i++) out[head.length + i] = masked ? payload[i]! ^ key[i & 3]! : payload[i]!;
  return out;
}

/** A frame as the peer of a `role` endpoint sends it: a client's peer (a server) does not mask. */
export function peerFrame(role: Role, spec: FrameSpec): Uint8Array {
  return frame(spec, role === "server");
}

/** Several peer frames back to back. */
export function peerFrames(role: Role, ...specs: FrameSpec[]): Uint8Array {
  return concatAll(specs.map((spec) => peerFrame(role, spec)));
}

export function closeBody(code: number, reason: string | Uint8Array = ""): Uint8Array {
  return concat(Uint8Array.of(code >> 8, code & 0xff), bytes(reason));
}

export interface ReadFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Uint8Array;
}

/** Reads every frame in bytes our connection wrote (whole frames only; unmasks). */
export function readFrames(data: Uint8Array): ReadFrame[] {
  const frames: ReadFrame[] = [];
  let at = 0;
  while (at < data.length) {
    const first = data[at]!;
    const second = data[at + 1]!;
    let length = second & 0x7f;
    at += 2;
    if (length === 126) {
      length = (data[at]! << 8) | data[at + 1]!;
      at += 2;
    } else if (length === 127) {
      length = Number(new DataView(data.buffer, data.byteOffset + at, 8).getBigUint64(0));
      at += 8;
    }
    const masked = (second & 0x80) !== 0;
    const key = masked ? data.slice(at, at + 4) : null;
    if (masked) at += 4;
    const payload = data.slice(at, at + length);
    if (payload.length !== length) throw new Error(`truncated frame: ${length} announced, ${payload.length} present`);
    if (key !== null) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
    frames.push({ fin: (first & 0x80) !== 0, rsv: (first >> 4) & 7, opcode: first & 0x0f, masked, payload });
    at += length;
  }
  return frames;
}

/** The close code (1005 for none) and reason of a close frame our connection wrote. */
export function readClose(data: Uint8Array): { code: number; reason: string; masked: boolean } {
  const frames = readFrames(data);
  if (frames.length !== 1 || frames[0]!.opcode !== OP.CLOSE) throw new Error(`not one close frame: ${toHex(data)}`);
  const { payload, masked } = frames[0]!;
  if (payload.length === 0) return { code: 1005, reason: "", masked };
  return { code: (payload[0]! << 8) | payload[1]!, reason: new TextDecoder().decode(payload.subarray(2)), masked };
}

// -- handshake ---------------------------------------------------------------------------------

/** RFC 6455 §1.3's example key and its accept token. */
export const SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ==";

export function acceptToken(key: string): string {
  return createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
}

/** A client's upgrade request, as a browser would write it. */
export function upgradeRequest(extraHeaders: readonly string[] = [], key = SAMPLE_KEY): Uint8Array {
  const lines = [
    "GET /chat HTTP/1.1",
    "Host: server.example.com",
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
    ...extraHeaders,
  ];
  return bytes(lines.join("\r\n") + "\r\n\r\n");
}

/** A server's 101 response to the request whose key is `key`. */
export function upgradeResponse(key: string, extraHeaders: readonly string[] = []): Uint8Array {
  const lines = [
    "HTTP/1.1 101 Switching Protocols",
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Accept: ${acceptToken(key)}`,
    ...extraHeaders,
  ];
  return bytes(lines.join("\r\n") + "\r\n\r\n");
}

/** The value of header `name` in an HTTP head written by our connection, or null. */
export function headerValue(head: Uint8Array, name: string): string | null {
  const text = new TextDecoder("latin1").decode(head);
  const end = text.indexOf("\r\n\r\n");
  for (const line of text.slice(0, end).split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (line.slice(0, colon).toLowerCase() === name.toLowerCase()) return line.slice(colon + 1).trim();
  }
  return null;
}

/** A deterministic pseudo-random byte source (xorshift32), for large payloads without Math.random. */
export function pseudoRandomBytes(length: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
