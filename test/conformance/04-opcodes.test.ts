/**
 * Autobahn family 4 (opcodes), RFC 6455 §5.2: the reserved non-control opcodes 0x3–0x7 and
 * control opcodes 0xB–0xF fail the connection with 1002, with or without payload, alone or after
 * valid traffic, as soon as the opcode's byte has arrived; nothing after them is delivered.
 */
import { describe, expect, it } from "vitest";
import { FAIL, T, codes, deliver, deliverSteps, open, summarize } from "./driver.js";
import { expectFailure } from "./closing.js";
import { OP, ROLES, concat, peerFrame, peerFrames } from "./wire.js";

const RESERVED = [0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf].map((opcode) => [`0x${opcode.toString(16)}`, opcode] as const);

describe.each(ROLES)("4 opcodes, %s receiving", (role) => {
  describe.each(RESERVED)("reserved opcode %s", (_name, opcode) => {
    it("4.x.1 alone, without payload: 1002", () => {
      const { conn } = open(role);
      const events = deliver(conn, peerFrame(role, { opcode }));
      expect(codes(summarize(events))).toEqual([FAIL(1002)]);
      expectFailure(role, conn, events, 1002);
    });

    it("4.x.2 with a payload: 1002", () => {
      const { conn } = open(role);
      const events = deliver(conn, peerFrame(role, { opcode, payload: "reserved opcode payload" }));
      expect(codes(summarize(events))).toEqual([FAIL(1002)]);
      expectFailure(role, conn, events, 1002);
    });

    it("4.x.3 after a valid text, followed by a ping: text, then 1002", () => {
      const { conn } = open(role);
      const wire = peerFrames(role, { opcode: OP.TEXT, payload: "Hello, world!" }, { opcode, payload: "x" }, { opcode: OP.PING });
      const events = deliver(conn, wire);
      expect(codes(summarize(events))).toEqual([T("Hello, world!"), FAIL(1002)]);
      expectFailure(role, conn, events, 1002);
    });

    it("4.x.4 the same octet-wise: the failure comes with the bad header", () => {
      const { conn } = open(role);
      const first = peerFrame(role, { opcode: OP.TEXT, payload: "Hello, world!" });
      const wire = concat(first, peerFrames(role, { opcode, payload: "x".repeat(200) }, { opcode: OP.PING }));
      const steps = deliverSteps(conn, wire, "bytes");
      expect(summarize(steps.slice(0, first.length + 1).flat())).toEqual([T("Hello, world!")]);
      expect(codes(summarize(steps[first.length + 1]!))).toEqual([FAIL(1002)]);
      expect(steps.slice(first.length + 2).flat()).toEqual([]);
    });

    it("inside a fragmented message: 1002", () => {
      const { conn } = open(role);
      const wire = peerFrames(role, { opcode: OP.TEXT, payload: "part", fin: false }, { opcode }, { opcode: OP.CONT, payload: "rest" });
      const events = deliver(conn, wire);
      expect(codes(summarize(events))).toEqual([{ partialText: "part" }, FAIL(1002)]);
      expectFailure(role, conn, events, 1002);
    });
  });
});
