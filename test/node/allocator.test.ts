import { afterEach, describe, expect, it } from "vitest";
import { allocateFilled, concatBytes, setByteAllocator } from "../../codec/bytes.js";
import { uninitializedAllocator } from "../../src/node/allocator.js";
import { BytesMessage, TextMessage } from "../../src/index.js";
import { openPair } from "../helpers/pair.js";

afterEach(() => setByteAllocator(null));

describe("wsmachine/node: uninitialised allocator", () => {
  it("returns plain Uint8Arrays of the asked length (slice() copies, as callers of the portable API expect)", () => {
    const bytes = uninitializedAllocator(10_000);
    expect(bytes.length).toBe(10_000);
    expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
  });

  it("takes small arrays from Node's pool and large ones from memory of their own", () => {
    const small = uninitializedAllocator(1028);
    const large = uninitializedAllocator(8192);
    expect(small.length).toBe(1028);
    expect(small.buffer.byteLength).toBe(Buffer.poolSize);
    expect(large.buffer.byteLength).toBe(8192);
    expect(Object.getPrototypeOf(small)).toBe(Uint8Array.prototype);
  });

  it("is not asked for arrays V8 keeps on its heap (64 bytes or less), and frames and joins built on it are exact", () => {
    setByteAllocator((length) => new Uint8Array(length).fill(0xa5));
    expect(allocateFilled(64).every((byte) => byte === 0)).toBe(true);
    expect(allocateFilled(65)[0]).toBe(0xa5);
    expect(allocateFilled(8192)[0]).toBe(0xa5);
    // A text frame is written whole over the allocator's garbage.
    const text = "é".repeat(600);
    const textFrame = openPair().server.send(new TextMessage({ data: text }));
    expect(new TextDecoder().decode(textFrame.subarray(4))).toBe(text);
    const { server } = openPair();
    const payload = new Uint8Array(70_000).map((_, i) => i & 0xff);
    const frame = server.send(new BytesMessage({ data: payload }));
    expect(Array.from(frame.subarray(0, 10))).toEqual([0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    expect(Buffer.from(frame.subarray(10)).equals(Buffer.from(payload))).toBe(true);
    const joined = concatBytes([payload.subarray(0, 5000), payload.subarray(5000)]);
    expect(Buffer.from(joined).equals(Buffer.from(payload))).toBe(true);
  });
});
