/**
 * The decoder's short-text path: whole final text frames of at most 16 bytes that lie within one
 * chunk become strings straight from the masked bytes. Whatever the path, the events must be
 * those of the general one: same strings, same failures, the same with any chunking.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { FrameDecoder } from "../../codec/frame-decoder.js";
import { FrameEncoder } from "../../codec/frame-encoder.js";
import { ParseFailed, type Frame } from "../../codec/frame.js";
import { decodeShortAscii, decodeShortAsciiMasked } from "../../codec/utf8.js";

function decodeAll(bytes: Uint8Array, chunk: number, client = false): Array<Frame | ParseFailed> {
  const decoder = new FrameDecoder({ client, maxMessageSize: 1 << 20 });
  const out: Array<Frame | ParseFailed> = [];
  try {
    for (let at = 0; at < bytes.length; at += chunk) {
      decoder.receiveBytes(bytes.slice(at, at + chunk));
      for (let frame = decoder.nextFrame(); frame !== null; frame = decoder.nextFrame()) out.push(frame);
    }
  } catch (error) {
    out.push(error as ParseFailed);
  }
  return out;
}

function concatAll(frames: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const frame of frames) {
    out.set(frame, at);
    at += frame.length;
  }
  return out;
}

describe("decodeShortAsciiMasked", () => {
  it("equals unmasking then decodeShortAscii, for every length up to 17 and any key", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 17 }), fc.integer(), fc.nat(5), (plain, keyWord, offset) => {
        const key = [keyWord & 0xff, (keyWord >>> 8) & 0xff, (keyWord >>> 16) & 0xff, keyWord >>> 24];
        const masked = new Uint8Array(offset + plain.length + 2);
        plain.forEach((byte, i) => (masked[offset + i] = byte ^ key[i & 3]!));
        const before = masked.slice();
        expect(decodeShortAsciiMasked(masked, offset, plain.length, keyWord)).toBe(decodeShortAscii(plain));
        expect(masked).toEqual(before); // never writes
      }),
    );
  });
});

describe("short text frames", () => {
  const texts = ["", "a", "hi!", "0123456789abcdef", "0123456789abcdefg", "é", "ascii then é", "\u007f\u0000", "€uro"];

  it.each([false, true])("decode like the general path, masked (server) or not (client: %s), in any chunking", (client) => {
    const encoder = new FrameEncoder({ client: !client });
    const frames = texts.map((text) => encoder.text(text));
    const wire = concatAll(frames);
    for (const chunk of [1, 2, 3, 7, 16, 64, wire.length]) {
      const events = decodeAll(wire, chunk, client);
      const joined: string[] = [];
      let current = "";
      for (const event of events) {
        expect(event).not.toBeInstanceOf(ParseFailed);
        const frame = event as Frame;
        current += frame.payload as string;
        if (frame.messageFinished) {
          joined.push(current);
          current = "";
        }
      }
      expect(joined).toEqual(texts);
    }
  });

  it("a short ASCII final fragment ends a message whose earlier fragment held part of a code point", () => {
    const encoder = new FrameEncoder({ client: true });
    const euro = new TextEncoder().encode("€"); // e2 82 ac
    // First fragment: "x" + e2 82 (unfinished code point), sent as binary-level text bytes.
    const first = encoder.text("x", false);
    const wire = concatAll([first]);
    // Build the continuation frames by hand: unmasked would be refused by a server, so mask.
    const decoder = new FrameDecoder({ client: false, maxMessageSize: 1000 });
    decoder.receiveBytes(wire);
    expect((decoder.nextFrame()!.payload as string)).toBe("x");
    const key = [1, 2, 3, 4];
    const cont = (payload: number[], fin: boolean): Uint8Array =>
      Uint8Array.from([fin ? 0x80 : 0x00, 0x80 | payload.length, ...key, ...payload.map((b, i) => b ^ key[i & 3]!)]);
    decoder.receiveBytes(cont([euro[0]!, euro[1]!], false));
    const held = decoder.nextFrame();
    expect(held === null || held.payload === "").toBe(true);
    decoder.receiveBytes(cont([euro[2]!, 0x21], true));
    const last = decoder.nextFrame()!;
    expect(last.payload).toBe("€!");
    expect(last.messageFinished).toBe(true);
  });

  it("invalid UTF-8 in a short frame still fails with 1007", () => {
    const key = [9, 8, 7, 6];
    const payload = [0x61, 0xff, 0x62];
    const frame = Uint8Array.from([0x81, 0x80 | payload.length, ...key, ...payload.map((b, i) => b ^ key[i & 3]!)]);
    const events = decodeAll(frame, frame.length);
    expect(events.at(-1)).toBeInstanceOf(ParseFailed);
    expect((events.at(-1) as ParseFailed).code).toBe(1007);
  });
});
