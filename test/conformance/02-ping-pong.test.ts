/**
 * Autobahn family 2 (pings and pongs), RFC 6455 §5.5.2–5.5.3: pings of every allowed payload
 * size come whole with their payload; a 126-byte ping fails the connection with 1002; pongs,
 * solicited or not, are yielded and need no answer; `response()` echoes the payload.
 */
import { describe, expect, it } from "vitest";
import { ConnectionState, Ping, Pong } from "../../src/index.js";
import { CLOSE, FAIL, PING, PONG, T, codes, deliver, deliverSteps, open, summarize } from "./driver.js";
import { expectFailure, expectCleanClose } from "./closing.js";
import { OP, ROLES, closeBody, concat, peerFrame, peerFrames, pseudoRandomBytes, readFrames } from "./wire.js";

const ALL_BYTES = Uint8Array.from({ length: 125 }, (_, i) => (i * 53 + 7) & 0xff);

describe.each(ROLES)("2 pings and pongs, %s receiving", (role) => {
  it("2.1–2.4 a ping of every payload size 0..125 comes whole; its response is a pong with the same payload", () => {
    const { conn } = open(role);
    for (let size = 0; size <= 125; size++) {
      const payload = pseudoRandomBytes(size, size + 11);
      const events = deliver(conn, peerFrame(role, { opcode: OP.PING, payload }));
      expect(events, `size ${size}`).toHaveLength(1);
      const ping = events[0] as Ping;
      expect(ping).toBeInstanceOf(Ping);
      expect(ping.payload).toEqual(payload);
      const [pong] = readFrames(conn.send(ping.response()));
      expect(pong).toMatchObject({ fin: true, rsv: 0, opcode: OP.PONG, masked: role === "client" });
      expect(pong!.payload).toEqual(payload);
    }
    expect(conn.state).toBe(ConnectionState.OPEN);
  });

  it("2.3 a ping with a binary payload (bytes that are not UTF-8)", () => {
    const { conn } = open(role);
    const payload = Uint8Array.of(0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff);
    expect(summarize(deliver(conn, peerFrame(role, { opcode: OP.PING, payload })))).toEqual([PING(payload)]);
  });

  it.each([
    ["126 bytes (16-bit length)", 126],
    ["127 bytes", 127],
    ["65536 bytes (64-bit length)", 65536],
  ])("2.5 a ping of %s: 1002 as soon as the second header byte arrives", (_name, size) => {
    const { conn } = open(role);
    const wire = peerFrame(role, { opcode: OP.PING, payload: new Uint8Array(size) });
    // The 7-bit length field (126 or 127) already says "more than 125": no need to wait.
    const steps = deliverSteps(conn, wire.subarray(0, 4), "bytes");
    expect(steps[0]).toEqual([]);
    expect(steps.slice(2).flat()).toEqual([]);
    const events = steps[1]!;
    expect(codes(summarize(events))).toEqual([FAIL(1002)]);
    expectFailure(role, conn, events, 1002);
  });

  it("a pong of 126 bytes: 1002", () => {
    const { conn } = open(role);
    const events = deliver(conn, peerFrame(role, { opcode: OP.PONG, payload: new Uint8Array(126) }));
    expect(codes(summarize(events))).toEqual([FAIL(1002)]);
    expectFailure(role, conn, events, 1002);
  });

  it("2.6 a 125-byte ping sent one byte at a time comes once, after its last byte", () => {
    const { conn } = open(role);
    const wire = peerFrame(role, { opcode: OP.PING, payload: ALL_BYTES });
    const steps = deliverSteps(conn, wire, "bytes");
    expect(steps.slice(0, -1).flat()).toEqual([]);
    expect(summarize(steps.at(-1)!)).toEqual([PING(ALL_BYTES)]);
  });

  it("2.7 an unsolicited pong without payload is yielded; nothing is owed", () => {
    const { conn } = open(role);
    const events = deliver(conn, peerFrame(role, { opcode: OP.PONG }));
    expect(events).toHaveLength(1);
    expect(events[0]).toBeInstanceOf(Pong);
    expect((events[0] as Pong).payload).toEqual(new Uint8Array(0));
    expect(conn.state).toBe(ConnectionState.OPEN);
  });

  it("2.8 an unsolicited pong with payload is yielded with it", () => {
    const { conn } = open(role);
    expect(summarize(deliver(conn, peerFrame(role, { opcode: OP.PONG, payload: "unsolicited pong payload" })))).toEqual([
      PONG("unsolicited pong payload"),
    ]);
  });

  it("2.9 an unsolicited pong, then a ping: both yielded in order", () => {
    const { conn } = open(role);
    const wire = peerFrames(role, { opcode: OP.PONG, payload: "unsolicited pong payload" }, { opcode: OP.PING, payload: "ping payload" });
    expect(summarize(deliver(conn, wire))).toEqual([PONG("unsolicited pong payload"), PING("ping payload")]);
  });

  it.each([
    ["in one chunk (2.10)", "whole"],
    ["one byte at a time (2.11)", "bytes"],
  ] as const)("10 pings %s: 10 Ping events in order", (_name, chunking) => {
    const { conn } = open(role);
    const payloads = Array.from({ length: 10 }, (_, i) => `payload-${i}`);
    const wire = concat(...payloads.map((payload) => peerFrame(role, { opcode: OP.PING, payload })));
    expect(summarize(deliver(conn, wire, chunking))).toEqual(payloads.map((payload) => PING(payload)));
  });

  it("pings and pongs between messages keep their place", () => {
    const { conn } = open(role);
    const wire = peerFrames(
      role,
      { opcode: OP.TEXT, payload: "one" },
      { opcode: OP.PING, payload: "p" },
      { opcode: OP.PONG, payload: "q" },
      { opcode: OP.TEXT, payload: "two" },
      { opcode: OP.CLOSE, payload: closeBody(1000) },
    );
    const events = deliver(conn, wire, 3);
    expect(summarize(events)).toEqual([T("one"), PING("p"), PONG("q"), T("two"), CLOSE(1000)]);
    expectCleanClose(role, conn, events, 1000);
  });
});
