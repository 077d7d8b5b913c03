/**
 * Autobahn family 3 (reserved bits), RFC 6455 §5.2: with no extension negotiated, a frame with
 * any RSV bit set fails the connection (1002) — each bit alone and every combination, on data,
 * continuation and control frames — as soon as the first header byte can be judged, and nothing
 * after it is delivered.
 */
import { describe, expect, it } from "vitest";
import { FAIL, PING, T, codes, deliver, deliverSteps, open, summarize } from "./driver.js";
import { expectFailure } from "./closing.js";
import { OP, ROLES, closeBody, concat, peerFrame, peerFrames, type FrameSpec } from "./wire.js";

const RSV_VALUES = [1, 2, 3, 4, 5, 6, 7];
const FRAMES: Array<[string, FrameSpec]> = [
  ["text", { opcode: OP.TEXT, payload: "Hello, world!" }],
  ["binary", { opcode: OP.BINARY, payload: Uint8Array.of(0, 1, 2, 0xff) }],
  ["ping", { opcode: OP.PING, payload: "ping" }],
  ["pong", { opcode: OP.PONG, payload: "pong" }],
  ["close", { opcode: OP.CLOSE, payload: closeBody(1000) }],
  ["empty text", { opcode: OP.TEXT }],
];

describe.each(ROLES)("3 reserved bits, %s receiving", (role) => {
  describe.each(RSV_VALUES)("RSV = %i", (rsv) => {
    it.each(FRAMES)("on a %s frame: 1002, and the frames after it are dropped", (_name, spec) => {
      const { conn } = open(role);
      const wire = concat(
        peerFrame(role, { ...spec, rsv }),
        peerFrames(role, { opcode: OP.TEXT, payload: "after" }, { opcode: OP.PING }),
      );
      const events = deliver(conn, wire);
      expect(codes(summarize(events))).toEqual([FAIL(1002)]);
      expectFailure(role, conn, events, 1002);
    });

    it("on a continuation frame: the first fragment is delivered, then 1002", () => {
      const { conn } = open(role);
      const wire = peerFrames(role, { opcode: OP.TEXT, payload: "frag1", fin: false }, { opcode: OP.CONT, payload: "frag2", rsv });
      const events = deliver(conn, wire);
      expect(codes(summarize(events))).toEqual([{ partialText: "frag1" }, FAIL(1002)]);
      expectFailure(role, conn, events, 1002);
    });
  });

  it("3.2 a valid text, then a text with RSV = 2, then a ping: text, then 1002; the ping is dropped", () => {
    const { conn } = open(role);
    const wire = peerFrames(
      role,
      { opcode: OP.TEXT, payload: "Hello, world!" },
      { opcode: OP.TEXT, payload: "Hello, world!", rsv: 2 },
      { opcode: OP.PING },
    );
    const events = deliver(conn, wire);
    expect(codes(summarize(events))).toEqual([T("Hello, world!"), FAIL(1002)]);
    expectFailure(role, conn, events, 1002);
  });

  it("3.3 the same with RSV = 3, frame-wise chops", () => {
    const { conn } = open(role);
    const specs: FrameSpec[] = [{ opcode: OP.TEXT, payload: "Hello, world!" }, { opcode: OP.TEXT, payload: "Hello, world!", rsv: 3 }, { opcode: OP.PING }];
    const steps = specs.map((spec) => deliver(conn, peerFrame(role, spec)));
    expect(codes(summarize(steps[0]!))).toEqual([T("Hello, world!")]);
    expect(codes(summarize(steps[1]!))).toEqual([FAIL(1002)]);
    expect(steps[2]).toEqual([]);
    expectFailure(role, conn, steps.flat(), 1002);
  });

  it("3.4 the same with RSV = 4, octet-wise chops: the failure comes with the bad frame's first byte", () => {
    const { conn } = open(role);
    const first = peerFrame(role, { opcode: OP.TEXT, payload: "Hello, world!" });
    const wire = concat(first, peerFrames(role, { opcode: OP.TEXT, payload: "Hello, world!", rsv: 4 }, { opcode: OP.PING }));
    const steps = deliverSteps(conn, wire, "bytes");
    expect(summarize(steps.slice(0, first.length).flat())).toEqual([T("Hello, world!")]);
    // The first byte holds RSV; the decoder reads the first two bytes together.
    expect(steps[first.length]).toEqual([]);
    expect(codes(summarize(steps[first.length + 1]!))).toEqual([FAIL(1002)]);
    expect(steps.slice(first.length + 2).flat()).toEqual([]);
    expectFailure(role, conn, steps.flat(), 1002);
  });

  it("3.6 a ping with RSV = 6 after a valid ping", () => {
    const { conn } = open(role);
    const events = deliver(conn, peerFrames(role, { opcode: OP.PING, payload: "a" }, { opcode: OP.PING, payload: "b", rsv: 6 }));
    expect(codes(summarize(events))).toEqual([PING("a"), FAIL(1002)]);
    expectFailure(role, conn, events, 1002);
  });
});
