/**
 * The default deflate engine (pako, driven through zlib's low-level API): sync flushes, window
 * sizes (8 bits handled as zlib needs), history across streams, bounded inflate, errors.
 */
import { describe, expect, it } from "vitest";
import { InflateError, pakoEngine } from "../../../src/extensions/deflate-engine.js";
import { compressibleText, concat, equalBytes, randomBytes, strictInflate, te, td } from "./helpers.js";

function deflateMessages(bits: number, messages: Uint8Array[], reset = false): Uint8Array[] {
  const d = pakoEngine.createDeflater(bits);
  return messages.map((m) => {
    const out = concat(d.push(m, true));
    expect([...out.subarray(out.length - 4)]).toEqual([0, 0, 0xff, 0xff]);
    if (reset) d.reset();
    return out.subarray(0, out.length - 4);
  });
}

/** Data full of repeats 251–511 bytes back: a 9-bit window would use them, an 8-bit one cannot. */
function repeatsJustBeyond256(n: number): Uint8Array {
  const out = randomBytes(n, 99);
  for (let at = 600; at + 40 < n; at += 97) {
    const distance = 251 + (at % 261);
    for (let k = 0; k < 40; k++) out[at + k] = out[at + k - distance]!;
  }
  return out;
}

describe("window bits", () => {
  it("8 bits: zlib's 9-bit window never reaches more than 250 bytes back, so the output fits an 8-bit inflater", () => {
    const data = [repeatsJustBeyond256(20_000), compressibleText(20_000, 2, 600), repeatsJustBeyond256(5000)];
    const payloads = deflateMessages(8, data);
    // A strict 8-bit inflater (distance check 256) decodes everything, across messages too.
    const back = strictInflate(payloads, 8, false);
    back.forEach((m, i) => expect(equalBytes(m, data[i]!)).toBe(true));
    // And the output is the same as a 9-bit deflater's: 8 is handled as 9.
    expect(deflateMessages(9, data).map((p) => p.length)).toEqual(payloads.map((p) => p.length));
  });

  it("control: a 10-bit window's output does not fit an 8-bit inflater", () => {
    const payloads = deflateMessages(10, [repeatsJustBeyond256(20_000)]);
    expect(() => strictInflate(payloads, 8, false)).toThrow("too far back");
    strictInflate(payloads, 9, false); // its distances here are all < 512
  });

  it.each([8, 9, 10, 11, 12, 13, 14, 15])("%i bits: output fits an inflater of that window", (bits) => {
    const data = [compressibleText(40_000, bits, 32_000), compressibleText(10_000, bits + 1, 32_000)];
    const payloads = deflateMessages(bits, data);
    strictInflate(payloads, bits, false).forEach((m, i) => expect(equalBytes(m, data[i]!)).toBe(true));
  });

  it("an inflater created for 8 bits also decodes a peer that used a full 9-bit window (tolerance)", () => {
    // A stream with distances of 300 (beyond 256, within 512), fed in two calls so that the
    // references cross calls and must come from the inflater's window.
    const near = new Uint8Array(4000);
    near.set(randomBytes(400, 3));
    for (let at = 400; at < near.length; at++) near[at] = near[at - 300]!;
    const nine = deflateMessages(10, [near])[0]!;
    const inflater = pakoEngine.createInflater(8);
    const out = concat(inflater.push(nine.subarray(0, 50), Infinity, false).concat(inflater.push(nine.subarray(50), Infinity, true)));
    expect(equalBytes(out, near)).toBe(true);
    expect(() => strictInflate([nine], 8, false)).toThrow("too far back");
  });

  it("refuses window bits outside 8–15 and bad levels", () => {
    expect(() => pakoEngine.createDeflater(7)).toThrow(RangeError);
    expect(() => pakoEngine.createDeflater(16)).toThrow(RangeError);
    expect(() => pakoEngine.createInflater(7)).toThrow(RangeError);
    expect(() => pakoEngine.createDeflater(15, 0)).toThrow(RangeError);
    expect(() => pakoEngine.createDeflater(15, 8, 10)).toThrow(RangeError);
  });
});

describe("deflater", () => {
  it("holds data back without flush and releases it on flush", () => {
    const d = pakoEngine.createDeflater(15);
    const data = compressibleText(3000, 1);
    const held = concat(d.push(data, false));
    const flushed = concat(d.push(new Uint8Array(0), true));
    expect(flushed.length).toBeGreaterThan(4);
    const inflater = pakoEngine.createInflater(15);
    const whole = concat([held, flushed]);
    const out = concat(inflater.push(whole.subarray(0, whole.length - 4), Infinity, true));
    expect(equalBytes(out, data)).toBe(true);
  });

  it("a second flush with nothing new produces nothing", () => {
    const d = pakoEngine.createDeflater(15);
    d.push(te.encode("abc"), true);
    expect(d.push(new Uint8Array(0), true)).toEqual([]);
  });

  it("large input comes out in several chunks", () => {
    const d = pakoEngine.createDeflater(15, 8, 0); // level 0: stored blocks, output ≈ input
    const data = randomBytes(300_000, 4);
    const chunks = d.push(data, true);
    expect(chunks.length).toBeGreaterThan(1);
    const out = concat(chunks);
    const back = concat(pakoEngine.createInflater(15).push(out.subarray(0, out.length - 4), Infinity, true));
    expect(equalBytes(back, data)).toBe(true);
  });

  it("reset forgets the history", () => {
    const data = compressibleText(2000, 5);
    const [a, b] = deflateMessages(15, [data, data], true);
    expect(equalBytes(a!, b!)).toBe(true);
  });
});

describe("inflater", () => {
  it("inflates the RFC 7692 'Hello' examples", () => {
    const i = pakoEngine.createInflater(15);
    expect(td.decode(concat(i.push(Uint8Array.of(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00), Infinity, true)))).toBe("Hello");
    expect(td.decode(concat(i.push(Uint8Array.of(0xf2, 0x00, 0x11, 0x00, 0x00), Infinity, true)))).toBe("Hello");
  });

  it("output never exceeds the budget; one byte more throws too-big", () => {
    const data = new Uint8Array(100_000).fill(0x61);
    const payload = deflateMessages(15, [data])[0]!;
    expect(concat(pakoEngine.createInflater(15).push(payload, 100_000, true)).length).toBe(100_000);
    let error: unknown;
    try {
      pakoEngine.createInflater(15).push(payload, 99_999, true);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InflateError);
    expect((error as InflateError).kind).toBe("too-big");
  });

  it("the budget is per call, and the trailer's output counts", () => {
    // The last bytes of a message may only come out when 00 00 ff ff completes the stream.
    const data = te.encode("0123456789");
    const payload = deflateMessages(15, [data])[0]!;
    const i = pakoEngine.createInflater(15);
    const first = concat(i.push(payload, 10, false));
    const rest = concat(i.push(new Uint8Array(0), 10 - first.length, true));
    expect(td.decode(concat([first, rest]))).toBe("0123456789");
  });

  it("corrupt data throws corrupt", () => {
    const i = pakoEngine.createInflater(15);
    expect(() => i.push(Uint8Array.of(0xff, 0xff, 0xff), Infinity, false)).toThrow(InflateError);
    try {
      pakoEngine.createInflater(15).push(Uint8Array.of(0xff), Infinity, false);
    } catch (e) {
      expect((e as InflateError).kind).toBe("corrupt");
    }
  });

  it("an empty message (no compressed byte) is empty, and leaves the state alone", () => {
    const i = pakoEngine.createInflater(15);
    expect(i.push(Uint8Array.of(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00), Infinity, true).length).toBe(1);
    expect(i.push(new Uint8Array(0), Infinity, true)).toEqual([]);
    expect(td.decode(concat(i.push(Uint8Array.of(0xf2, 0x00, 0x11, 0x00, 0x00), Infinity, true)))).toBe("Hello");
  });

  it("reset forgets the history: a back-reference then fails", () => {
    const i = pakoEngine.createInflater(15);
    i.push(Uint8Array.of(0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00), Infinity, true);
    i.reset();
    expect(() => i.push(Uint8Array.of(0xf2, 0x00, 0x11, 0x00, 0x00), Infinity, true)).toThrow("too far back");
  });
});
