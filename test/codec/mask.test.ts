import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { FrameDecoder } from "../../codec/frame-decoder.js";
import { FrameEncoder } from "../../codec/frame-encoder.js";
import { fillRandomMaskKey, getDefaultMasker, getMasker, type Masker, portableMasker, rotateMaskKey, setMasker } from "../../codec/mask.js";
import { expectSameBytes, hex } from "./frame-helpers.js";

function referenceMask(source: Uint8Array, key: Uint8Array): Uint8Array {
  return source.map((byte, i) => byte ^ key[i & 3]!);
}

describe("portableMasker", () => {
  it("masks the RFC 6455 §5.7 example", () => {
    const target = new Uint8Array(5);
    portableMasker.mask(new TextEncoder().encode("Hello"), hex("37 fa 21 3d"), target, 0);
    expect(target).toEqual(hex("7f 9f 4d 51 58"));
  });

  it("matches a byte-by-byte reference for any length, alignment and target offset", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2000 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 7 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        (length, sourceShift, targetShift, key) => {
          const source = new Uint8Array(length + sourceShift).subarray(sourceShift);
          for (let i = 0; i < length; i++) source[i] = (i * 37 + 11) & 0xff;
          const expected = referenceMask(source, key);
          const target = new Uint8Array(length + targetShift + 8);
          portableMasker.mask(source, key, target, targetShift);
          expectSameBytes(target.subarray(targetShift, targetShift + length), expected);
          // Bytes around the target region are untouched.
          expect(target.subarray(0, targetShift).every((byte) => byte === 0)).toBe(true);
          expect(target.subarray(targetShift + length).every((byte) => byte === 0)).toBe(true);
          // The source is left alone when masking into another buffer.
          expect(source.every((byte, i) => byte === ((i * 37 + 11) & 0xff))).toBe(true);

          portableMasker.unmask(source, key);
          expectSameBytes(source, expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("masks 16 MiB at every alignment", () => {
    const size = 16 * 1024 * 1024;
    const key = hex("a1 b2 c3 d4");
    const backing = new Uint8Array(size + 4);
    for (let i = 0; i < backing.length; i += 997) backing[i] = i & 0xff;
    for (const shift of [0, 1, 2, 3]) {
      const view = backing.slice(shift, shift + size - shift);
      const expected = referenceMask(view, key);
      portableMasker.unmask(view, key);
      expectSameBytes(view, expected);
    }
  });

  it("is its own inverse", () => {
    const data = new Uint8Array(1000).map((_, i) => i);
    const key = hex("01 80 ff 7f");
    portableMasker.unmask(data, key);
    portableMasker.unmask(data, key);
    expect(data).toEqual(new Uint8Array(1000).map((_, i) => i));
  });
});

describe("rotateMaskKey", () => {
  it("gives the key as seen from a payload offset", () => {
    const key = hex("01 02 03 04");
    expect(rotateMaskKey(key, 0, new Uint8Array(4))).toEqual(hex("01 02 03 04"));
    expect(rotateMaskKey(key, 1, new Uint8Array(4))).toEqual(hex("02 03 04 01"));
    expect(rotateMaskKey(key, 6, new Uint8Array(4))).toEqual(hex("03 04 01 02"));
  });

  it("lets a payload be masked in pieces", () => {
    const key = hex("9a 3c 55 e0");
    const data = new Uint8Array(103).map((_, i) => i * 3);
    const expected = referenceMask(data, key);
    const rotated = new Uint8Array(4);
    for (const [start, end] of [[0, 5], [5, 6], [6, 50], [50, 103]] as const) {
      portableMasker.unmask(data.subarray(start, end), rotateMaskKey(key, start, rotated));
    }
    expect(data).toEqual(expected);
  });
});

describe("fillRandomMaskKey", () => {
  it("draws different keys across more than one pool of randomness", () => {
    const seen = new Set<number>();
    const key = new Uint8Array(4);
    for (let i = 0; i < 5000; i++) {
      fillRandomMaskKey(key);
      seen.add(new DataView(key.buffer).getUint32(0));
    }
    // 5000 random 32-bit values collide with probability about 3e-3.
    expect(seen.size).toBeGreaterThan(4990);
  });
});

describe("setMasker", () => {
  afterEach(() => setMasker(null));

  it("plugs a masker into codecs created afterwards, and null restores the default one", () => {
    let calls = 0;
    const counting: Masker = {
      mask(source, key, target, offset) {
        calls++;
        portableMasker.mask(source, key, target, offset);
      },
      unmask(buffer, key) {
        calls++;
        portableMasker.unmask(buffer, key);
      },
    };
    setMasker(counting);
    expect(getMasker()).toBe(counting);
    const encoder = new FrameEncoder({ client: true });
    const decoder = new FrameDecoder({ client: false, maxMessageSize: 1000 });
    decoder.receiveBytes(encoder.binary(hex("01 02 03")));
    expect(decoder.nextFrame()!.payload).toEqual(hex("01 02 03"));
    expect(calls).toBe(2);
    setMasker(null);
    expect(getMasker()).toBe(getDefaultMasker());
  });
});
