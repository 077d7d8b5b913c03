import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ParseFailed } from "../../codec/frame.js";
import { decodeShortAscii, decodeUtf8, encodeUtf8, encodeUtf8Into, truncateUtf8, utf8ByteLength, Utf8StreamDecoder } from "../../codec/utf8.js";
import { hex } from "./frame-helpers.js";

function decodePieces(pieces: Uint8Array[]): string {
  const decoder = new Utf8StreamDecoder();
  return pieces.map((piece, index) => decoder.decode(piece, index === pieces.length - 1)).join("");
}

function failureOf(action: () => unknown): ParseFailed {
  try {
    action();
  } catch (error) {
    if (error instanceof ParseFailed) return error;
    throw error;
  }
  throw new Error("expected a ParseFailed");
}

describe("Utf8StreamDecoder", () => {
  it("decodes a string split at every byte into two pieces", () => {
    const text = "aé€😀z";
    const bytes = encodeUtf8(text);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(decodePieces([bytes.slice(0, cut), bytes.slice(cut)])).toBe(text);
    }
  });

  it("decodes a string fed one byte at a time, holding unfinished code points", () => {
    const bytes = encodeUtf8("😀€");
    const decoder = new Utf8StreamDecoder();
    const outputs: string[] = [];
    const pending: number[] = [];
    bytes.forEach((byte, index) => {
      outputs.push(decoder.decode(new Uint8Array([byte]), index === bytes.length - 1));
      pending.push(decoder.pendingBytes);
    });
    expect(outputs).toEqual(["", "", "", "😀", "", "", "€"]);
    expect(pending).toEqual([1, 2, 3, 0, 1, 2, 0]);
  });

  it("fails 1007 on the piece with the first invalid byte, not at the end", () => {
    for (const invalid of ["e0 80", "ed a0", "f4 90", "f0 80", "c0", "c1", "f5", "ff", "80", "e2 41"]) {
      const decoder = new Utf8StreamDecoder();
      decoder.decode(hex("41"), false);
      const failure = failureOf(() => decoder.decode(hex(invalid), false));
      expect(failure.code).toBe(1007);
      expect(failure.message).toBe("text message is not valid UTF-8 (RFC 6455 §8.1)");
    }
  });

  it("fails 1007 when a continuation in a later piece cannot extend the held bytes", () => {
    const decoder = new Utf8StreamDecoder();
    expect(decoder.decode(hex("f0 9f"), false)).toBe("");
    expect(failureOf(() => decoder.decode(hex("41"), false)).code).toBe(1007);
  });

  it("fails 1007 when the message ends inside a code point", () => {
    const decoder = new Utf8StreamDecoder();
    decoder.decode(hex("e2 82"), false);
    expect(failureOf(() => decoder.decode(new Uint8Array(0), true)).code).toBe(1007);
    expect(failureOf(() => new Utf8StreamDecoder().decode(hex("41 e2"), true)).code).toBe(1007);
  });

  it("starts clean after a finished message and after reset", () => {
    const decoder = new Utf8StreamDecoder();
    expect(decoder.decode(encodeUtf8("é"), true)).toBe("é");
    decoder.decode(hex("e2"), false);
    decoder.reset();
    expect(decoder.pendingBytes).toBe(0);
    expect(decoder.decode(hex("41"), true)).toBe("A");
  });

  it("accepts exactly what a whole-input fatal TextDecoder accepts, however the input is split", () => {
    const reference = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary", maxLength: 40 }).map((text) => encodeUtf8(text)),
          fc.uint8Array({ maxLength: 40 }),
          fc.array(fc.constantFrom(0x41, 0x80, 0xbf, 0xc2, 0xe0, 0xed, 0xf0, 0xf4, 0x9f, 0xa0), { maxLength: 12 }).map((bytes) => new Uint8Array(bytes)),
        ),
        fc.array(fc.nat(), { maxLength: 5 }),
        (bytes, cuts) => {
          let expected: string | null;
          try {
            expected = reference.decode(bytes);
          } catch {
            expected = null;
          }
          const offsets = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
          const pieces: Uint8Array[] = [];
          let start = 0;
          for (const offset of offsets) {
            pieces.push(bytes.slice(start, offset));
            start = offset;
          }
          pieces.push(bytes.slice(start));
          let actual: string | null;
          try {
            actual = decodePieces(pieces);
          } catch (error) {
            expect(error).toBeInstanceOf(ParseFailed);
            actual = null;
          }
          expect(actual).toBe(expected);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("decodeShortAscii", () => {
  it("decodes ASCII up to 16 bytes and declines anything else", () => {
    for (let length = 0; length <= 16; length++) {
      const text = "abcdefghijklmnop".slice(0, length);
      expect(decodeShortAscii(encodeUtf8(text))).toBe(text);
    }
    expect(decodeShortAscii(encodeUtf8("abcdefghijklmnopq"))).toBeNull();
    expect(decodeShortAscii(hex("41 80"))).toBeNull();
    expect(decodeShortAscii(encodeUtf8("é"))).toBeNull();
  });
});

describe("decodeUtf8", () => {
  it("decodes valid UTF-8 and fails 1007 naming what was invalid", () => {
    expect(decodeUtf8(encodeUtf8("€ and more than sixteen bytes"))).toBe("€ and more than sixteen bytes");
    const failure = failureOf(() => decodeUtf8(hex("c3 28"), "close reason"));
    expect(failure.code).toBe(1007);
    expect(failure.message).toBe("close reason is not valid UTF-8 (RFC 6455 §8.1)");
  });
});

describe("encodeUtf8Into", () => {
  it("writes at an offset and returns the byte count", () => {
    const target = new Uint8Array(10);
    expect(encodeUtf8Into("é€", target, 2)).toBe(5);
    expect(target.subarray(2, 7)).toEqual(encodeUtf8("é€"));
  });
});

describe("truncateUtf8", () => {
  it("cuts on a code-point boundary", () => {
    const bytes = encodeUtf8("a€b");
    expect(truncateUtf8(bytes, 5)).toBe(bytes);
    expect(truncateUtf8(bytes, 4)).toEqual(encodeUtf8("a€"));
    expect(truncateUtf8(bytes, 3)).toEqual(encodeUtf8("a"));
    expect(truncateUtf8(bytes, 2)).toEqual(encodeUtf8("a"));
    expect(truncateUtf8(bytes, 1)).toEqual(encodeUtf8("a"));
    expect(truncateUtf8(encodeUtf8("😀"), 3)).toEqual(new Uint8Array(0));
  });
});

describe("utf8ByteLength", () => {
  it("equals the length TextEncoder produces, lone surrogates included", () => {
    for (const text of ["", "a", "é", "€", "😀", "\ud800", "\udc00", "a\ud83d", "\ud83dx", "\ud83d\ude00\ud83d"]) {
      expect(utf8ByteLength(text)).toBe(encodeUtf8(text).length);
    }
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 60 }), fc.string({ unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((unit) => String.fromCharCode(unit)), maxLength: 20 }), (first, second) => {
        const text = first + second;
        expect(utf8ByteLength(text)).toBe(encodeUtf8(text).length);
      }),
      { numRuns: 500 },
    );
  });
});
