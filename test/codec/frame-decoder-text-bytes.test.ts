/**
 * The frame decoder's `textAsBytes`: text payloads handed out as validated UTF-8 bytes. Checked
 * against the decoding path (strings) on the same wire bytes, however they are chunked.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FrameDecoder, type FrameDecoderOptions } from "../../codec/frame-decoder.js";
import { Opcode, ParseFailed, type Frame } from "../../codec/frame.js";
import { encodeUtf8 } from "../../codec/utf8.js";
import { buildFrame, concatBytes, decodeAll, hex, KEY, SERVER, splitAt, textBytes } from "./frame-helpers.js";

const BYTES: FrameDecoderOptions = { ...SERVER, textAsBytes: true };

/** Wire bytes of a text message cut into fragments at `cuts` (which may split code points). */
function textMessage(payload: Uint8Array, cuts: readonly number[]): Uint8Array {
  const pieces = splitAt(payload, cuts);
  return concatBytes(
    ...pieces.map((piece, index) =>
      buildFrame({ opcode: index === 0 ? Opcode.TEXT : Opcode.CONTINUATION, fin: index === pieces.length - 1, payload: piece, maskKey: KEY }),
    ),
  );
}

interface Outcome {
  /** Each completed message's bytes (bytes mode) or its text's UTF-8 (string mode). */
  messages: Uint8Array[];
  failure: number | null;
}

/** Decodes `chunks` and joins pieces into messages; text payloads are compared as UTF-8 bytes. */
function outcome(options: FrameDecoderOptions, chunks: Uint8Array[]): Outcome {
  const decoder = new FrameDecoder(options);
  const messages: Uint8Array[] = [];
  let pieces: Uint8Array[] = [];
  const take = (frame: Frame): void => {
    expect(frame.opcode).toBe(Opcode.TEXT);
    if (options.textAsBytes) expect(frame.payload).toBeInstanceOf(Uint8Array);
    else expect(typeof frame.payload).toBe("string");
    pieces.push(typeof frame.payload === "string" ? encodeUtf8(frame.payload) : (frame.payload as Uint8Array));
    if (frame.messageFinished) {
      messages.push(concatBytes(...pieces));
      pieces = [];
    }
  };
  try {
    for (const chunk of chunks) {
      decoder.receiveBytes(chunk.slice());
      for (let frame = decoder.nextFrame(); frame !== null; frame = decoder.nextFrame()) take(frame);
    }
  } catch (error) {
    if (!(error instanceof ParseFailed)) throw error;
    return { messages, failure: error.code };
  }
  return { messages, failure: null };
}

const payloadArbitrary = fc.oneof(
  fc.string({ unit: "binary", maxLength: 30 }).map((text) => encodeUtf8(text)),
  fc.string({ unit: "grapheme", maxLength: 30 }).map((text) => encodeUtf8(text)),
  // Mostly valid with an occasional broken byte.
  fc.tuple(fc.string({ unit: "binary", maxLength: 20 }), fc.constantFrom(0x80, 0xc0, 0xed, 0xf5, 0xff), fc.nat()).map(([text, bad, at]) => {
    const bytes = encodeUtf8(text);
    const broken = new Uint8Array(bytes.length + 1);
    const cut = bytes.length === 0 ? 0 : at % bytes.length;
    broken.set(bytes.subarray(0, cut));
    broken[cut] = bad;
    broken.set(bytes.subarray(cut), cut + 1);
    return broken;
  }),
);
const messageArbitrary = fc.tuple(payloadArbitrary, fc.array(fc.nat({ max: 40 }), { maxLength: 3 }));

describe("FrameDecoder textAsBytes", () => {
  it("hands out a text frame's payload as its bytes, a view of the received chunk (no decoding, no copy)", () => {
    const decoder = new FrameDecoder(BYTES);
    const chunk = buildFrame({ opcode: Opcode.TEXT, payload: textBytes("héllo, wörld"), maskKey: KEY });
    decoder.receiveBytes(chunk);
    const frame = decoder.nextFrame()!;
    expect(frame.opcode).toBe(Opcode.TEXT);
    expect(frame.payload).toEqual(textBytes("héllo, wörld"));
    expect((frame.payload as Uint8Array).buffer).toBe(chunk.buffer);
  });

  it("short ASCII text comes as bytes too (the string fast path is not taken)", () => {
    const [frame] = decodeAll(BYTES, [buildFrame({ opcode: Opcode.TEXT, payload: textBytes("hi"), maskKey: KEY })]);
    expect(frame!.payload).toEqual(textBytes("hi"));
  });

  it("fails 1007 on the chunk holding invalid UTF-8, before the frame's rest arrives", () => {
    const decoder = new FrameDecoder(BYTES);
    const frame = buildFrame({ opcode: Opcode.TEXT, payload: concatBytes(textBytes("a".repeat(100)), hex("ff"), textBytes("b".repeat(1000))), maskKey: KEY });
    decoder.receiveBytes(frame.slice(0, 300));
    expect(() => decoder.nextFrame()).toThrow(ParseFailed);
    expect(decoder.failure?.code).toBe(1007);
  });

  it("any message stream, fragmented and chunked anywhere, gives the bytes the string path decodes, and fails where it fails", () => {
    for (const assembleMessages of [false, true]) {
      fc.assert(
        fc.property(fc.array(messageArbitrary, { minLength: 1, maxLength: 4 }), fc.array(fc.nat({ max: 400 }), { maxLength: 8 }), (messages, chunkCuts) => {
          const wire = concatBytes(...messages.map(([payload, cuts]) => textMessage(payload, cuts)));
          const chunks = splitAt(wire, chunkCuts);
          const asBytes = outcome({ ...BYTES, assembleMessages }, chunks);
          const asStrings = outcome({ ...SERVER, assembleMessages }, chunks);
          expect(asBytes.failure).toBe(asStrings.failure);
          expect(asBytes.messages).toEqual(asStrings.messages);
          if (asBytes.failure === null) expect(asBytes.messages).toEqual(messages.map(([payload]) => payload));
        }),
        { numRuns: 400 },
      );
    }
  });

  it("assembled, a fragmented text message comes whole, its code points joined across fragments", () => {
    const payload = textBytes("😀€é-".repeat(50));
    const frames = decodeAll({ ...BYTES, assembleMessages: true }, splitAt(textMessage(payload, [1, 2, 101, 102, 103]), [7, 50, 51, 120]));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.payload).toEqual(payload);
    expect(frames[0]!.messageFinished).toBe(true);
  });
});
