/**
 * Drives one WSConnection from wire bytes, as Autobahn drives an endpoint: the handshake is read
 * from bytes a real peer would send, frames are fed in any chunking, and the events are collected
 * after every chunk (so a test can see *when* an event came, e.g. fail-fast UTF-8).
 */
import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  ConnectionState,
  ConnectionType,
  Ping,
  Pong,
  RejectConnection,
  RejectData,
  Request,
  TextMessage,
  WSConnection,
  type ConnectionOptions,
  type Event,
  type Extension,
} from "../../src/index.js";
import { acceptToken, bytes, headerValue, toHex, upgradeRequest, upgradeResponse, SAMPLE_KEY, type Role } from "./wire.js";

export interface OpenOptions {
  options?: ConnectionOptions;
  /** Server under test: the Sec-WebSocket-Extensions header the client sends. */
  offer?: string;
  /** Server under test: the extensions it accepts with. */
  acceptExtensions?: Extension[];
  /** Client under test: the extensions it offers. */
  offerExtensions?: Extension[];
  /** Client under test: the Sec-WebSocket-Extensions header of the 101 response. */
  response?: string;
}

export interface Opened {
  conn: WSConnection;
  /** The HTTP head our endpoint wrote (request for a client, 101 response for a server). */
  head: Uint8Array;
}

/** An OPEN connection of `role` whose handshake was read from a peer's wire bytes. */
export function open(role: Role, setup: OpenOptions = {}): Opened {
  if (role === "server") {
    const conn = new WSConnection(ConnectionType.SERVER, setup.options);
    conn.receiveData(upgradeRequest(setup.offer === undefined ? [] : [`Sec-WebSocket-Extensions: ${setup.offer}`]));
    const received = drain(conn);
    if (received.length !== 1 || !(received[0] instanceof Request)) throw new Error(`no Request: ${received.map((e) => e.type)}`);
    const head = conn.send(new AcceptConnection({ extensions: setup.acceptExtensions ?? [] }));
    if (headerValue(head, "sec-websocket-accept") !== acceptToken(SAMPLE_KEY)) throw new Error("wrong Sec-WebSocket-Accept");
    if (conn.state !== ConnectionState.OPEN) throw new Error(`server not OPEN: ${conn.state}`);
    return { conn, head };
  }
  const conn = new WSConnection(ConnectionType.CLIENT, setup.options);
  const head = conn.send(new Request({ host: "server.example.com", target: "/chat", extensions: setup.offerExtensions ?? [] }));
  const key = headerValue(head, "sec-websocket-key");
  if (key === null) throw new Error("no Sec-WebSocket-Key");
  conn.receiveData(upgradeResponse(key, setup.response === undefined ? [] : [`Sec-WebSocket-Extensions: ${setup.response}`]));
  const received = drain(conn);
  if (received.length !== 1 || !(received[0] instanceof AcceptConnection)) throw new Error(`not accepted: ${received.map((e) => e.type)}`);
  if (conn.state !== ConnectionState.OPEN) throw new Error(`client not OPEN: ${conn.state}`);
  return { conn, head };
}

export function drain(conn: { events(): Generator<Event> }): Event[] {
  return [...conn.events()];
}

/** How bytes are cut into receiveData calls: whole, one byte each, chops of n, or at offsets. */
export type Chunking = "whole" | "bytes" | number | readonly number[];

/** The chunks (copies: a connection may unmask in place) of `data` cut as `chunking` says. */
export function chunksOf(data: Uint8Array, chunking: Chunking = "whole"): Uint8Array[] {
  if (chunking === "whole") return [data.slice()];
  if (chunking === "bytes") chunking = 1;
  const chunks: Uint8Array[] = [];
  if (typeof chunking === "number") {
    for (let at = 0; at < data.length; at += chunking) chunks.push(data.slice(at, at + chunking));
    return chunks;
  }
  const cuts = [...new Set(chunking.filter((at) => at > 0 && at < data.length))].sort((a, b) => a - b);
  let start = 0;
  for (const cut of [...cuts, data.length]) {
    chunks.push(data.slice(start, cut));
    start = cut;
  }
  return chunks;
}

/** Feed `data` in `chunking`; the events drained after each chunk. */
export function deliverSteps(conn: WSConnection, data: Uint8Array, chunking: Chunking = "whole"): Event[][] {
  return chunksOf(data, chunking).map((chunk) => {
    conn.receiveData(chunk);
    return drain(conn);
  });
}

/** Feed `data` in `chunking`; every event, in order. */
export function deliver(conn: WSConnection, data: Uint8Array, chunking: Chunking = "whole"): Event[] {
  return deliverSteps(conn, data, chunking).flat();
}

/**
 * Events with message chunks joined: one record per message (at the event that finished it),
 * one per control event; a message still unfinished at a close or at the end is a `partial…`
 * record.
 */
export type Summary =
  | { text: string }
  | { binary: string }
  | { partialText: string }
  | { partialBinary: string }
  | { ping: string }
  | { pong: string }
  | { close: number; reason: string | null }
  | { reject: number; hasBody: boolean }
  | { rejectBody: string }
  | { partialRejectBody: string }
  | { other: string };

export function summarize(events: readonly Event[]): Summary[] {
  const out: Summary[] = [];
  let text: string[] | null = null;
  let binary: Uint8Array[] | null = null;
  let body: Uint8Array[] | null = null;
  for (const event of events) {
    if (event instanceof TextMessage) {
      if (binary !== null) throw new Error("a text chunk inside a binary message");
      (text ??= []).push(event.data);
      if (event.messageFinished) {
        out.push({ text: text.join("") });
        text = null;
      }
    } else if (event instanceof BytesMessage) {
      if (text !== null) throw new Error("a binary chunk inside a text message");
      (binary ??= []).push(event.data);
      if (event.messageFinished) {
        out.push({ binary: toHex(Buffer.concat(binary)) });
        binary = null;
      }
    } else if (event instanceof Ping) {
      out.push({ ping: toHex(event.payload) });
    } else if (event instanceof Pong) {
      out.push({ pong: toHex(event.payload) });
    } else if (event instanceof CloseConnection) {
      // Nothing of the message in progress can follow a close: report what came of it.
      if (text !== null) out.push({ partialText: text.join("") });
      if (binary !== null) out.push({ partialBinary: toHex(Buffer.concat(binary)) });
      text = binary = null;
      out.push({ close: event.code, reason: event.reason });
    } else if (event instanceof RejectConnection) {
      out.push({ reject: event.statusCode, hasBody: event.hasBody });
    } else if (event instanceof RejectData) {
      (body ??= []).push(event.data);
      if (event.bodyFinished) {
        out.push({ rejectBody: toHex(Buffer.concat(body)) });
        body = null;
      }
    } else {
      out.push({ other: event.type });
    }
  }
  if (body !== null) out.push({ partialRejectBody: toHex(Buffer.concat(body)) });
  if (text !== null) out.push({ partialText: text.join("") });
  if (binary !== null) out.push({ partialBinary: toHex(Buffer.concat(binary)) });
  return out;
}

// Shorthands for expected summaries.
export const T = (data: string): Summary => ({ text: data });
export const B = (data: Uint8Array | string): Summary => ({ binary: toHex(bytes(data)) });
export const PING = (payload: Uint8Array | string = new Uint8Array(0)): Summary => ({ ping: toHex(bytes(payload)) });
export const PONG = (payload: Uint8Array | string = new Uint8Array(0)): Summary => ({ pong: toHex(bytes(payload)) });
export const CLOSE = (code: number, reason: string | null = ""): Summary => ({ close: code, reason });

/** Summaries without failure reasons (their wording is the codec's, not the RFC's). */
export function codes(summaries: Summary[]): Summary[] {
  return summaries.map((s) => ("close" in s ? { close: s.close, reason: null } : s));
}

export const FAIL = (code: number): Summary => ({ close: code, reason: null });
