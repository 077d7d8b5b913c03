import { isUtf8 as nodeIsUtf8 } from "node:buffer";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { ParseFailed } from "../../codec/frame.js";
import { encodeUtf8, Utf8StreamDecoder } from "../../codec/utf8.js";
import { isUtf8, setUtf8Validator, Utf8Validator } from "../../codec/utf8-validation.js";
import { hex, splitAt } from "./frame-helpers.js";

const reference = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
function referenceAccepts(bytes: Uint8Array): boolean {
  try {
    reference.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Bytes likely to sit on UTF-8's edges: leads, continuations, overlongs, surrogates, > U+10FFFF. */
const edgyBytes = fc
  .array(fc.constantFrom(0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff), { maxLength: 14 })
  .map((bytes) => new Uint8Array(bytes));
const someBytes = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }).map((text) => encodeUtf8(text)),
  fc.uint8Array({ maxLength: 40 }),
  edgyBytes,
);
const cuts = fc.array(fc.nat({ max: 60 }), { maxLength: 6 });

/** The index of the piece at which `check` first fails, or -1 when the message is valid. */
function firstFailureOfValidator(pieces: Uint8Array[]): number {
  const validator = new Utf8Validator();
  for (let index = 0; index < pieces.length; index++) {
    if (!validator.check(pieces[index]!, index === pieces.length - 1)) return index;
  }
  return -1;
}

/** The same for the decoding path (TextDecoder in fatal streaming mode: fails as early as possible). */
function firstFailureOfDecoder(pieces: Uint8Array[]): number {
  const decoder = new Utf8StreamDecoder();
  for (let index = 0; index < pieces.length; index++) {
    try {
      decoder.decode(pieces[index]!, index === pieces.length - 1);
    } catch (error) {
      expect(error).toBeInstanceOf(ParseFailed);
      return index;
    }
  }
  return -1;
}

const validators: Array<[string, ((bytes: Uint8Array) => boolean) | null]> = [
  ["the portable default (TextDecoder)", null],
  ["Node's buffer.isUtf8", nodeIsUtf8],
];

describe.each(validators)("UTF-8 validation with %s", (_name, plugged) => {
  afterEach(() => setUtf8Validator(null));

  it("isUtf8 accepts exactly what a fatal TextDecoder accepts", () => {
    setUtf8Validator(plugged);
    for (const text of ["", "41", "c3 a9", "e2 82 ac", "f0 9f 98 80", "c0 80", "c1 bf", "e0 80 80", "ed a0 80", "f4 90 80 80", "f5 80 80 80", "ff", "80", "e2 82", "ef bb bf"]) {
      const bytes = hex(text);
      expect(isUtf8(bytes), text).toBe(referenceAccepts(bytes));
    }
    fc.assert(
      fc.property(someBytes, (bytes) => {
        expect(isUtf8(bytes)).toBe(referenceAccepts(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it("a message split anywhere fails at the same piece as the decoding path, and is valid exactly when whole it is", () => {
    setUtf8Validator(plugged);
    fc.assert(
      fc.property(someBytes, cuts, (bytes, offsets) => {
        const pieces = splitAt(bytes, offsets);
        const failedAt = firstFailureOfValidator(pieces);
        expect(failedAt).toBe(firstFailureOfDecoder(pieces));
        expect(failedAt === -1).toBe(referenceAccepts(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it("fails on the piece holding the first invalid byte, not at the end of the message", () => {
    setUtf8Validator(plugged);
    for (const invalid of ["e0 80", "ed a0", "f4 90", "f0 80", "c0", "c1", "f5", "ff", "80", "e2 41", "f0 9f 41"]) {
      const validator = new Utf8Validator();
      expect(validator.check(hex("41"), false)).toBe(true);
      expect(validator.check(hex(invalid), false), invalid).toBe(false);
    }
    // A code point finished in a later piece, and one that a later piece cannot finish.
    const validator = new Utf8Validator();
    expect(validator.check(hex("f0"), false)).toBe(true);
    expect(validator.check(hex("9f 98"), false)).toBe(true);
    expect(validator.splitCodePoint).toBe(true);
    expect(validator.check(hex("80 41"), false)).toBe(true);
    expect(validator.splitCodePoint).toBe(false);
    expect(validator.check(hex("e2 82"), false)).toBe(true);
    expect(validator.check(new Uint8Array(0), true)).toBe(false);
  });

  it("accepts() answers as check() would and remembers nothing; a refused piece changes nothing", () => {
    setUtf8Validator(plugged);
    const validator = new Utf8Validator();
    expect(validator.check(hex("e2"), false)).toBe(true);
    expect(validator.accepts(hex("82"), false)).toBe(true);
    expect(validator.accepts(hex("41"), false)).toBe(false);
    // Still holding e2: a refused piece did not reset it.
    expect(validator.check(hex("41"), false)).toBe(false);
    expect(validator.splitCodePoint).toBe(true);
    expect(validator.check(hex("82 ac"), true)).toBe(true);
    expect(validator.splitCodePoint).toBe(false);
  });

  it("checkPiece throws ParseFailed 1007 citing RFC 6455 §8.1", () => {
    setUtf8Validator(plugged);
    const validator = new Utf8Validator();
    try {
      validator.checkPiece(hex("41 ff"));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ParseFailed);
      expect((error as ParseFailed).code).toBe(1007);
      expect((error as ParseFailed).message).toContain("RFC 6455 §8.1");
    }
  });
});
