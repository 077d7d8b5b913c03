/**
 * ReceivedBytes keeps its array of chunks (free slots included) from one message to the next, up
 * to RETAINED_SLOTS_MAX slots, and compacts it in place; and what the decoder hands out stays
 * as it was handed out whatever arrives later (a payload unmasked in place in a received chunk
 * is a view of that chunk: the library never writes to it again).
 */
import { describe, expect, it } from "vitest";
import { ReceivedBytes } from "../../codec/received-bytes.js";
import { FrameDecoder } from "../../codec/frame-decoder.js";
import { Opcode } from "../../codec/frame.js";
import { buildFrame, KEY, SERVER } from "./frame-helpers.js";

function chunk(length: number, fill: number): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

describe("ReceivedBytes", () => {
  it("reuses its array for the next message instead of regrowing it", () => {
    const input = new ReceivedBytes();
    for (let i = 0; i < 300; i++) input.append(chunk(2048, i & 0xff));
    const array = input.chunks;
    expect(input.entries).toBe(300);
    input.skip(300 * 2048);
    expect(input.buffered).toBe(0);
    expect(input.entries).toBe(0);
    input.append(chunk(4096, 7));
    expect(input.chunks).toBe(array);
    expect(input.entries).toBe(1);
    const target = new Uint8Array(4096);
    input.copyTo(target, 4096);
    expect(target.every((byte) => byte === 7)).toBe(true);
  });

  it("drops an array grown past the retained size once it is empty", () => {
    const input = new ReceivedBytes();
    for (let i = 0; i < 600; i++) input.append(chunk(2048, 1));
    const array = input.chunks;
    input.skip(600 * 2048);
    input.append(chunk(2048, 2));
    expect(input.chunks).not.toBe(array);
    expect(input.chunks.length).toBe(1);
  });

  it("compacts in place and keeps every byte in order", () => {
    const input = new ReceivedBytes();
    for (let i = 0; i < 200; i++) input.append(chunk(2000, i & 0xff));
    // Consume 150 chunks and a half: compaction moves the rest to the front.
    input.skip(150 * 2000 + 1000);
    expect(input.head).toBe(0);
    expect(input.entries).toBe(50);
    for (let i = 200; i < 210; i++) input.append(chunk(2000, i & 0xff));
    const rest = new Uint8Array(input.buffered);
    input.copyTo(rest, rest.length);
    expect(rest.length).toBe(59 * 2000 + 1000);
    expect(rest[0]).toBe(150);
    expect(rest[999]).toBe(150);
    expect(rest[1000]).toBe(151);
    expect(rest[rest.length - 1]).toBe(209);
    // Free slots hold no stale chunk.
    expect(input.chunks.every((entry) => entry.length === 0)).toBe(true);
  });
});

describe("payloads handed out stay intact", () => {
  it("a payload unmasked in place in a chunk is not overwritten by later input", () => {
    const decoder = new FrameDecoder({ ...SERVER, assembleMessages: true });
    const first = new Uint8Array(40_000).map((_, index) => index * 13);
    const second = new Uint8Array(40_000).map((_, index) => 255 - (index & 0xff));
    // Both frames and the start of a third in one chunk, so the payloads are views of it.
    const frameA = buildFrame({ opcode: Opcode.BINARY, payload: first, maskKey: KEY });
    const frameB = buildFrame({ opcode: Opcode.BINARY, payload: second, maskKey: KEY });
    const wire = new Uint8Array(frameA.length + frameB.length);
    wire.set(frameA, 0);
    wire.set(frameB, frameA.length);
    decoder.receiveBytes(wire);
    const a = decoder.nextFrame()!.payload as Uint8Array;
    expect(a.buffer).toBe(wire.buffer);
    const kept = a.slice();
    const b = decoder.nextFrame()!.payload as Uint8Array;
    // More frames arrive and are decoded after the first payload was handed out.
    for (let i = 0; i < 5; i++) {
      decoder.receiveBytes(frameA.slice());
      expect(Buffer.from(decoder.nextFrame()!.payload as Uint8Array).equals(first)).toBe(true);
    }
    expect(Buffer.from(a).equals(kept)).toBe(true);
    expect(Buffer.from(a).equals(first)).toBe(true);
    expect(Buffer.from(b).equals(second)).toBe(true);
  });
});
