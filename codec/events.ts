/**
 * The events of the public API, as wsproto's `wsproto.events`: the caller
 * passes them to `send`, and `events()` yields them. They are classes so that `instanceof`
 * works as `isinstance` does in wsproto. Every field is readonly; constructors take one object
 * of fields, with wsproto's defaults.
 *
 * `type` is the class name, defined on the prototype rather than on each instance: messages
 * are created per received frame and an extra own property costs memory and time. Each class
 * declares its `type` as a string literal, so `WebSocketEvent` (the union of the classes
 * `events()` yields) narrows in a `switch (event.type)` without a cast.
 */
import type { Extension } from "./extension.js";
import { encodeUtf8 } from "./utf8.js";
import { fitCloseReason } from "./close.js";

/**
 * HTTP header fields as the public API carries them: an ordered list of [name, value] pairs.
 * Names compare case-insensitively; values are ISO-8859-1 strings as on the wire (each char
 * one byte), so no information is lost between bytes and strings.
 */
export type Headers = Array<[name: string, value: string]>;

const EMPTY = new Uint8Array(0);

export abstract class Event {
  /** The class name ("Request", "TextMessage", …), as a string tag for switch statements. */
  declare readonly type: string;
}

/**
 * Names a value that is not a wsmachine Event, for the LocalProtocolError that refuses it: the
 * Fetch API's `Request` (a global in browsers, Node, Deno and Bun, so a forgotten import
 * silently picks it), a class passed instead of an instance (whose `String()` is its source),
 * or anything else by its tag.
 */
/** An event's type, or what the value is when it is not a wsmachine Event (see describeValue). */
export function eventName(value: unknown): string {
  return value instanceof Event ? value.type : describeValue(value);
}

export function describeValue(value: unknown): string {
  const FetchRequest = (globalThis as { Request?: abstract new (...args: never[]) => object }).Request;
  if (FetchRequest !== undefined && value instanceof FetchRequest) {
    return "the Fetch API's Request, not wsmachine's (a missing import: `import { Request } from \"wsmachine\"`)";

  }
  if (typeof value === "function") {
    const name = value.name || "an anonymous class";
    return `the class ${name} itself, not an event (create one: \`new ${name}({ … })\`)`;
  }
  return `${Object.prototype.toString.call(value)} (not a wsmachine Event)`;
}

function defineType(cls: { prototype: object }, name: string): void {
  Object.defineProperty(cls.prototype, "type", { value: name, enumerable: false, writable: false });
}

export interface RequestFields {
  host: string;
  target: string;
  /** Client: the extensions to offer. Server, on receipt: the offered extension header values. */
  extensions?: ReadonlyArray<Extension | string>;
  extraHeaders?: Headers;
  subprotocols?: readonly string[];
}

/** The opening handshake request (RFC 6455 §4.1). A client sends it; a server receives it. */
export class Request extends Event {
  declare readonly type: "Request";
  readonly host: string;
  readonly target: string;
  readonly extensions: ReadonlyArray<Extension | string>;
  readonly extraHeaders: Headers;
  readonly subprotocols: readonly string[];

  constructor(fields: RequestFields) {
    super();
    this.host = fields.host;
    this.target = fields.target;
    this.extensions = fields.extensions ?? [];
    this.extraHeaders = fields.extraHeaders ?? [];
    this.subprotocols = fields.subprotocols ?? [];
  }
}
defineType(Request, "Request");

export interface AcceptConnectionFields {
  subprotocol?: string | null;
  extensions?: readonly Extension[];
  extraHeaders?: Headers;
}

/** The server's acceptance of the handshake (HTTP 101). A server sends it; a client receives it. */
export class AcceptConnection extends Event {
  declare readonly type: "AcceptConnection";
  readonly subprotocol: string | null;
  readonly extensions: readonly Extension[];
  readonly extraHeaders: Headers;

  constructor(fields: AcceptConnectionFields = {}) {
    super();
    this.subprotocol = fields.subprotocol ?? null;
    this.extensions = fields.extensions ?? [];
    this.extraHeaders = fields.extraHeaders ?? [];
  }
}
defineType(AcceptConnection, "AcceptConnection");

export interface RejectConnectionFields {
  statusCode?: number;
  headers?: Headers;
  hasBody?: boolean;
}

/** The server's refusal of the handshake (any final status but 101). */
export class RejectConnection extends Event {
  declare readonly type: "RejectConnection";
  readonly statusCode: number;
  readonly headers: Headers;
  readonly hasBody: boolean;

  constructor(fields: RejectConnectionFields = {}) {
    super();
    this.statusCode = fields.statusCode ?? 400;
    this.headers = fields.headers ?? [];
    this.hasBody = fields.hasBody ?? false;
  }
}
defineType(RejectConnection, "RejectConnection");

export interface RejectDataFields {
  data: Uint8Array;
  bodyFinished?: boolean;
}

/** A chunk of a rejection's body. */
export class RejectData extends Event {
  declare readonly type: "RejectData";
  readonly data: Uint8Array;
  readonly bodyFinished: boolean;

  constructor(fields: RejectDataFields) {
    super();
    this.data = fields.data;
    this.bodyFinished = fields.bodyFinished ?? true;
  }
}
defineType(RejectData, "RejectData");

export interface CloseConnectionFields {
  code: number;
  reason?: string | null;
}

/** A close frame, sent or received (RFC 6455 §5.5.1, §7). */
export class CloseConnection extends Event {
  declare readonly type: "CloseConnection";
  readonly code: number;
  readonly reason: string | null;

  constructor(fields: CloseConnectionFields) {
    super();
    this.code = fields.code;
    this.reason = fields.reason ?? null;
  }

  /**
   * The close frame to send back (RFC 6455 §5.5.1: echo the status code). Its reason is this
   * one cut to the 123 bytes of UTF-8 a close frame carries: a protocol failure's reason is a
   * diagnostic that may be longer, and the reply must still be sendable.
   */
  response(): CloseConnection {
    return new CloseConnection({ code: this.code, reason: this.reason === null ? null : fitCloseReason(this.reason) });
  }
}
defineType(CloseConnection, "CloseConnection");

export interface MessageFields<T> {
  data: T;
  frameFinished?: boolean;
  messageFinished?: boolean;
}

/** A chunk of a data message; `messageFinished` marks its last chunk. */
export class Message<T extends string | Uint8Array = string | Uint8Array> extends Event {
  declare readonly type: "Message" | "TextMessage" | "BytesMessage" | "TextBytesMessage";
  readonly data: T;
  readonly frameFinished: boolean;
  readonly messageFinished: boolean;

  constructor(fields: MessageFields<T>) {
    super();
    this.data = fields.data;
    this.frameFinished = fields.frameFinished ?? true;
    this.messageFinished = fields.messageFinished ?? true;
  }
}
defineType(Message, "Message");

/** A chunk of a text message (opcode 0x1), already validated and decoded from UTF-8. */
export class TextMessage extends Message<string> {
  declare readonly type: "TextMessage";
}
defineType(TextMessage, "TextMessage");

/**
 * A chunk of a text message (opcode 0x1) as its UTF-8 bytes: validated (RFC 6455 §8.1), not
 * decoded. Received with the `textAs: "bytes"` option, for applications that forward or echo
 * text (no string is made and encoded again); sent as a text frame, after the same validation
 * (a LocalProtocolError for bytes that are not UTF-8). A code point may be split between the
 * chunks of a message.
 */
export class TextBytesMessage extends Message<Uint8Array> {
  declare readonly type: "TextBytesMessage";
}
defineType(TextBytesMessage, "TextBytesMessage");

/** A chunk of a binary message (opcode 0x2). */
export class BytesMessage extends Message<Uint8Array> {
  declare readonly type: "BytesMessage";
}
defineType(BytesMessage, "BytesMessage");

export interface PingPongFields {
  /**
   * Application data, at most 125 bytes (RFC 6455 §5.5). A string is sent as its UTF-8 bytes,
   * as wsproto's `Ping(payload=b"...")`; the event's `payload` is always the bytes.
   */
  payload?: Uint8Array | string;
}

function payloadBytes(payload: Uint8Array | string | undefined): Uint8Array {
  if (payload === undefined) return EMPTY;
  return typeof payload === "string" ? encodeUtf8(payload) : payload;
}

/** A ping (RFC 6455 §5.5.2); answer it with `response()`. */
export class Ping extends Event {
  declare readonly type: "Ping";
  readonly payload: Uint8Array;

  constructor(fields: PingPongFields = {}) {
    super();
    this.payload = payloadBytes(fields.payload);
  }

  /** The Pong to send back, with the same payload (RFC 6455 §5.5.3). */
  response(): Pong {
    return new Pong({ payload: this.payload });
  }
}
defineType(Ping, "Ping");

/** A pong (RFC 6455 §5.5.3), solicited or not. */
export class Pong extends Event {
  declare readonly type: "Pong";
  readonly payload: Uint8Array;

  constructor(fields: PingPongFields = {}) {
    super();
    this.payload = payloadBytes(fields.payload);
  }
}
defineType(Pong, "Pong");

/**
 * Every event `events()` yields and the statechart's `ws.event` carries: a discriminated union
 * on `type`, so `switch (event.type) { case "TextMessage": event.data }` narrows to the class
 * (`instanceof` works as well). `Message` is only their common base: a received data message
 * is always a `TextMessage` (a `TextBytesMessage` with `textAs: "bytes"`) or a `BytesMessage`.
 */
export type WebSocketEvent =
  | Request
  | AcceptConnection
  | RejectConnection
  | RejectData
  | CloseConnection
  | TextMessage
  | TextBytesMessage
  | BytesMessage
  | Ping
  | Pong;

/** The `type` tags of `WebSocketEvent`: "Request", "TextMessage", … */
export type WebSocketEventType = WebSocketEvent["type"];
