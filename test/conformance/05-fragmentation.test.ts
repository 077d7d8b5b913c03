/**
 * Autobahn family 5 (fragmentation), RFC 6455 §5.4: fragmented messages reassemble in any
 * chopping; control frames may come between fragments and are delivered at once; a fragmented
 * control frame, a continuation without a message, and a new message inside an unfinished one
 * fail the connection with 1002; empty fragments are legal anywhere in a message.
 */
import { describe, expect, it } from "vitest";
import { Ping, TextMessage } from "../../src/index.js";
import { B, CLOSE, FAIL, PING, PONG, T, codes, deliver, open, summarize, type Chunking } from "./driver.js";
import { expectFailure, expectCleanClose } from "./closing.js";
import { OP, ROLES, closeBody, peerFrames, type FrameSpec } from "./wire.js";

/** How the frames are delivered: a chunking, or "frames" for one receiveData per frame. */
type Delivery = Chunking | "frames";

const CHOPS: Array<[string, Delivery]> = [
  ["in one chunk", "whole"],
  ["frame-wise", "frames"],
  ["in chops of 3", 3],
  ["octet-wise", "bytes"],
];

function run(role: "client" | "server", specs: FrameSpec[], chunking: Delivery) {
  const { conn } = open(role);
  if (chunking === "frames") {
    const events = specs.flatMap((spec) => deliver(conn, peerFrames(role, spec)));
    return { conn, events };
  }
  return { conn, events: deliver(conn, peerFrames(role, ...specs), chunking) };
}

describe.each(ROLES)("5 fragmentation, %s receiving", (role) => {
  describe.each(CHOPS)("%s", (_name, chunking) => {
    it("5.1 a ping fragmented into 2 frames: 1002", () => {
      const { conn, events } = run(role, [{ opcode: OP.PING, payload: "fragment1", fin: false }, { opcode: OP.CONT, payload: "fragment2" }], chunking);
      expect(codes(summarize(events))).toEqual([FAIL(1002)]);
      expectFailure(role, conn, events, 1002);
    });

    it("5.2 a pong fragmented into 2 frames: 1002", () => {
      const { conn, events } = run(role, [{ opcode: OP.PONG, payload: "fragment1", fin: false }, { opcode: OP.CONT, payload: "fragment2" }], chunking);
      expect(codes(summarize(events))).toEqual([FAIL(1002)]);
      expectFailure(role, conn, events, 1002);
    });

    it("a close fragmented into 2 frames: 1002", () => {
      const { conn, events } = run(role, [{ opcode: OP.CLOSE, payload: closeBody(1000), fin: false }, { opcode: OP.CONT }], chunking);
      expect(codes(summarize(events))).toEqual([FAIL(1002)]);
      expectFailure(role, conn, events, 1002);
    });

    it("5.3–5.5 a text message in 2 fragments", () => {
      const { events } = run(role, [{ opcode: OP.TEXT, payload: "fragment1", fin: false }, { opcode: OP.CONT, payload: "fragment2" }], chunking);
      expect(summarize(events)).toEqual([T("fragment1fragment2")]);
      const last = events.at(-1) as TextMessage;
      expect([last.frameFinished, last.messageFinished]).toEqual([true, true]);
      for (const event of events.slice(0, -1)) expect((event as TextMessage).messageFinished).toBe(false);
    });

    it("a binary message in 3 fragments", () => {
      const { events } = run(
        role,
        [{ opcode: OP.BINARY, payload: [1, 2], fin: false }, { opcode: OP.CONT, payload: [3], fin: false }, { opcode: OP.CONT, payload: [4, 5, 6] }],
        chunking,
      );
      expect(summarize(events)).toEqual([B(Uint8Array.of(1, 2, 3, 4, 5, 6))]);
    });

    it("5.6–5.8 a text message in 2 fragments with a ping between: the ping comes between the pieces", () => {
      const { events } = run(
        role,
        [{ opcode: OP.TEXT, payload: "fragment1", fin: false }, { opcode: OP.PING, payload: "ping payload" }, { opcode: OP.CONT, payload: "fragment2" }],
        chunking,
      );
      expect(summarize(events)).toEqual([PING("ping payload"), T("fragment1fragment2")]);
      const pingAt = events.findIndex((event) => event instanceof Ping);
      expect((events.slice(0, pingAt) as TextMessage[]).map((e) => e.data).join("")).toBe("fragment1");
      expect((events.slice(pingAt + 1) as TextMessage[]).map((e) => e.data).join("")).toBe("fragment2");
    });

    it("a pong and a close between fragments: the close ends the connection mid-message", () => {
      const { conn, events } = run(
        role,
        [
          { opcode: OP.BINARY, payload: "a", fin: false },
          { opcode: OP.PONG, payload: "p" },
          { opcode: OP.CONT, payload: "b", fin: false },
          { opcode: OP.CLOSE, payload: closeBody(1001, "bye") },
          { opcode: OP.CONT, payload: "c" },
        ],
        chunking,
      );
      expect(summarize(events)).toEqual([PONG("p"), { partialBinary: "6162" }, CLOSE(1001, "bye")]);
      expectCleanClose(role, conn, events, 1001, "bye");
    });

    it.each([
      ["5.9–5.11 FIN set", true],
      ["5.12–5.14 FIN clear", false],
    ])("a continuation frame (%s) with no message to continue: 1002", (_name, fin) => {
      const { conn, events } = run(
        role,
        [{ opcode: OP.CONT, payload: "non-continuation payload", fin }, { opcode: OP.TEXT, payload: "Hello, world!" }],
        chunking,
      );
      expect(codes(summarize(events))).toEqual([FAIL(1002)]);
      expectFailure(role, conn, events, 1002);
    });

    it("5.15 a message in 2 fragments, then a continuation without start: message, then 1002", () => {
      const { conn, events } = run(
        role,
        [
          { opcode: OP.TEXT, payload: "fragment1", fin: false },
          { opcode: OP.CONT, payload: "fragment2" },
          { opcode: OP.CONT, payload: "fragment3", fin: false },
          { opcode: OP.TEXT, payload: "fragment4" },
        ],
        chunking,
      );
      expect(codes(summarize(events))).toEqual([T("fragment1fragment2"), FAIL(1002)]);
      expectFailure(role, conn, events, 1002);
    });

    it.each([
      ["5.16", false],
      ["5.17", true],
    ])("%s a continuation, a text start, a continuation end, repeated: 1002 at once", (_name, fin) => {
      const specs: FrameSpec[] = [
        { opcode: OP.CONT, payload: "fragment1", fin },
        { opcode: OP.TEXT, payload: "fragment2", fin: false },
        { opcode: OP.CONT, payload: "fragment3" },
      ];
      const { conn, events } = run(role, [...specs, ...specs], chunking);
      expect(codes(summarize(events))).toEqual([FAIL(1002)]);
      expectFailure(role, conn, events, 1002);
    });

    it.each([
      ["text inside text (5.18)", OP.TEXT, OP.TEXT, "fragment1"],
      ["binary inside text", OP.TEXT, OP.BINARY, "fragment1"],
      ["text inside binary", OP.BINARY, OP.TEXT, "fragment1"],
    ])("a new message started inside an unfinished one, %s: 1002", (_name, first, second, payload) => {
      const { conn, events } = run(role, [{ opcode: first, payload, fin: false }, { opcode: second, payload: "fragment2" }], chunking);
      const partial = first === OP.TEXT ? { partialText: payload } : { partialBinary: Buffer.from(payload).toString("hex") };
      expect(codes(summarize(events))).toEqual([partial, FAIL(1002)]);
      expectFailure(role, conn, events, 1002);
    });

    it("5.19–5.20 a text message in 5 fragments with 2 pings between: every ping as it comes", () => {
      const { events } = run(
        role,
        [
          { opcode: OP.TEXT, payload: "fragment1", fin: false },
          { opcode: OP.CONT, payload: "fragment2", fin: false },
          { opcode: OP.PING, payload: "pongme 1!" },
          { opcode: OP.CONT, payload: "fragment3", fin: false },
          { opcode: OP.CONT, payload: "fragment4", fin: false },
          { opcode: OP.PING, payload: "pongme 2!" },
          { opcode: OP.CONT, payload: "fragment5" },
        ],
        chunking,
      );
      expect(summarize(events)).toEqual([PING("pongme 1!"), PING("pongme 2!"), T("fragment1fragment2fragment3fragment4fragment5")]);
      const texts = events.map((event) => (event instanceof Ping ? "|" : (event as TextMessage).data)).join("");
      expect(texts).toBe("fragment1fragment2|fragment3fragment4|fragment5");
    });

    it("empty fragments: first, middle and last, and a message of empty fragments only", () => {
      const { events } = run(
        role,
        [
          { opcode: OP.TEXT, fin: false },
          { opcode: OP.CONT, payload: "a", fin: false },
          { opcode: OP.CONT, fin: false },
          { opcode: OP.CONT, payload: "b", fin: false },
          { opcode: OP.CONT },
          { opcode: OP.BINARY, fin: false },
          { opcode: OP.CONT, fin: false },
          { opcode: OP.CONT },
          { opcode: OP.TEXT, fin: false },
          { opcode: OP.CONT },
        ],
        chunking,
      );
      expect(summarize(events)).toEqual([T("ab"), B(""), T("")]);
    });
  });
});
