/**
 * Test helpers for the frame codec: wire bytes written out by hand, and a frame builder that is
 * deliberately independent of codec/frame-encoder.ts so decoder tests do not trust the encoder.
 */
import { expect } from "vitest";
import { FrameDecoder, type FrameDecoderOptions } from "../../codec/frame-decoder.js";
import { type Frame, ParseFailed } from "../../codec/frame.js";

/** Bytes from a hex string with optional spaces: hex("81 05 48 65") */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, "");
  if (digits.length % 2 !== 0) throw new Error(`odd hex string: ${text}`);
  const bytes = new Uint8Array(digits.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const result = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let at = 0;
  for (const part of parts) {
    result.set(part, at);
    at += part.length;
  }
  return result;
}

export interface RawFrame {
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  opcode: number;
  payload?: Uint8Array;
  /** Masking key; omit for an unmasked frame. */
  maskKey?: Uint8Array;
}

/** Wire bytes of one frame, minimal length encoding, byte-by-byte masking (the reference). */
export function buildFrame(frame: RawFrame): Uint8Array {
  const payload = frame.payload ?? new Uint8Array(0);
  const length = payload.length;
  const head: number[] = [
    (frame.fin === false ? 0 : 0x80) | (frame.rsv1 ? 0x40 : 0) | (frame.rsv2 ? 0x20 : 0) | (frame.rsv3 ? 0x10 : 0) | frame.opcode,
  ];
  const maskBit = frame.maskKey ? 0x80 : 0;
  if (length <= 125) {
    head.push(maskBit | length);
  } else if (length <= 0xffff) {
    head.push(maskBit | 126, length >> 8, length & 0xff);
  } else {
    head.push(maskBit | 127);
    const big = BigInt(length);
    for (let shift = 56n; shift >= 0n; shift -= 8n) head.push(Number((big >> shift) & 0xffn));
  }
  if (frame.maskKey) head.push(...frame.maskKey);
  const out = new Uint8Array(head.length + length);
  out.set(head, 0);
  for (let i = 0; i < length; i++) out[head.length + i] = frame.maskKey ? payload[i]! ^ frame.maskKey[i % 4]! : payload[i]!;
  return out;
}

export function textBytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Feeds `chunks` (copied, since decoding unmasks in place) and collects every frame. */
export function decodeAll(options: FrameDecoderOptions, chunks: Uint8Array[]): Frame[] {
  const decoder = new FrameDecoder(options);
  const frames: Frame[] = [];
  for (const chunk of chunks) {
    decoder.receiveBytes(chunk.slice());
    for (let frame = decoder.nextFrame(); frame !== null; frame = decoder.nextFrame()) frames.push(frame);
  }
  return frames;
}

/** The ParseFailed raised while decoding `chunks`, or a test failure if none is. */
export function decodeFailure(options: FrameDecoderOptions, chunks: Uint8Array[]): ParseFailed {
  try {
    decodeAll(options, chunks);
  } catch (error) {
    if (error instanceof ParseFailed) return error;
    throw error;
  }
  throw new Error("expected a ParseFailed, but decoding succeeded");
}

/** Splits `bytes` at the given offsets (sorted, deduplicated, within bounds). */
export function splitAt(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const cuts = [...new Set(offsets.filter((at) => at > 0 && at < bytes.length))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const cut of cuts) {
    chunks.push(bytes.slice(start, cut));
    start = cut;
  }
  chunks.push(bytes.slice(start));
  return chunks;
}

/** Fast byte comparison for large arrays (toEqual walks them element by element), with a diff on failure. */
export function expectSameBytes(actual: unknown, expected: Uint8Array): void {
  if (!(actual instanceof Uint8Array) || !Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(expected)) {
    expect(actual).toEqual(expected);
  }
}

export const SERVER: FrameDecoderOptions = { client: false, maxMessageSize: 64 * 1024 * 1024 };
export const CLIENT: FrameDecoderOptions = { client: true, maxMessageSize: 64 * 1024 * 1024 };
export const KEY = hex("37 fa 21 3d");
