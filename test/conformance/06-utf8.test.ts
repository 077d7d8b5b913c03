/**
 * Autobahn family 6 (UTF-8 handling), RFC 6455 §5.6 and §8.1 with RFC 3629's definition of
 * UTF-8: valid text in any split across frames and chunks arrives intact; invalid sequences
 * (overlongs, surrogates, code points past U+10FFFF, impossible bytes, stray continuation bytes,
 * sequences cut short at the end of the message) fail the connection with 1007 — and fail fast:
 * the failure comes with the chunk that carries the first byte no valid sequence can continue
 * (WHATWG "maximal subpart" rule), even when the frame is not finished yet.
 */
import { describe, expect, it } from "vitest";
import { FAIL, T, codes, deliver, deliverSteps, open, summarize, type Summary } from "./driver.js";
import { expectFailure } from "./closing.js";
import { OP, ROLES, bytes, concat, hex, peerFrame, peerFrames, type Role } from "./wire.js";

/** "κόσμε" as Autobahn spells it: with U+1F79 (omicron with oxia), CE BA E1 BD B9 CF 83 CE BC CE B5. */
const KOSME = "\u03ba\u1f79\u03c3\u03bc\u03b5";

/** Valid UTF-8 (RFC 3629): the bytes and the text they decode to. */
const VALID: Array<[string, Uint8Array, string]> = [
  ["6.2 Hello-µ@ßöäüàá-UTF-8!!", bytes("Hello-µ@ßöäüàá-UTF-8!!"), "Hello-µ@ßöäüàá-UTF-8!!"],
  ["6.5.1 kosme (Greek)", hex("ce ba e1 bd b9 cf 83 ce bc ce b5"), KOSME],
  ["6.7.1 first 1-byte: U+0000", hex("00"), "\u0000"],
  ["6.7.2 first 2-byte: U+0080", hex("c2 80"), "\u0080"],
  ["6.7.3 first 3-byte: U+0800", hex("e0 a0 80"), "\u0800"],
  ["6.7.4 first 4-byte: U+10000", hex("f0 90 80 80"), "\u{10000}"],
  ["6.8 last 1-byte: U+007F", hex("7f"), "\u007f"],
  ["last 2-byte: U+07FF", hex("df bf"), "\u07ff"],
  ["last 3-byte: U+FFFF", hex("ef bf bf"), "\uffff"],
  ["last code point: U+10FFFF", hex("f4 8f bf bf"), "\u{10ffff}"],
  ["6.9 U+D7FF (before the surrogates)", hex("ed 9f bf"), "\ud7ff"],
  ["U+E000 (after the surrogates)", hex("ee 80 80"), "\ue000"],
  ["U+FFFD", hex("ef bf bd"), "\ufffd"],
  ["6.22 noncharacter U+FFFE", hex("ef bf be"), "\ufffe"],
  ["noncharacters U+FDD0, U+FDEF", hex("ef b7 90 ef b7 af"), "\ufdd0\ufdef"],
  ["noncharacters U+1FFFE, U+10FFFE", hex("f0 9f bf be f4 8f bf be"), "\u{1fffe}\u{10fffe}"],
  ["6.23 a byte-order mark is text, kept", hex("ef bb bf 41"), "\ufeffA"],
  ["mixed widths", bytes("a\u00e9\u4e2d\u{1f600}z"), "a\u00e9\u4e2d\u{1f600}z"],
];

/**
 * Invalid UTF-8: the bytes, and the index of the first byte at which the sequence can no longer
 * become valid ("end": only the end of the message shows it).
 */
const INVALID: Array<[string, Uint8Array, number | "end"]> = [
  ["6.3.1 κόσμε with a surrogate, then 'edited'", hex("ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64"), 12],
  ["6.8.1 5-byte sequence", hex("f8 88 80 80 80"), 0],
  ["6.8.2 6-byte sequence", hex("fc 84 80 80 80 80"), 0],
  ["6.9 U+110000 (past U+10FFFF)", hex("f4 90 80 80"), 1],
  ["6.10.1 F7 BF BF BF", hex("f7 bf bf bf"), 0],
  ["6.10.2 FB BF BF BF BF", hex("fb bf bf bf bf"), 0],
  ["6.10.3 FD BF BF BF BF BF", hex("fd bf bf bf bf bf"), 0],
  ["6.12.1 a lone continuation byte 80", hex("80"), 0],
  ["6.12.2 a lone continuation byte BF", hex("bf"), 0],
  ["6.12.3 80 BF", hex("80 bf"), 0],
  ["6.12.4 80 BF 80 BF after text", concat(bytes("ab"), hex("80 bf 80 bf")), 2],
  ["6.13.1 lonely C0 then space", hex("c0 20"), 0],
  ["6.13.2 lonely C2 then space", hex("c2 20"), 1],
  ["lonely DF then space", hex("df 20"), 1],
  ["6.13.3 lonely E0 then space", hex("e0 20"), 1],
  ["lonely EF then space", hex("ef 20"), 1],
  ["6.13.4 lonely F0 then space", hex("f0 20"), 1],
  ["lonely F4 then space", hex("f4 20"), 1],
  ["6.13.5 lonely F8 then space", hex("f8 20"), 0],
  ["lonely FC then space", hex("fc 20"), 0],
  ["6.14.1 C2 cut short at the end", hex("c2"), "end"],
  ["6.14.2 E0 A0 cut short at the end", hex("e0 a0"), "end"],
  ["6.14.3 F0 90 80 cut short at the end", hex("f0 90 80"), "end"],
  ["6.14.6 DF cut short at the end", hex("df"), "end"],
  ["6.14.7 EF BF cut short at the end", hex("ef bf"), "end"],
  ["6.14.8 F4 8F BF cut short at the end", hex("f4 8f bf"), "end"],
  ["text then a cut-short 4-byte sequence", concat(bytes("Hello"), hex("f0 9f 98")), "end"],
  ["6.15 concatenated incomplete sequences", hex("c2 e0 a0 f0 90 80"), 1],
  ["6.16.1 impossible byte FE", hex("fe"), 0],
  ["6.16.2 impossible byte FF", hex("ff"), 0],
  ["6.16.3 FE FE FF FF", hex("fe fe ff ff"), 0],
  ["6.17.1 overlong '/' in 2 bytes", hex("c0 af"), 0],
  ["6.17.2 overlong '/' in 3 bytes", hex("e0 80 af"), 1],
  ["6.17.3 overlong '/' in 4 bytes", hex("f0 80 80 af"), 1],
  ["6.17.4 overlong '/' in 5 bytes", hex("f8 80 80 80 af"), 0],
  ["6.18.1 largest overlong 2-byte", hex("c1 bf"), 0],
  ["6.18.2 largest overlong 3-byte", hex("e0 9f bf"), 1],
  ["6.18.3 largest overlong 4-byte", hex("f0 8f bf bf"), 1],
  ["6.19.1 overlong NUL in 2 bytes", hex("c0 80"), 0],
  ["6.19.2 overlong NUL in 3 bytes", hex("e0 80 80"), 1],
  ["6.19.3 overlong NUL in 4 bytes", hex("f0 80 80 80"), 1],
  ["6.20.1 U+D800", hex("ed a0 80"), 1],
  ["6.20.2 U+DB7F", hex("ed ad bf"), 1],
  ["6.20.3 U+DB80", hex("ed ae 80"), 1],
  ["6.20.4 U+DBFF", hex("ed af bf"), 1],
  ["6.20.5 U+DC00", hex("ed b0 80"), 1],
  ["6.20.6 U+DF80", hex("ed be 80"), 1],
  ["6.20.7 U+DFFF", hex("ed bf bf"), 1],
  ["6.21.1 paired U+D800 U+DC00", hex("ed a0 80 ed b0 80"), 1],
  ["6.21.8 paired U+DBFF U+DFFF", hex("ed af bf ed bf bf"), 1],
  ["an invalid byte in the middle", concat(bytes("Hello"), hex("ff"), bytes("World")), 5],
];

/** What a receiver may have delivered before failing at `at`: the complete code points before it. */
function validPrefix(data: Uint8Array, at: number): string {
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(data.subarray(0, at), { stream: true });
}

/** The expected summary: the valid prefix (if any) as a partial message, then the 1007 failure. */
function failedAfter(prefix: string): Summary[] {
  return prefix === "" ? [FAIL(1007)] : [{ partialText: prefix }, FAIL(1007)];
}

/** One frame per byte of `data` (continuations after the first, FIN on the last). */
function framePerByte(role: Role, data: Uint8Array): Uint8Array {
  const specs = Array.from(data, (byte, i) => ({ opcode: i === 0 ? OP.TEXT : OP.CONT, payload: [byte], fin: i === data.length - 1 }));
  return peerFrames(role, ...specs);
}

describe.each(ROLES)("6 UTF-8, %s receiving", (role) => {
  it("6.1 empty text: one frame, three empty fragments, empty-middle-empty", () => {
    const { conn } = open(role);
    const wire = peerFrames(
      role,
      { opcode: OP.TEXT },
      { opcode: OP.TEXT, fin: false },
      { opcode: OP.CONT, fin: false },
      { opcode: OP.CONT },
      { opcode: OP.TEXT, fin: false },
      { opcode: OP.CONT, payload: "middle frame payload", fin: false },
      { opcode: OP.CONT },
    );
    expect(summarize(deliver(conn, wire))).toEqual([T(""), T(""), T("middle frame payload")]);
  });

  describe.each(VALID)("valid: %s", (_name, data, text) => {
    it("whole, byte by byte, and one frame per byte", () => {
      for (const [wire, chunking] of [
        [peerFrame(role, { opcode: OP.TEXT, payload: data }), "whole"],
        [peerFrame(role, { opcode: OP.TEXT, payload: data }), "bytes"],
        [framePerByte(role, data), "whole"],
      ] as const) {
        const { conn } = open(role);
        expect(summarize(deliver(conn, wire, chunking))).toEqual([T(text)]);
      }
    });

    it("6.2/6.6 split at every position, across two frames and across two chunks", () => {
      for (let at = 0; at <= data.length; at++) {
        const twoFrames = peerFrames(role, { opcode: OP.TEXT, payload: data.subarray(0, at), fin: false }, { opcode: OP.CONT, payload: data.subarray(at) });
        expect(summarize(deliver(open(role).conn, twoFrames)), `frames split at ${at}`).toEqual([T(text)]);
        const oneFrame = peerFrame(role, { opcode: OP.TEXT, payload: data });
        const headerLength = oneFrame.length - data.length;
        expect(summarize(deliver(open(role).conn, oneFrame, [headerLength + at])), `chunks split at ${at}`).toEqual([T(text)]);
      }
    });
  });

  describe.each(INVALID)("invalid: %s", (_name, data, detect) => {
    const at = detect === "end" ? data.length - 1 : detect;
    const prefix = validPrefix(data, detect === "end" ? data.length : detect);

    it("in one frame, one chunk: 1007 and nothing of the message", () => {
      const { conn } = open(role);
      const events = deliver(conn, peerFrames(role, { opcode: OP.TEXT, payload: "valid before" }, { opcode: OP.TEXT, payload: data }));
      expect(codes(summarize(events))).toEqual([T("valid before"), FAIL(1007)]);
      expectFailure(role, conn, events, 1007);
    });

    it(`fails fast, byte by byte: at payload byte ${String(detect)}, not before, not later`, () => {
      const { conn } = open(role);
      // A longer frame, so that the failure cannot wait for the frame's end.
      const payload = detect === "end" ? data : concat(data, bytes(" and more text after it"));
      const wire = peerFrame(role, { opcode: OP.TEXT, payload });
      const headerLength = wire.length - payload.length;
      const steps = deliverSteps(conn, wire, "bytes");
      const failedAt = steps.findIndex((events) => events.some((event) => event.type === "CloseConnection"));
      expect(failedAt - headerLength).toBe(at);
      expect(codes(summarize(steps.flat()))).toEqual(failedAfter(prefix));
      expectFailure(role, conn, steps.flat(), 1007);
    });

    it("one frame per byte: the valid prefix is delivered, then 1007", () => {
      const { conn } = open(role);
      const steps = deliverSteps(conn, framePerByte(role, data), "bytes");
      const failedAt = steps.findIndex((events) => events.some((event) => event.type === "CloseConnection"));
      // The frame that carries the bad byte fails as soon as its payload byte arrives.
      const frameLength = role === "server" ? 7 : 3;
      expect(failedAt).toBe(at * frameLength + frameLength - 1);
      // A frame that ends inside a code point yields an empty piece (frameFinished, not messageFinished).
      const summary = codes(summarize(steps.flat())).filter((s) => !("partialText" in s && s.partialText === ""));
      expect(summary).toEqual(failedAfter(prefix));
    });
  });

  describe("6.4 fail fast on invalid UTF-8 (Autobahn 6.4.1–6.4.4)", () => {
    const start = hex("ce ba e1 bd b9 cf 83 ce bc ce b5");
    const rest = bytes("edited");

    it("6.4.1 3 fragments, the 2nd invalid (F4 90 80 80): fails on the 2nd, the 3rd is not needed", () => {
      const { conn } = open(role);
      const [first, second, third] = [
        deliver(conn, peerFrame(role, { opcode: OP.TEXT, payload: start, fin: false })),
        deliver(conn, peerFrame(role, { opcode: OP.CONT, payload: hex("f4 90 80 80"), fin: false })),
        deliver(conn, peerFrame(role, { opcode: OP.CONT, payload: rest })),
      ];
      expect(summarize(first)).toEqual([{ partialText: KOSME }]);
      expect(codes(summarize(second))).toEqual([FAIL(1007)]);
      expect(third).toEqual([]);
    });

    it("6.4.2 3 fragments, the 2nd a valid prefix (F4), the 3rd starting with 90: fails on the 3rd", () => {
      const { conn } = open(role);
      const [first, second, third] = [
        deliver(conn, peerFrame(role, { opcode: OP.TEXT, payload: start, fin: false })),
        deliver(conn, peerFrame(role, { opcode: OP.CONT, payload: hex("f4"), fin: false })),
        deliver(conn, peerFrame(role, { opcode: OP.CONT, payload: concat(hex("90 80 80"), rest) })),
      ];
      expect(summarize(first)).toEqual([{ partialText: KOSME }]);
      // The frame ends inside a code point: an empty piece that finishes the frame, not the message.
      expect(second).toHaveLength(1);
      expect(second[0]).toMatchObject({ data: "", frameFinished: true, messageFinished: false });
      expect(codes(summarize(third))).toEqual([FAIL(1007)]);
    });

    it("6.4.3 one frame in 3 chops, the 2nd invalid: fails on the 2nd chop, before the frame ends", () => {
      const { conn } = open(role);
      const payload = concat(start, hex("f4 90 80 80"), rest);
      const wire = peerFrame(role, { opcode: OP.TEXT, payload });
      const headerLength = wire.length - payload.length;
      const steps = deliverSteps(conn, wire, [headerLength + start.length, headerLength + start.length + 4]);
      expect(summarize(steps[0]!)).toEqual([{ partialText: KOSME }]);
      expect(codes(summarize(steps[1]!))).toEqual([FAIL(1007)]);
      expect(steps[2]).toEqual([]);
    });

    it("6.4.4 one frame, the bad byte (90 after F4) alone in its chop: fails on exactly that byte", () => {
      const { conn } = open(role);
      const payload = concat(start, hex("f4 90 80 80"), rest);
      const wire = peerFrame(role, { opcode: OP.TEXT, payload });
      const bad = wire.length - payload.length + start.length + 1;
      const steps = deliverSteps(conn, wire, [bad - 1, bad, bad + 1]);
      expect(summarize(steps[0]!)).toEqual([{ partialText: KOSME }]);
      expect(steps[1]).toEqual([]);
      expect(codes(summarize(steps[2]!))).toEqual([FAIL(1007)]);
      expect(steps[3]).toEqual([]);
    });
  });

  it("binary messages are not UTF-8 checked", () => {
    const { conn } = open(role);
    const data = hex("ff fe ed a0 80 c0 80");
    expect(summarize(deliver(conn, peerFrame(role, { opcode: OP.BINARY, payload: data }), "bytes"))).toEqual([
      { binary: Buffer.from(data).toString("hex") },
    ]);
  });
});
