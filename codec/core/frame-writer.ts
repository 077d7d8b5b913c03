/**
 * Encoding what an OPEN connection sends — messages, pings, pongs and its close frame — with the
 * frame encoder made when the connection opened, and reporting each frame to the opt-in trace.
 * `WSConnection` sends messages through here directly (a message costs no statechart step).
 */
import { checkClosePayload } from "../close.js";
import { CloseReason } from "../constants.js";
import { LocalProtocolError } from "../errors.js";
import { BytesMessage, CloseConnection, eventName, Message, Ping, Pong, TextBytesMessage, TextMessage, type Event } from "../events.js";
import type { FrameEncoder } from "../frame-encoder.js";
import { Opcode } from "../frame.js";
import { traceSent } from "./trace.js";
import type { FrameTrace } from "./types.js";

/** A data or ping/pong frame; throws LocalProtocolError (and changes nothing) for an invalid one. */
export function encodeData(encoder: FrameEncoder | null, trace: FrameTrace | null, event: Event): Uint8Array {
  const bytes = encodeDataFrame(encoder, event);
  if (trace !== null) traceSent(trace, bytes);
  return bytes;
}

/**
 * As `encodeData`, as chunks for writev: a message's header, then (server) its payload array
 * uncopied. Pings and pongs come as one chunk.
 */
export function encodeDataParts(encoder: FrameEncoder | null, trace: FrameTrace | null, event: Event): Uint8Array[] {
  let parts: Uint8Array[] | null = null;
  if (encoder !== null) {
    if (event instanceof BytesMessage) parts = encoder.binaryParts(event.data, event.messageFinished);
    else if (event instanceof TextMessage) parts = encoder.textParts(event.data, event.messageFinished);
    else if (event instanceof TextBytesMessage) parts = encoder.textBytesParts(event.data, event.messageFinished);
    else if (event instanceof Message) {
      const data: unknown = event.data;
      if (typeof data === "string") parts = encoder.textParts(data, event.messageFinished);
      else if (data instanceof Uint8Array) parts = encoder.binaryParts(data, event.messageFinished);
    }
  }
  if (parts === null) return [encodeData(encoder, trace, event)];
  if (trace !== null) traceSent(trace, parts[0]!);
  return parts;
}

/** Our close frame; 1005 ("no status") is a close frame without a body (RFC 6455 §7.1.5), as wsproto. */
export function encodeClose(encoder: FrameEncoder | null, trace: FrameTrace | null, event: CloseConnection): Uint8Array {
  const refused = closeRefusal(encoder, event);
  if (refused !== null) throw refused;
  const bytes = event.code === CloseReason.NO_STATUS_RCVD ? encoder!.close() : encoder!.close(event.code, event.reason ?? "");
  if (trace !== null) traceSent(trace, bytes);
  return bytes;
}

/** Why our close frame cannot be sent now, or null; encodes nothing (the guard's question). */
export function closeRefusal(encoder: FrameEncoder | null, event: CloseConnection): LocalProtocolError | null {
  if (encoder === null) return new LocalProtocolError("CloseConnection cannot be sent before the connection is open");
  if (event.code === CloseReason.NO_STATUS_RCVD) {
    if (event.reason === null || event.reason === "") return null;
    return new LocalProtocolError("a close frame without a status code cannot carry a reason (RFC 6455 §5.5.1)");
  }
  try {
    checkClosePayload(event.code, event.reason ?? "");
  } catch (error) {
    if (error instanceof LocalProtocolError) return error;
    throw error;
  }
  return null;
}

/**
 * Why `event` cannot be sent as a data or ping/pong frame now, or null; encodes nothing (see
 * FrameEncoder.refusal): what `snapshot.can()` and the statechart's guard ask.
 */
export function dataRefusal(encoder: FrameEncoder | null, event: Event): LocalProtocolError | null {
  if (encoder === null) return new LocalProtocolError(`${eventName(event)} cannot be sent before the connection is open`);
  if (event instanceof Ping || event instanceof Pong) return encoder.refusal(event instanceof Ping ? Opcode.PING : Opcode.PONG, event.payload.length);
  if (event instanceof TextBytesMessage) return encoder.textRefusal(event.data, event.messageFinished);
  if (event instanceof Message) {
    const data: unknown = event.data;
    if (typeof data === "string") return encoder.textRefusal(data, event.messageFinished);
    if (data instanceof Uint8Array) return encoder.refusal(Opcode.BINARY);
  }
  return new LocalProtocolError(`${eventName(event)} is not a message, ping or pong`);
}

function encodeDataFrame(encoder: FrameEncoder | null, event: Event): Uint8Array {
  if (encoder === null) throw new LocalProtocolError(`${eventName(event)} cannot be sent before the connection is open`);
  if (event instanceof TextMessage) return encoder.text(event.data, event.messageFinished);
  if (event instanceof BytesMessage) return encoder.binary(event.data, event.messageFinished);
  if (event instanceof TextBytesMessage) return encoder.textBytes(event.data, event.messageFinished);
  if (event instanceof Ping) return encoder.ping(event.payload);
  if (event instanceof Pong) return encoder.pong(event.payload);
  if (event instanceof Message) {
    const data: unknown = event.data;
    if (typeof data === "string") return encoder.text(data, event.messageFinished);
    if (data instanceof Uint8Array) return encoder.binary(data, event.messageFinished);
  }
  throw new LocalProtocolError(`${eventName(event)} is not a message, ping or pong`);
}
