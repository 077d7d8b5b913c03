/**
 * Autobahn family 10 (miscellaneous): auto-fragmentation must not change a message. Case 10.1.1
 * sends 64 KiB of text auto-fragmented at 1300 bytes; here both directions: how the peer splits a
 * message into frames (and the transport into chunks) never changes what is delivered, and how
 * our application splits a message into TextMessage/BytesMessage pieces never changes what the
 * peer reassembles.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BytesMessage, TextMessage } from "../../src/index.js";
import { PING, T, B, deliver, open, summarize, chunksOf } from "./driver.js";
import { OP, ROLES, concatAll, peerFrame, readFrames, type FrameSpec } from "./wire.js";

const encoder = new TextEncoder();

/** Frames of one message cut at `cuts` (byte offsets), with pings after the fragments listed in `pings`. */
function fragmented(opcode: number, data: Uint8Array, cuts: readonly number[], pings: ReadonlySet<number> = new Set()): FrameSpec[] {
  const bounds = [...new Set(cuts.filter((c) => c > 0 && c < data.length))].sort((a, b) => a - b);
  const edges = [0, ...bounds, data.length];
  const specs: FrameSpec[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const fin = i + 2 === edges.length;
    specs.push({ opcode: i === 0 ? opcode : OP.CONT, payload: data.subarray(edges[i], edges[i + 1]), fin });
    if (!fin && pings.has(i)) specs.push({ opcode: OP.PING, payload: `p${i}` });
  }
  return specs;
}

describe.each(ROLES)("10 auto-fragmentation, %s receiving", (role) => {
  it("10.1.1 64 KiB of text auto-fragmented at 1300 bytes equals the same text in one frame", () => {
    const text = "*".repeat(65536);
    const data = encoder.encode(text);
    const cuts = Array.from({ length: Math.ceil(data.length / 1300) }, (_, i) => i * 1300);
    const whole = summarize(deliver(open(role).conn, peerFrame(role, { opcode: OP.TEXT, payload: text })));
    const pieces = summarize(deliver(open(role).conn, concatAll(fragmented(OP.TEXT, data, cuts).map((spec) => peerFrame(role, spec)))));
    expect(pieces).toEqual(whole);
    expect(whole).toEqual([T(text)]);
  });

  it("any fragmentation, any pings between fragments, any chunking: the same message (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: "binary", maxLength: 300 }).map((s) => ({ text: true as const, s })), fc.uint8Array({ maxLength: 300 }).map((b) => ({ text: false as const, b }))),
        fc.array(fc.nat(300), { maxLength: 12 }),
        fc.array(fc.nat(12), { maxLength: 4 }),
        fc.array(fc.nat(400), { maxLength: 20 }),
        (message, cuts, pings, chunkCuts) => {
          const data = message.text ? encoder.encode(message.s) : message.b;
          const opcode = message.text ? OP.TEXT : OP.BINARY;
          const specs = fragmented(opcode, data, cuts, new Set(pings));
          const wire = concatAll(specs.map((spec) => peerFrame(role, spec)));
          const { conn } = open(role);
          const summary = summarize(deliver(conn, wire, chunkCuts));
          const expectedPings = specs.filter((spec) => spec.opcode === OP.PING).map((spec) => PING(spec.payload as string));
          // A lone surrogate in the generated string becomes U+FFFD when encoded: compare with the decoded bytes.
          const expected = message.text ? T(new TextDecoder().decode(data)) : B(data);
          expect(summary).toEqual([...expectedPings, expected]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe.each(ROLES)("10 auto-fragmentation, %s sending", (role) => {
  it("a message sent in any number of pieces reaches the peer as the same message, one frame per piece", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.array(fc.nat(200), { maxLength: 8 }), fc.boolean(), (text, cuts, binary) => {
        const { conn } = open(role);
        const data = encoder.encode(text);
        const bounds = [0, ...[...new Set(cuts.filter((c) => c > 0 && c < text.length))].sort((a, b) => a - b), text.length];
        const wire: Uint8Array[] = [];
        for (let i = 0; i + 1 < bounds.length; i++) {
          const messageFinished = i + 2 === bounds.length;
          const piece = text.slice(bounds[i], bounds[i + 1]);
          wire.push(
            binary
              ? conn.send(new BytesMessage({ data: encoder.encode(piece), messageFinished }))
              : conn.send(new TextMessage({ data: piece, messageFinished })),
          );
        }
        const frames = readFrames(concatAll(wire));
        expect(frames.map((f) => f.opcode)).toEqual(frames.map((_, i) => (i === 0 ? (binary ? OP.BINARY : OP.TEXT) : OP.CONT)));
        expect(frames.map((f) => f.fin)).toEqual(frames.map((_, i) => i === frames.length - 1));
        expect(frames.every((f) => f.masked === (role === "client") && f.rsv === 0)).toBe(true);
        // Each piece becomes one frame's payload: the pieces' UTF-8 (or bytes), in order.
        const joined = Buffer.concat(frames.map((f) => f.payload));
        expect(joined.equals(Buffer.from(encodePieces(text, bounds)))).toBe(true);
        if (bounds.every((b) => !isSurrogateSplit(text, b))) expect(joined.equals(Buffer.from(data))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("the chunking of our own output does not matter to a receiver of ours (client ↔ server, 1300-byte frames)", () => {
    const sender = open(role).conn;
    const text = "Auto-fragmentation test ".repeat(3000);
    const pieces: Uint8Array[] = [];
    for (let at = 0; at < text.length; at += 1300) {
      pieces.push(sender.send(new TextMessage({ data: text.slice(at, at + 1300), messageFinished: at + 1300 >= text.length })));
    }
    const wire = concatAll(pieces);
    for (const chunking of ["whole", 1, 997, 4096] as const) {
      const fresh = open(role === "server" ? "client" : "server").conn;
      expect(summarize(chunksOf(wire, chunking).flatMap((chunk) => deliver(fresh, chunk)))).toEqual([T(text)]);
    }
  });
});

function isSurrogateSplit(text: string, at: number): boolean {
  const before = text.charCodeAt(at - 1);
  const after = text.charCodeAt(at);
  return before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff;
}

function encodePieces(text: string, bounds: number[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) parts.push(encoder.encode(text.slice(bounds[i], bounds[i + 1])));
  return concatAll(parts);
}
