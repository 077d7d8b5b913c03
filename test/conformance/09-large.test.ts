/**
 * Autobahn family 9 (limits and performance): large text and binary messages up to 16 MiB, whole
 * and fragmented into many frames, delivered in many chunk sizes; bursts of many small
 * messages; and `maxMessageSize` at its exact boundary (RFC 6455 §10.4: 1009 past it).
 */
import { describe, expect, it } from "vitest";
import { BytesMessage, TextMessage, type Event } from "../../src/index.js";
import { FAIL, codes, deliver, deliverSteps, open, summarize, chunksOf } from "./driver.js";
import { expectFailure } from "./closing.js";
import { OP, ROLES, concat, concatAll, peerFrame, peerFrames, pseudoRandomBytes, type Role } from "./wire.js";

const KiB = 1024;
const MiB = 1024 * 1024;

/** Feed chunks and fold the events into per-message totals, without keeping every piece. */
function receiveLarge(role: Role, wire: Uint8Array, chunkSize: number) {
  const { conn } = open(role);
  const messages: Array<{ kind: "text" | "binary"; text: string; bytes: Uint8Array[]; pieces: number }> = [];
  let current: (typeof messages)[number] | null = null;
  const others: Event[] = [];
  for (const chunk of chunksOf(wire, chunkSize)) {
    conn.receiveData(chunk);
    for (const event of conn.events()) {
      if (event instanceof TextMessage || event instanceof BytesMessage) {
        current ??= { kind: event instanceof TextMessage ? "text" : "binary", text: "", bytes: [], pieces: 0 };
        if (event instanceof TextMessage) current.text += event.data;
        else current.bytes.push(event.data);
        current.pieces++;
        if (event.messageFinished) {
          messages.push(current);
          current = null;
        }
      } else {
        others.push(event);
      }
    }
  }
  return { conn, messages, others, unfinished: current };
}

function sameBytes(parts: Uint8Array[], expected: Uint8Array): boolean {
  return Buffer.concat(parts).equals(expected);
}

describe.each(ROLES)("9 large messages, %s receiving", (role) => {
  describe.each([64 * KiB, 256 * KiB, MiB, 4 * MiB, 16 * MiB])("9.1/9.2 one frame of %i bytes, in 64 KiB chunks (1 MiB from 4 MiB up)", (size) => {
    const chunk = size >= 4 * MiB ? MiB : 64 * KiB;
    it("text", () => {
      const text = "*".repeat(size);
      const { messages, others } = receiveLarge(role, peerFrame(role, { opcode: OP.TEXT, payload: text }), chunk);
      expect(others).toEqual([]);
      expect(messages).toHaveLength(1);
      expect(messages[0]!.kind).toBe("text");
      expect(messages[0]!.text.length).toBe(size);
      expect(messages[0]!.text === text).toBe(true);
    });

    it("binary", () => {
      const data = pseudoRandomBytes(size, size);
      const { messages, others } = receiveLarge(role, peerFrame(role, { opcode: OP.BINARY, payload: data }), chunk);
      expect(others).toEqual([]);
      expect(messages).toHaveLength(1);
      expect(sameBytes(messages[0]!.bytes, data)).toBe(true);
    });
  });

  describe.each([64, 256, 4 * KiB, 64 * KiB, MiB, 4 * MiB])(
    "9.3/9.4 a 4 MiB message in fragments of %i bytes",
    (fragment) => {
      it.each(["text", "binary"] as const)("%s, whole stream in 1 MiB chunks", (kind) => {
        const data = kind === "text" ? new TextEncoder().encode("abcdefghij".repeat(4 * MiB / 10 + 1).slice(0, 4 * MiB)) : pseudoRandomBytes(4 * MiB, fragment);
        const specs = [];
        for (let at = 0; at < data.length; at += fragment) {
          specs.push({
            opcode: at === 0 ? (kind === "text" ? OP.TEXT : OP.BINARY) : OP.CONT,
            payload: data.subarray(at, at + fragment),
            fin: at + fragment >= data.length,
          });
        }
        const { messages, others } = receiveLarge(role, peerFrames(role, ...specs), MiB);
        expect(others).toEqual([]);
        expect(messages).toHaveLength(1);
        expect(messages[0]!.kind).toBe(kind);
        if (kind === "text") expect(messages[0]!.text === new TextDecoder().decode(data)).toBe(true);
        else expect(sameBytes(messages[0]!.bytes, data)).toBe(true);
        expect(messages[0]!.pieces).toBeGreaterThanOrEqual(Math.ceil(data.length / fragment));
      });
    },
  );

  describe.each([64, 128, 256, 512, 1024, 2048, 4096, 65536])("9.5/9.6 a 1 MiB message in chops of %i bytes", (chop) => {
    it("text (multi-byte characters, so chops split code points)", () => {
      const text = "aé中😀".repeat(MiB / 10);
      const { messages } = receiveLarge(role, peerFrame(role, { opcode: OP.TEXT, payload: text }), chop);
      expect(messages).toHaveLength(1);
      expect(messages[0]!.text === text).toBe(true);
    });

    it("binary", () => {
      const data = pseudoRandomBytes(MiB, chop);
      const { messages } = receiveLarge(role, peerFrame(role, { opcode: OP.BINARY, payload: data }), chop);
      expect(messages).toHaveLength(1);
      expect(sameBytes(messages[0]!.bytes, data)).toBe(true);
    });
  });

  describe.each([0, 16, 64, 256, KiB, 4 * KiB])("9.7/9.8 1000 messages of %i bytes in one burst", (size) => {
    it.each(["text", "binary"] as const)("%s: all 1000, in order", (kind) => {
      const payloads = Array.from({ length: 1000 }, (_, i) => (kind === "text" ? String(i % 10).repeat(size) : pseudoRandomBytes(size, i + 1)));
      const wire = concatAll(payloads.map((payload) => peerFrame(role, { opcode: kind === "text" ? OP.TEXT : OP.BINARY, payload })));
      const { messages } = receiveLarge(role, wire, wire.length);
      expect(messages).toHaveLength(1000);
      messages.forEach((message, i) => {
        if (kind === "text") expect(message.text).toBe(payloads[i]);
        else expect(sameBytes(message.bytes, payloads[i] as Uint8Array)).toBe(true);
      });
    });
  });

  describe("maxMessageSize (1009) at its boundary", () => {
    const limit = 64 * KiB;
    const options = { options: { maxMessageSize: limit } };

    it("a message of exactly maxMessageSize is delivered, one frame or fragmented", () => {
      const { conn } = open(role, options);
      const data = pseudoRandomBytes(limit);
      const wire = peerFrames(
        role,
        { opcode: OP.BINARY, payload: data },
        { opcode: OP.BINARY, payload: data.subarray(0, 1000), fin: false },
        { opcode: OP.CONT, payload: data.subarray(1000) },
      );
      const summary = summarize(deliver(conn, wire, 4096));
      expect(summary).toHaveLength(2);
      expect(summary[0]).toEqual(summary[1]);
    });

    it("one byte over, in one frame: 1009 from the header, before the payload arrives", () => {
      const { conn } = open(role, options);
      const wire = peerFrame(role, { opcode: OP.TEXT, payload: "x".repeat(limit + 1) });
      const header = wire.subarray(0, role === "server" ? 14 : 10); // 64-bit length form
      const events = deliver(conn, header);
      expect(codes(summarize(events))).toEqual([FAIL(1009)]);
      expectFailure(role, conn, events, 1009);
    });

    it("one byte over across fragments: 1009 at the header of the fragment that crosses it", () => {
      const { conn } = open(role, options);
      const first = peerFrame(role, { opcode: OP.BINARY, payload: new Uint8Array(limit), fin: false });
      const second = peerFrame(role, { opcode: OP.CONT, payload: [1] });
      const steps = deliverSteps(conn, concat(first, second), [first.length]);
      expect(summarize(steps[0]!)).toEqual([{ partialBinary: "00".repeat(limit) }]);
      expect(codes(summarize(steps[1]!))).toEqual([FAIL(1009)]);
      expectFailure(role, conn, steps.flat(), 1009);
    });

    it("the size is per message: many messages of maxMessageSize each are fine", () => {
      const { conn } = open(role, options);
      const data = new Uint8Array(limit);
      const wire = concatAll(Array.from({ length: 20 }, () => peerFrame(role, { opcode: OP.BINARY, payload: data })));
      expect(summarize(deliver(conn, wire, 10_000))).toHaveLength(20);
    });
  });
});
