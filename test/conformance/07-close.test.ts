/**
 * Autobahn family 7 (close handling), RFC 6455 §5.5.1, §7: the closing handshake from either
 * side, data after a close frame, close payload sizes, close codes and reasons.
 *
 * Close codes. RFC 6455 §7.4.1 defines 1000–1003 and 1007–1011, reserves 1004, and forbids 1005,
 * 1006 and 1015 on the wire; §7.4.2 leaves the rest of 1000–2999 to the IANA registry, 3000–3999
 * to registered applications and 4000–4999 to private use. Since then IANA has registered 1012
 * (Service Restart), 1013 (Try Again Later) and 1014 (Bad Gateway). Decision: wsmachine accepts
 * 1012–1014 (they are assigned in the registry §7.4.2 points to; Autobahn 7.7/7.9 list neither
 * way) and fails the connection with 1002 for every code the registry does not assign — 0–999,
 * 1004–1006, 1015, 1016–2999 — and for ≥ 5000 (which Autobahn 7.13 leaves "informational").
 */
import { describe, expect, it } from "vitest";
import { CloseConnection, ConnectionState, LocalProtocolError, Ping, TextMessage } from "../../src/index.js";
import { CLOSE, FAIL, PING, T, codes, deliver, deliverSteps, drain, open, summarize } from "./driver.js";
import { expectFailure, expectCleanClose } from "./closing.js";
import { OP, ROLES, bytes, closeBody, concat, hex, peerFrame, peerFrames, readClose } from "./wire.js";

const VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
const INVALID_CODES = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];

describe.each(ROLES)("7 close handling, %s receiving", (role) => {
  describe("7.1 the closing handshake and data after it", () => {
    it("7.1.1 a text, then a close: both delivered; we answer and are CLOSED", () => {
      const { conn } = open(role);
      const events = deliver(conn, peerFrames(role, { opcode: OP.TEXT, payload: "Hello World!" }, { opcode: OP.CLOSE, payload: closeBody(1000) }));
      expect(summarize(events)).toEqual([T("Hello World!"), CLOSE(1000)]);
      expectCleanClose(role, conn, events, 1000);
    });

    it.each([
      ["7.1.2 a second close", { opcode: OP.CLOSE, payload: closeBody(1001) }],
      ["7.1.3 a ping", { opcode: OP.PING, payload: "Hello World!" }],
      ["7.1.4 a text", { opcode: OP.TEXT, payload: "Hello World!" }],
      ["an invalid frame", { opcode: 0x5, rsv: 7 }],
    ])("%s after the close is ignored, in the same chunk or later", (_name, after) => {
      for (const later of [false, true]) {
        const { conn } = open(role);
        const close = peerFrame(role, { opcode: OP.CLOSE, payload: closeBody(1000) });
        const next = peerFrame(role, after);
        const events = later ? [...deliver(conn, close), ...deliver(conn, next)] : deliver(conn, concat(close, next));
        expect(summarize(events)).toEqual([CLOSE(1000)]);
        expect(conn.state).toBe(ConnectionState.REMOTE_CLOSING);
        expectCleanClose(role, conn, events, 1000);
      }
    });

    it("7.1.5 a fragment, a close, the rest: the message stays unfinished", () => {
      const { conn } = open(role);
      const wire = peerFrames(
        role,
        { opcode: OP.TEXT, payload: "fragment1", fin: false },
        { opcode: OP.CLOSE, payload: closeBody(1000) },
        { opcode: OP.CONT, payload: "fragment2" },
      );
      const events = deliver(conn, wire);
      expect(summarize(events)).toEqual([{ partialText: "fragment1" }, CLOSE(1000)]);
      expectCleanClose(role, conn, events, 1000);
    });

    it("7.1.6 a 256 KiB text, a close, a ping, in chops of 1000: text and close, not the ping", () => {
      const { conn } = open(role);
      const text = "BAsd7&jh23".repeat(26214).slice(0, 256 * 1024);
      const wire = peerFrames(role, { opcode: OP.TEXT, payload: text }, { opcode: OP.CLOSE, payload: closeBody(1000) }, { opcode: OP.PING });
      const events = deliver(conn, wire, 1000);
      expect(summarize(events)).toEqual([T(text), CLOSE(1000)]);
      expectCleanClose(role, conn, events, 1000);
    });

    it("we close first: LOCAL_CLOSING still delivers the peer's data; its close ends it (CLOSED)", () => {
      const { conn } = open(role);
      const sent = readClose(conn.send(new CloseConnection({ code: 1001, reason: "going" })));
      expect(sent).toMatchObject({ code: 1001, reason: "going", masked: role === "client" });
      expect(conn.state).toBe(ConnectionState.LOCAL_CLOSING);
      const events = deliver(conn, peerFrames(role, { opcode: OP.TEXT, payload: "late" }, { opcode: OP.PING, payload: "p" }, { opcode: OP.CLOSE, payload: closeBody(1001) }));
      expect(summarize(events)).toEqual([T("late"), PING("p"), CLOSE(1001)]);
      expect(conn.state).toBe(ConnectionState.CLOSED);
      // RFC 6455 §7.1.1 / API: bytes after CLOSED are a caller error; EOF is not.
      expect(() => conn.receiveData(peerFrame(role, { opcode: OP.TEXT, payload: "x" }))).toThrow(LocalProtocolError);
      conn.receiveData(null);
      expect(drain(conn)).toEqual([]);
    });

    it("in REMOTE_CLOSING only a close may be sent; EOF before it closes without a second event", () => {
      const { conn } = open(role);
      deliver(conn, peerFrame(role, { opcode: OP.CLOSE, payload: closeBody(1000) }));
      expect(conn.state).toBe(ConnectionState.REMOTE_CLOSING);
      expect(() => conn.send(new TextMessage({ data: "too late" }))).toThrow(LocalProtocolError);
      expect(() => conn.send(new Ping())).toThrow(LocalProtocolError);
      expect(conn.state).toBe(ConnectionState.REMOTE_CLOSING);
      conn.receiveData(null);
      expect(drain(conn)).toEqual([]);
      expect(conn.state).toBe(ConnectionState.CLOSED);
    });

    it("EOF without a close frame: CloseConnection 1006 after every frame before it", () => {
      const { conn } = open(role);
      conn.receiveData(peerFrame(role, { opcode: OP.TEXT, payload: "last words" }));
      conn.receiveData(null);
      expect(summarize(drain(conn))).toEqual([T("last words"), CLOSE(1006, null)]);
      expect(conn.state).toBe(ConnectionState.CLOSED);
      expect(() => conn.send(new CloseConnection({ code: 1000 }))).toThrow(LocalProtocolError);
    });

    it("EOF in the middle of a frame: what arrived, then 1006", () => {
      const { conn } = open(role);
      const wire = peerFrame(role, { opcode: OP.BINARY, payload: new Uint8Array(100).fill(7) });
      conn.receiveData(wire.slice(0, wire.length - 40));
      conn.receiveData(null);
      expect(summarize(drain(conn))).toEqual([{ partialBinary: "07".repeat(60) }, CLOSE(1006, null)]);
      expect(conn.state).toBe(ConnectionState.CLOSED);
    });
  });

  describe("7.3 close payloads", () => {
    it("7.3.1 an empty close: code 1005, answered with an empty close", () => {
      const { conn } = open(role);
      const events = deliver(conn, peerFrame(role, { opcode: OP.CLOSE }));
      expect(summarize(events)).toEqual([CLOSE(1005)]);
      expectCleanClose(role, conn, events, 1005);
    });

    it("7.3.2 a close with a 1-byte payload: 1002", () => {
      const { conn } = open(role);
      const events = deliver(conn, peerFrame(role, { opcode: OP.CLOSE, payload: [0x03] }));
      expect(codes(summarize(events))).toEqual([FAIL(1002)]);
      expectFailure(role, conn, events, 1002);
    });

    it("7.3.3 code 1000, no reason", () => {
      const { conn } = open(role);
      const events = deliver(conn, peerFrame(role, { opcode: OP.CLOSE, payload: closeBody(1000) }));
      expect(summarize(events)).toEqual([CLOSE(1000)]);
      expectCleanClose(role, conn, events, 1000);
    });

    it("7.3.4 code 1000 with a reason, byte by byte", () => {
      const { conn } = open(role);
      const events = deliver(conn, peerFrame(role, { opcode: OP.CLOSE, payload: closeBody(1000, "Hello World!") }), "bytes");
      expect(summarize(events)).toEqual([CLOSE(1000, "Hello World!")]);
      expectCleanClose(role, conn, events, 1000, "Hello World!");
    });

    it("7.3.5 a 123-byte reason (a 125-byte payload, the most a control frame holds)", () => {
      const { conn } = open(role);
      const reason = "*".repeat(123);
      const events = deliver(conn, peerFrame(role, { opcode: OP.CLOSE, payload: closeBody(1000, reason) }));
      expect(summarize(events)).toEqual([CLOSE(1000, reason)]);
      expectCleanClose(role, conn, events, 1000, reason);
    });

    it("a 123-byte reason of multi-byte characters", () => {
      const { conn } = open(role);
      const reason = "é".repeat(61) + "x"; // 123 bytes
      expect(bytes(reason).length).toBe(123);
      const events = deliver(conn, peerFrame(role, { opcode: OP.CLOSE, payload: closeBody(4000, reason) }), 2);
      expect(summarize(events)).toEqual([CLOSE(4000, reason)]);
      expectCleanClose(role, conn, events, 4000, reason);
    });

    it("7.3.6 a 124-byte reason (a 126-byte payload): 1002, from the header", () => {
      const { conn } = open(role);
      const wire = peerFrame(role, { opcode: OP.CLOSE, payload: closeBody(1000, "*".repeat(124)) });
      const steps = deliverSteps(conn, wire.subarray(0, 2), "bytes");
      expect(steps[0]).toEqual([]);
      expect(codes(summarize(steps[1]!))).toEqual([FAIL(1002)]);
      expectFailure(role, conn, steps.flat(), 1002);
    });

    it.each([
      ["7.5.1 a surrogate in the reason", hex("ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64")],
      ["a reason cut inside a code point", concat(bytes("bye "), hex("e2 82"))],
      ["an overlong in the reason", hex("c0 af")],
    ])("%s: 1007", (_name, reason) => {
      const { conn } = open(role);
      const events = deliver(conn, peerFrame(role, { opcode: OP.CLOSE, payload: closeBody(1000, reason) }));
      expect(codes(summarize(events))).toEqual([FAIL(1007)]);
      expectFailure(role, conn, events, 1007);
    });
  });

  describe("7.7 valid close codes: delivered and echoed", () => {
    it.each(VALID_CODES)("code %i", (code) => {
      const { conn } = open(role);
      const events = deliver(conn, peerFrame(role, { opcode: OP.CLOSE, payload: closeBody(code) }));
      expect(summarize(events)).toEqual([CLOSE(code)]);
      expectCleanClose(role, conn, events, code);
    });
  });

  describe("7.9 and 7.13 codes not allowed on the wire: 1002", () => {
    it.each(INVALID_CODES)("code %i", (code) => {
      const { conn } = open(role);
      const events = deliver(conn, peerFrame(role, { opcode: OP.CLOSE, payload: closeBody(code) }));
      expect(codes(summarize(events))).toEqual([FAIL(1002)]);
      expectFailure(role, conn, events, 1002);
    });
  });

  it("our own close codes follow the same table (send refuses what receive rejects)", () => {
    for (const code of VALID_CODES) {
      const { conn } = open(role);
      expect(readClose(conn.send(new CloseConnection({ code }))).code).toBe(code);
    }
    for (const code of INVALID_CODES.filter((c) => c !== 1005)) {
      const { conn } = open(role);
      expect(() => conn.send(new CloseConnection({ code })), `code ${code}`).toThrow(LocalProtocolError);
      expect(conn.state).toBe(ConnectionState.OPEN);
    }
  });
});
