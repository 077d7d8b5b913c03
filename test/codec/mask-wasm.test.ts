import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { getDefaultMasker, portableMasker, rotateMaskKey } from "../../codec/mask.js";
import { createWasmMasker, WASM_MIN } from "../../codec/mask-wasm.js";
import { FrameDecoder } from "../../codec/frame-decoder.js";
import { FrameEncoder } from "../../codec/frame-encoder.js";

const wasm = createWasmMasker(portableMasker);

function reference(data: Uint8Array, key: Uint8Array): Uint8Array {
  return data.map((byte, i) => byte ^ key[i & 3]!);
}

describe("WebAssembly SIMD masker", () => {
  it("is available on this Node and is the default", () => {
    expect(wasm).not.toBeNull();
    expect(getDefaultMasker()).not.toBe(portableMasker);
  });

  it("unmasks in place like the byte loop, at every length, alignment and across 64 KiB blocks", () => {
    const key = new Uint8Array([0x9a, 0x01, 0xff, 0x37]);
    for (const length of [0, 1, WASM_MIN - 1, WASM_MIN, WASM_MIN + 1, 1000, 4095, 65536, 65537, 65536 * 3 + 21]) {
      for (const shift of [0, 1, 2, 3, 5]) {
        const backing = new Uint8Array(length + shift + 3);
        for (let i = 0; i < backing.length; i++) backing[i] = (i * 13 + 7) & 0xff;
        const view = backing.subarray(shift, shift + length);
        const expected = reference(view, key);
        const before = backing.slice();
        wasm!.unmask(view, key);
        expect(view).toEqual(expected);
        // Bytes around the view are untouched.
        expect(backing.subarray(0, shift)).toEqual(before.subarray(0, shift));
        expect(backing.subarray(shift + length)).toEqual(before.subarray(shift + length));
      }
    }
  });

  it("masks into another buffer at any offset, leaving the source alone", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 70_000 }), fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.nat(9), (source, key, offset) => {
        const copy = source.slice();
        const target = new Uint8Array(source.length + offset + 2).fill(0xee);
        wasm!.mask(source, key, target, offset);
        expect(source).toEqual(copy);
        expect(target.subarray(offset, offset + source.length)).toEqual(reference(source, key));
        expect(target.subarray(0, offset).every((byte) => byte === 0xee)).toBe(true);
        expect(target.subarray(offset + source.length).every((byte) => byte === 0xee)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it("handles pieces that start mid-frame with a rotated key", () => {
    const key = new Uint8Array([1, 2, 3, 4]);
    const data = new Uint8Array(5000).map((_, i) => i * 3);
    const expected = reference(data, key);
    const rotated = new Uint8Array(4);
    for (const [start, end] of [
      [0, 777],
      [777, 3001],
      [3001, 5000],
    ] as const) {
      wasm!.unmask(data.subarray(start, end), rotateMaskKey(key, start, rotated));
    }
    expect(data).toEqual(expected);
  });

  it("round-trips large frames through the encoder and decoder", () => {
    const masker = wasm!;
    const payload = new Uint8Array(200_000).map((_, i) => (i * 31) ^ (i >> 8));
    const frame = new FrameEncoder({ client: true, masker }).binary(payload);
    const decoder = new FrameDecoder({ client: false, maxMessageSize: 1 << 20, masker });
    for (let at = 0; at < frame.length; at += 65536) decoder.receiveBytes(frame.slice(at, at + 65536));
    const pieces: Uint8Array[] = [];
    for (let f = decoder.nextFrame(); f !== null; f = decoder.nextFrame()) pieces.push(f.payload as Uint8Array);
    const joined = new Uint8Array(payload.length);
    let at = 0;
    for (const piece of pieces) {
      joined.set(piece, at);
      at += piece.length;
    }
    expect(at).toBe(payload.length);
    expect(joined).toEqual(payload);
  });
});
