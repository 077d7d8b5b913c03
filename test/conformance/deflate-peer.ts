/**
 * The peer's side of permessage-deflate (RFC 7692) for the conformance suite, independent of
 * pako: node's zlib compresses what the peer sends (its history carried by a preset dictionary,
 * which is what context takeover amounts to), and ReferenceInflater (./inflate-reference.ts)
 * decodes what our endpoint sends and checks its window and context rules. The negotiated
 * parameters are read back from the handshake headers on the wire.
 */
import zlib from "node:zlib";
import { BytesMessage, PerMessageDeflate, TextMessage, type PerMessageDeflateOptions, type WSConnection } from "../../src/index.js";
import { chunksOf, deliver, open, summarize, type Summary } from "./driver.js";
import { ReferenceInflater } from "./inflate-reference.js";
import { OP, RSV1, concatAll, headerValue, peerFrame, readFrames, toHex, type FrameSpec, type Role } from "./wire.js";

export interface Negotiated {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

/** The parameters of a permessage-deflate response element (RFC 7692 §7.1), parsed here. */
export function parseResponse(element: string): Negotiated {
  const [name, ...params] = element.split(";").map((part) => part.trim());
  if (name !== "permessage-deflate") throw new Error(`not permessage-deflate: ${element}`);
  const result: Negotiated = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
  for (const param of params) {
    const [key, raw] = param.split("=").map((part) => part.trim());
    const value = raw === undefined ? undefined : Number(raw.replace(/"/g, ""));
    if (key === "server_no_context_takeover") result.serverNoContextTakeover = true;
    else if (key === "client_no_context_takeover") result.clientNoContextTakeover = true;
    else if (key === "server_max_window_bits") result.serverMaxWindowBits = value!;
    else if (key === "client_max_window_bits") result.clientMaxWindowBits = value!;
    else throw new Error(`unknown parameter ${param}`);
  }
  return result;
}

/** The peer's compressor: zlib raw deflate, sync-flushed, trailer removed (RFC 7692 §7.2.1). */
export class ReferenceDeflater {
  private history = Buffer.alloc(0);

  constructor(
    readonly windowBits: number,
    readonly contextTakeover: boolean,
    private readonly finish = false,
  ) {}

  message(data: Uint8Array): Uint8Array {
    const options: zlib.ZlibOptions = {
      windowBits: this.windowBits,
      finishFlush: this.finish ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
    };
    if (this.contextTakeover && this.history.length > 0) options.dictionary = this.history;
    const out = zlib.deflateRawSync(data, options);
    if (this.contextTakeover) this.history = Buffer.concat([this.history, data]).subarray(-32768);
    if (this.finish) return out; // ends with a BFINAL block: sent as is
    if (out.length < 4 || out.readUInt32BE(out.length - 4) !== 0x0000ffff) throw new Error("no sync-flush trailer");
    return out.subarray(0, out.length - 4);
  }
}

export interface DeflateSession {
  role: Role;
  conn: WSConnection;
  negotiated: Negotiated;
  /** The element our endpoint wrote (its response, or its offer). */
  written: string;
  /** Compresses what the peer sends us. */
  peerDeflater: ReferenceDeflater;
  /** Decodes what we send the peer. */
  peerInflater: ReferenceInflater;
}

/**
 * A connection with permessage-deflate negotiated over the wire. Server under test: the client's
 * `offer` header, our `ours` options. Client under test: our `ours` options, the server's
 * `response` element.
 */
export function deflateSession(
  role: Role,
  ours: PerMessageDeflateOptions,
  peer: { offer?: string; response?: string },
  options: { maxMessageSize?: number } = {},
): DeflateSession {
  const extension = new PerMessageDeflate({ threshold: 0, ...ours });
  let written: string;
  let negotiated: Negotiated;
  let conn: WSConnection;
  if (role === "server") {
    const opened = open("server", { offer: peer.offer ?? "permessage-deflate", acceptExtensions: [extension], options });
    written = headerValue(opened.head, "sec-websocket-extensions") ?? "";
    negotiated = parseResponse(written);
    conn = opened.conn;
  } else {
    const response = peer.response ?? "permessage-deflate";
    const opened = open("client", { offerExtensions: [extension], response, options });
    written = headerValue(opened.head, "sec-websocket-extensions") ?? "";
    negotiated = parseResponse(response);
    conn = opened.conn;
  }
  if (!extension.enabled()) throw new Error("permessage-deflate was not enabled");
  const peerIsClient = role === "server";
  const peerDeflater = peerIsClient
    ? new ReferenceDeflater(negotiated.clientMaxWindowBits, !negotiated.clientNoContextTakeover)
    : new ReferenceDeflater(negotiated.serverMaxWindowBits, !negotiated.serverNoContextTakeover);
  const peerInflater = peerIsClient
    ? new ReferenceInflater(negotiated.serverMaxWindowBits, !negotiated.serverNoContextTakeover)
    : new ReferenceInflater(negotiated.clientMaxWindowBits, !negotiated.clientNoContextTakeover);
  return { role, conn, negotiated, written, peerDeflater, peerInflater };
}

export interface TestMessage {
  binary: boolean;
  data: Uint8Array;
}

function expected(message: TestMessage): Summary {
  return message.binary ? { binary: toHex(message.data) } : { text: new TextDecoder().decode(message.data) };
}

/** Frames of one compressed message, its payload cut into `fragment`-byte frames (0: one frame). */
export function compressedFrames(message: TestMessage, payload: Uint8Array, fragment: number): FrameSpec[] {
  const opcode = message.binary ? OP.BINARY : OP.TEXT;
  if (fragment === 0 || payload.length <= fragment) return [{ opcode, payload, rsv: RSV1 }];
  const specs: FrameSpec[] = [];
  for (let at = 0; at < payload.length; at += fragment) {
    specs.push({ opcode: at === 0 ? opcode : OP.CONT, rsv: at === 0 ? RSV1 : 0, payload: payload.subarray(at, at + fragment), fin: at + fragment >= payload.length });
  }
  return specs;
}

/**
 * Peer → us: the peer compresses each message (auto-fragmenting its payload at `fragment`
 * bytes); we must deliver exactly the messages. Returns the summaries (for the caller to compare).
 */
export function peerSends(session: DeflateSession, messages: readonly TestMessage[], fragment: number, chunk = 4096): { got: Summary[]; want: Summary[] } {
  const wire = concatAll(
    messages.flatMap((message) => compressedFrames(message, session.peerDeflater.message(message.data), fragment).map((spec) => peerFrame(session.role, spec))),
  );
  const got = summarize(chunksOf(wire, chunk).flatMap((piece) => deliver(session.conn, piece)));
  return { got, want: messages.map(expected) };
}

/**
 * Us → peer: we send each message (in `fragment`-byte pieces, 0: whole); the peer checks the
 * frames (RSV1 on the first frame only, masking by role) and decodes them with the reference
 * inflater, which enforces the negotiated window and context takeover. Returns the decoded data.
 */
export function weSend(session: DeflateSession, messages: readonly TestMessage[], fragment: number): Array<{ ok: boolean; problem?: string; maxDistance: number }> {
  return messages.map((message) => {
    const pieces = fragment === 0 ? [message.data] : Array.from({ length: Math.max(1, Math.ceil(message.data.length / fragment)) }, (_, i) => message.data.subarray(i * fragment, (i + 1) * fragment));
    const wire = concatAll(
      pieces.map((piece, i) => {
        const messageFinished = i === pieces.length - 1;
        return message.binary
          ? session.conn.send(new BytesMessage({ data: piece, messageFinished }))
          : session.conn.send(new TextMessage({ data: new TextDecoder().decode(piece), messageFinished }));
      }),
    );
    const frames = readFrames(wire);
    const masked = session.role === "client";
    const problems: string[] = [];
    frames.forEach((frame, i) => {
      if (frame.opcode !== (i === 0 ? (message.binary ? OP.BINARY : OP.TEXT) : OP.CONT)) problems.push(`frame ${i}: opcode ${frame.opcode}`);
      if (frame.rsv !== (i === 0 ? RSV1 : 0)) problems.push(`frame ${i}: RSV ${frame.rsv}`);
      if (frame.masked !== masked) problems.push(`frame ${i}: masked ${frame.masked}`);
      if (frame.fin !== (i === frames.length - 1)) problems.push(`frame ${i}: fin ${frame.fin}`);
    });
    let maxDistance = 0;
    try {
      const inflated = session.peerInflater.message(concatAll(frames.map((frame) => frame.payload)));
      maxDistance = inflated.maxDistance;
      if (!Buffer.from(inflated.data).equals(Buffer.from(message.data))) problems.push("inflated data differs");
      if (inflated.final) problems.push("BFINAL set");
    } catch (error) {
      problems.push(`reference inflater: ${(error as Error).message}`);
    }
    return problems.length === 0 ? { ok: true, maxDistance } : { ok: false, problem: problems.join("; "), maxDistance };
  });
}
