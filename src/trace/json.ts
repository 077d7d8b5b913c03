/**
 * A flight-recorder entry as one JSON-safe object, one line of a JSON Lines trace file, and
 * back (README, "Flight recorder"). Bytes are base64; with `redact`, every byte array and text
 * payload is replaced by its length, so a redacted trace shows the route of a connection but
 * cannot be replayed. Portable: no Node built-ins.
 */
import type { Extension } from "../../codec/extension.js";
import type { Headers } from "../../codec/events.js";
import { AcceptConnection, BytesMessage, CloseConnection, Event, Message, Ping, Pong, RejectConnection, RejectData, Request, TextBytesMessage, TextMessage } from "../../codec/events.js";
import type { TraceEntry, TraceError, TraceLimits } from "./entries.js";
import type { ConnectionType } from "../../codec/constants.js";

export const TRACE_VERSION = 1;

/** Bytes as base64, or `{ redacted: length }`. */
export type BytesJson = string | { readonly redacted: number };
/** An offered or accepted extension: its name and the parameters it offers (`Extension.offer()`). */
export type ExtensionJson = string | { readonly name: string; readonly offer: string | boolean };

export type EventJson =
  | { readonly type: "Request"; readonly host: string; readonly target: string; readonly subprotocols: readonly string[]; readonly extensions: readonly ExtensionJson[]; readonly extraHeaders: Headers }
  | { readonly type: "AcceptConnection"; readonly subprotocol: string | null; readonly extensions: readonly ExtensionJson[]; readonly extraHeaders: Headers }
  | { readonly type: "RejectConnection"; readonly statusCode: number; readonly headers: Headers; readonly hasBody: boolean }
  | { readonly type: "RejectData"; readonly data: BytesJson; readonly bodyFinished: boolean }
  | { readonly type: "CloseConnection"; readonly code: number; readonly reason: string | null }
  | { readonly type: "TextMessage" | "BytesMessage" | "TextBytesMessage" | "Message"; readonly text: boolean; readonly data: BytesJson; readonly frameFinished: boolean; readonly messageFinished: boolean }
  | { readonly type: "Ping" | "Pong"; readonly payload: BytesJson };

interface Stamp {
  /** Milliseconds since the epoch, supplied by whoever writes the trace (the core has no clock). */
  readonly at: number;
  readonly state: string;
}

export type TraceLine = Stamp &
  (
    | { readonly type: "start"; readonly version: number; readonly role: ConnectionType; readonly limits: TraceLimits; readonly framesOnly: boolean; readonly restored: boolean; readonly redacted: boolean }
    | { readonly type: "receive"; readonly data: BytesJson | null; readonly error: TraceError | null }
    | { readonly type: "upgrade"; readonly headers: Headers; readonly target: string; readonly error: TraceError | null }
    | { readonly type: "send"; readonly event: EventJson; readonly data: readonly BytesJson[] | null; readonly error: TraceError | null }
    | { readonly type: "event"; readonly event: EventJson }
    | { readonly type: "drained" }
    /** The writer's size bound was reached: nothing after this point was recorded. */
    | { readonly type: "truncated"; readonly bytes: number }
  );

export interface LineOptions {
  readonly at: number;
  readonly redact?: boolean;
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

export function encodeBase64(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[v >> 18]! + ALPHABET[(v >> 12) & 63]! + ALPHABET[(v >> 6) & 63]! + ALPHABET[v & 63]!;
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const v = (bytes[i]! << 16) | (rest === 2 ? bytes[i + 1]! << 8 : 0);
    out += ALPHABET[v >> 18]! + ALPHABET[(v >> 12) & 63]! + (rest === 2 ? ALPHABET[(v >> 6) & 63]! : "=") + "=";
  }
  return out;
}

export function decodeBase64(text: string): Uint8Array {
  const clean = text.replace(/=+$/, "");
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let at = 0;
  for (let i = 0; i < clean.length; i++) {
    const digit = DECODE[clean.charCodeAt(i)] ?? -1;
    if (digit < 0) throw new Error(`not base64: ${JSON.stringify(clean.slice(i, i + 8))} at ${i}`);
    value = (value << 6) | digit;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (value >> bits) & 0xff;
    }
  }
  return out;
}

function bytesJson(bytes: Uint8Array, redact: boolean): BytesJson {
  return redact ? { redacted: bytes.length } : encodeBase64(bytes);
}

function extensionJson(extension: Extension | string): ExtensionJson {
  return typeof extension === "string" ? extension : { name: extension.name, offer: extension.offer() };
}

/** An event as plain data (payloads redacted to their length with `redact`). */
export function eventJson(event: Event, redact = false): EventJson {
  if (event instanceof Message) {
    const data: unknown = event.data;
    const text = typeof data === "string";
    const payload: BytesJson = text ? (redact ? { redacted: (data as string).length } : (data as string)) : bytesJson(data as Uint8Array, redact);
    return { type: event.type, text, data: payload, frameFinished: event.frameFinished, messageFinished: event.messageFinished };
  }
  if (event instanceof Ping || event instanceof Pong) return { type: event.type, payload: bytesJson(event.payload, redact) };
  if (event instanceof CloseConnection) return { type: "CloseConnection", code: event.code, reason: event.reason };
  if (event instanceof Request) {
    return { type: "Request", host: event.host, target: event.target, subprotocols: event.subprotocols, extensions: event.extensions.map(extensionJson), extraHeaders: event.extraHeaders };
  }
  if (event instanceof AcceptConnection) {
    return { type: "AcceptConnection", subprotocol: event.subprotocol, extensions: event.extensions.map(extensionJson), extraHeaders: event.extraHeaders };
  }
  if (event instanceof RejectConnection) return { type: "RejectConnection", statusCode: event.statusCode, headers: event.headers, hasBody: event.hasBody };
  if (event instanceof RejectData) return { type: "RejectData", data: bytesJson(event.data, redact), bodyFinished: event.bodyFinished };
  throw new Error(`cannot record ${String((event as { type?: unknown }).type)}: not a wsmachine event`);
}

/** One trace entry as the JSON object of its line. (Written out field by field: spreading a shared stamp object measured several µs per line on Node 20, with or without tsx.) */
export function traceLine(entry: TraceEntry, options: LineOptions): TraceLine {
  const redact = options.redact === true;
  const at = options.at;
  const state = entry.state;
  switch (entry.type) {
    case "start":
      return { at, state, type: "start", version: TRACE_VERSION, role: entry.role, limits: entry.limits, framesOnly: entry.framesOnly, restored: entry.restored, redacted: redact };
    case "receive":
      return { at, state, type: "receive", data: entry.data === null ? null : bytesJson(entry.data, redact), error: entry.error };
    case "upgrade":
      return { at, state, type: "upgrade", headers: entry.headers, target: entry.target, error: entry.error };
    case "send":
      return { at, state, type: "send", event: eventJson(entry.event, redact), data: entry.data === null ? null : entry.data.map((part) => bytesJson(part, redact)), error: entry.error };
    case "event":
      return { at, state, type: "event", event: eventJson(entry.event, redact) };
    case "drained":
      return { at, state, type: "drained" };
  }
}

/** A JSON Lines trace (as `traceWriter` writes it) as its lines; throws an Error naming the bad line. */
export function parseTrace(text: string): TraceLine[] {
  const lines: TraceLine[] = [];
  text.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      throw new Error(`trace line ${index + 1} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (typeof parsed !== "object" || parsed === null || typeof (parsed as { type?: unknown }).type !== "string") {
      throw new Error(`trace line ${index + 1} is not a trace entry (an object with a "type")`);
    }
    lines.push(parsed as TraceLine);
  });
  const start = lines[0];
  if (start?.type !== "start") throw new Error('a trace begins with its "start" line; this one does not (is it a wsmachine trace?)');
  if (start.version !== TRACE_VERSION) throw new Error(`trace version ${start.version} is not supported (this wsmachine reads version ${TRACE_VERSION})`);
  return lines;
}

function bytesOf(json: BytesJson, what: string): Uint8Array {
  if (typeof json !== "string") throw new Error(`${what} was redacted when recorded: a redacted trace cannot be replayed (record without redact)`);
  return decodeBase64(json);
}

/** The bytes of a receive line (null for EOF). */
export function receivedBytes(data: BytesJson | null): Uint8Array | null {
  return data === null ? null : bytesOf(data, "a received chunk");
}

/** Rebuild an event recorded by `eventJson`; extensions come from `extension(name, offer)`. */
export function eventFromJson(json: EventJson, extension: (name: string, offer: string | boolean) => Extension): Event {
  const extensions = (list: readonly ExtensionJson[]): Array<Extension | string> =>
    list.map((item) => (typeof item === "string" ? item : extension(item.name, item.offer)));
  switch (json.type) {
    case "Request":
      return new Request({ host: json.host, target: json.target, subprotocols: json.subprotocols, extensions: extensions(json.extensions), extraHeaders: json.extraHeaders });
    case "AcceptConnection":
      return new AcceptConnection({ subprotocol: json.subprotocol, extensions: extensions(json.extensions) as Extension[], extraHeaders: json.extraHeaders });
    case "RejectConnection":
      return new RejectConnection({ statusCode: json.statusCode, headers: json.headers, hasBody: json.hasBody });
    case "RejectData":
      return new RejectData({ data: bytesOf(json.data, "rejection body data"), bodyFinished: json.bodyFinished });
    case "CloseConnection":
      return new CloseConnection({ code: json.code, reason: json.reason });
    case "Ping":
    case "Pong": {
      const payload = bytesOf(json.payload, `a ${json.type} payload`);
      return json.type === "Ping" ? new Ping({ payload }) : new Pong({ payload });
    }
    default: {
      const fields = { frameFinished: json.frameFinished, messageFinished: json.messageFinished };
      if (json.text) {
        if (typeof json.data !== "string") throw new Error("a text message was redacted when recorded: a redacted trace cannot be replayed (record without redact)");
        return json.type === "Message" ? new Message({ data: json.data, ...fields }) : new TextMessage({ data: json.data, ...fields });
      }
      const data = bytesOf(json.data, "a binary message");
      if (json.type === "TextBytesMessage") return new TextBytesMessage({ data, ...fields });
      return json.type === "Message" ? new Message({ data, ...fields }) : new BytesMessage({ data, ...fields });
    }
  }
}
