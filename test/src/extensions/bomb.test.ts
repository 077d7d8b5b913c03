/**
 * Decompression bombs (README, Differences from wsproto #11): a few MiB of deflate that would inflate to GiBs is
 * stopped as soon as the message passes the budget, quickly and without holding the excess.
 */
import { ZStream, zlibDeflate, zlibDeflateInit2, Z_DEFAULT_STRATEGY, Z_SYNC_FLUSH } from "pako";
import { describe, expect, it } from "vitest";
import { Opcode, ParseFailed } from "../../../codec/frame.js";
import { PerMessageDeflate } from "../../../src/extensions/permessage-deflate.js";

const MiB = 1 << 20;
const RSV1 = { rsv1: true, rsv2: false, rsv3: false };

/**
 * `copies` repetitions of one sync-flushed block that inflates to 1 MiB of zeros: each copy
 * starts with a literal and then refers one byte back, so copies can follow each other.
 */
function bomb(copies: number): Uint8Array {
  const strm = new ZStream();
  zlibDeflateInit2(strm, 9, 8, -15, 9, Z_DEFAULT_STRATEGY);
  const zeros = new Uint8Array(MiB);
  const out = new Uint8Array(64 * 1024);
  strm.input = zeros;
  strm.next_in = 0;
  strm.avail_in = zeros.length;
  strm.output = out;
  strm.next_out = 0;
  strm.avail_out = out.length;
  zlibDeflate(strm, Z_SYNC_FLUSH);
  const block = out.slice(0, strm.next_out);
  const all = new Uint8Array(block.length * copies);
  for (let i = 0; i < copies; i++) all.set(block, i * block.length);
  return all.subarray(0, all.length - 4); // as sent: the last 00 00 ff ff stripped
}

function memory(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function receiver(): PerMessageDeflate {
  const pmd = new PerMessageDeflate();
  pmd.accept("permessage-deflate");
  return pmd;
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("decompression bombs", () => {
  const payload = bomb(4096); // ≈ 4 MiB that inflates to 4 GiB

  it("the bomb is what it claims: about 1000:1", () => {
    expect(payload.length).toBeLessThan(5 * MiB);
    expect(payload.length).toBeGreaterThan(3 * MiB);
  });

  it("one 4 MiB frame that inflates to 4 GiB, budget 1 MiB: 1009 at once, memory flat", () => {
    const pmd = receiver();
    pmd.frameInboundHeader(Opcode.BINARY, RSV1, payload.length);
    const before = memory();
    const start = performance.now();
    const error = catchError(() => pmd.frameInboundPayloadData(payload, MiB));
    const elapsed = performance.now() - start;
    const grown = memory() - before;
    expect(error).toBeInstanceOf(ParseFailed);
    expect((error as ParseFailed).code).toBe(1009);
    expect(elapsed).toBeLessThan(1000);
    // At most the budget (1 MiB) of output plus one 64 KiB chunk was ever produced.
    expect(grown).toBeLessThan(16 * MiB);
  });

  it("budget 64 MiB (the default maxMessageSize): stops right after 64 MiB", () => {
    const pmd = receiver();
    pmd.frameInboundHeader(Opcode.BINARY, RSV1, payload.length);
    const start = performance.now();
    const error = catchError(() => pmd.frameInboundPayloadData(payload, 64 * MiB));
    expect(error).toBeInstanceOf(ParseFailed);
    expect((error as ParseFailed).code).toBe(1009);
    expect(performance.now() - start).toBeLessThan(3000);
  });

  it("fed in 16 KiB pieces as a decoder would, with the budget shrinking as output accumulates", () => {
    const pmd = receiver();
    const maxMessageSize = 8 * MiB;
    pmd.frameInboundHeader(Opcode.BINARY, RSV1, payload.length);
    let produced = 0;
    let consumed = 0;
    const before = memory();
    const start = performance.now();
    const error = catchError(() => {
      for (; consumed < payload.length; consumed += 16 * 1024) {
        const piece = payload.subarray(consumed, consumed + 16 * 1024);
        const out = pmd.frameInboundPayloadData(piece, maxMessageSize - produced);
        produced += out.length; // a decoder delivers the output and forgets it
      }
    });
    expect(error).toBeInstanceOf(ParseFailed);
    expect((error as ParseFailed).code).toBe(1009);
    expect(produced).toBeLessThanOrEqual(maxMessageSize);
    // Stopped within the first ~8 KiB of compressed input (8 MiB of output), of 4 MiB sent.
    expect(consumed).toBeLessThan(64 * 1024);
    expect(performance.now() - start).toBeLessThan(1000);
    expect(memory() - before).toBeLessThan(48 * MiB);
  });

  it("the same bomb split over many frames of one message", () => {
    const pmd = receiver();
    const maxMessageSize = 2 * MiB;
    let produced = 0;
    const error = catchError(() => {
      for (let i = 0, at = 0; at < payload.length; i++, at += 4096) {
        const piece = payload.subarray(at, at + 4096);
        const fin = at + 4096 >= payload.length;
        pmd.frameInboundHeader(i === 0 ? Opcode.BINARY : Opcode.CONTINUATION, i === 0 ? RSV1 : { rsv1: false, rsv2: false, rsv3: false }, piece.length);
        produced += pmd.frameInboundPayloadData(piece, maxMessageSize - produced).length;
        produced += pmd.frameInboundComplete(fin, maxMessageSize - produced)?.length ?? 0;
      }
    });
    expect((error as ParseFailed).code).toBe(1009);
    expect(produced).toBeLessThanOrEqual(maxMessageSize);
  });
});
