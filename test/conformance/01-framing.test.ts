/**
 * Autobahn family 1 (framing): text and binary messages of every payload-length class of
 * RFC 6455 §5.2 (7-bit, 16-bit, 64-bit), whole and chopped, to a server and to a client; plus
 * the length-encoding and masking rules of §5.1–5.2.
 */
import { describe, expect, it } from "vitest";
import { BytesMessage, TextMessage } from "../../src/index.js";
import { B, CLOSE, T, deliver, open, summarize, codes, FAIL } from "./driver.js";
import { expectFailure, expectCleanClose } from "./closing.js";
import { OP, ROLES, closeBody, concat, frame, peerFrame, peerFrames, pseudoRandomBytes } from "./wire.js";

const LENGTHS = [0, 1, 125, 126, 127, 128, 65535, 65536, 1 << 20];

describe.each(ROLES)("1 framing, %s receiving", (role) => {
  describe.each(LENGTHS)("payload of %i bytes", (length) => {
    const text = "*".repeat(length);
    const data = pseudoRandomBytes(length, length + 1);

    it("text, one chunk: one TextMessage, whole", () => {
      const { conn } = open(role);
      const events = deliver(conn, peerFrame(role, { opcode: OP.TEXT, payload: text }));
      expect(events).toHaveLength(1);
      const [message] = events as [TextMessage];
      expect(message).toBeInstanceOf(TextMessage);
      expect(message.data.length).toBe(length);
      expect(message.data === text).toBe(true);
      expect([message.frameFinished, message.messageFinished]).toEqual([true, true]);
    });

    it("binary, one chunk: one BytesMessage, whole", () => {
      const { conn } = open(role);
      const events = deliver(conn, peerFrame(role, { opcode: OP.BINARY, payload: data }));
      expect(events).toHaveLength(1);
      const [message] = events as [BytesMessage];
      expect(message).toBeInstanceOf(BytesMessage);
      expect(Buffer.compare(message.data, data)).toBe(0);
      expect([message.frameFinished, message.messageFinished]).toEqual([true, true]);
    });

    it("text and binary in chops of 997 bytes (case 1.1.8), then a close", () => {
      const { conn } = open(role);
      const wire = peerFrames(
        role,
        { opcode: OP.TEXT, payload: text },
        { opcode: OP.BINARY, payload: data },
        { opcode: OP.CLOSE, payload: closeBody(1000) },
      );
      const events = deliver(conn, wire, 997);
      // Pieces of one frame come as they arrive: every piece but the last is unfinished.
      for (const event of events.slice(0, -1)) {
        const message = event as TextMessage | BytesMessage;
        expect(message.messageFinished).toBe(message.frameFinished);
      }
      expect(summarize(events)).toEqual([T(text), B(data), CLOSE(1000)]);
      expectCleanClose(role, conn, events, 1000);
    });
  });

  it("small messages byte by byte (every header split)", () => {
    const { conn } = open(role);
    const wire = peerFrames(
      role,
      { opcode: OP.TEXT, payload: "Hello" },
      { opcode: OP.BINARY, payload: pseudoRandomBytes(300) },
      { opcode: OP.TEXT, payload: "x".repeat(70000) },
    );
    expect(summarize(deliver(conn, wire, "bytes"))).toEqual([T("Hello"), B(pseudoRandomBytes(300)), T("x".repeat(70000))]);
  });

  it("1000 messages in one chunk arrive in order", () => {
    const { conn } = open(role);
    const sent = Array.from({ length: 1000 }, (_, i) => `message ${i}`);
    const wire = concat(...sent.map((payload, i) => peerFrame(role, { opcode: i % 2 === 0 ? OP.TEXT : OP.BINARY, payload })));
    expect(summarize(deliver(conn, wire))).toEqual(sent.map((payload, i) => (i % 2 === 0 ? T(payload) : B(payload))));
  });

  // RFC 6455 §5.2: "the minimal number of bytes MUST be used to encode the length".
  it.each([
    ["0 in the 16-bit form", 0, 16],
    ["125 in the 16-bit form", 125, 16],
    ["0 in the 64-bit form", 0, 64],
    ["125 in the 64-bit form", 125, 64],
    ["65535 in the 64-bit form", 65535, 64],
  ] as const)("length %s: 1002", (_name, length, form) => {
    const { conn } = open(role);
    const wire = peerFrame(role, { opcode: OP.BINARY, payload: new Uint8Array(length), lengthForm: form });
    const events = deliver(conn, wire);
    expect(codes(summarize(events))).toEqual([FAIL(1002)]);
    expectFailure(role, conn, events, 1002);
  });

  it("64-bit length with the most significant bit set: 1002 from the header alone", () => {
    const { conn } = open(role);
    const header = peerFrame(role, { opcode: OP.BINARY, announce: 1n << 63n });
    const events = deliver(conn, header);
    expect(codes(summarize(events))).toEqual([FAIL(1002)]);
    expectFailure(role, conn, events, 1002);
  });

  // RFC 6455 §5.1: a server MUST fail on an unmasked frame; a client on a masked one.
  it(`a frame ${role === "server" ? "without" : "with"} a mask: 1002`, () => {
    const { conn } = open(role);
    const events = deliver(conn, frame({ opcode: OP.TEXT, payload: "Hello" }, role === "client"));
    expect(codes(summarize(events))).toEqual([FAIL(1002)]);
    expectFailure(role, conn, events, 1002);
  });

  if (role === "server") {
    it("any masking key works, the all-zero key included", () => {
      const { conn } = open(role);
      const keys = [Uint8Array.of(0, 0, 0, 0), Uint8Array.of(0xff, 0xff, 0xff, 0xff), Uint8Array.of(1, 2, 3, 4)];
      const wire = concat(...keys.map((maskKey) => frame({ opcode: OP.TEXT, payload: "masked text", maskKey }, true)));
      expect(summarize(deliver(conn, wire, 5))).toEqual([T("masked text"), T("masked text"), T("masked text")]);
    });
  }
});
