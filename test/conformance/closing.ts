/** Assertions on how a connection ends: failed by us (RFC 6455 §7.1.7) or closed cleanly by the peer. */
import { expect } from "vitest";
import { CloseConnection, ConnectionState, type Event, type WSConnection } from "../../src/index.js";
import { drain } from "./driver.js";
import { OP, peerFrame, readClose, type Role } from "./wire.js";

/**
 * The connection was failed with `code` (RFC 6455 §7.1.7): the last event is a CloseConnection
 * with that code and a reason; the statechart records the failure (OPEN.failed); the reply is a
 * close frame with that code; later bytes are discarded and EOF ends it.
 */
export function expectFailure(role: Role, conn: WSConnection, events: readonly Event[], code: number): void {
  const last = events.at(-1);
  expect(last, `events: ${events.map((e) => e.type)}`).toBeInstanceOf(CloseConnection);
  const close = last as CloseConnection;
  expect(close.code).toBe(code);
  expect(close.reason).toBeTruthy();
  expect(conn.state).toBe(ConnectionState.OPEN);
  expect(conn.actor.getSnapshot().value).toEqual({ OPEN: "failed" });
  const reply = readClose(conn.send(close.response()));
  expect(reply.code).toBe(code);
  expect(reply.masked).toBe(role === "client");
  expect(conn.state).toBe(ConnectionState.LOCAL_CLOSING);
  conn.receiveData(peerFrame(role, { opcode: OP.TEXT, payload: "after the failure" }));
  conn.receiveData(peerFrame(role, { opcode: OP.CLOSE, payload: Uint8Array.of(0x03, 0xe8) }));
  expect(drain(conn)).toEqual([]);
  conn.receiveData(null);
  expect(drain(conn)).toEqual([]);
  expect(conn.state).toBe(ConnectionState.CLOSED);
}

/**
 * A clean close by the peer: the CloseConnection moves the connection to REMOTE_CLOSING, our
 * reply echoes the code (1005: an empty close), and the connection is CLOSED.
 */
export function expectCleanClose(role: Role, conn: WSConnection, events: readonly Event[], code: number, reason = ""): void {
  const last = events.at(-1);
  expect(last, `events: ${events.map((e) => e.type)}`).toBeInstanceOf(CloseConnection);
  expect((last as CloseConnection).code).toBe(code);
  expect((last as CloseConnection).reason).toBe(reason);
  expect(conn.state).toBe(ConnectionState.REMOTE_CLOSING);
  const reply = readClose(conn.send((last as CloseConnection).response()));
  expect(reply.code).toBe(code);
  expect(reply.masked).toBe(role === "client");
  expect(conn.state).toBe(ConnectionState.CLOSED);
}
