/**
 * permessage-deflate (RFC 7692): negotiation in both roles and per-message compression through
 * the `Extension` hooks the frame decoder and encoder call.
 *
 * Interface:
 * ```ts
 * new PerMessageDeflate(options?: PerMessageDeflateOptions)
 * pmd.offer(): string | true                  // client
 * pmd.accept(offer: string): string | true | null   // server; null declines that offer
 * pmd.finalize(response: string): void        // client; throws Error on an unacceptable response
 * pmd.enabled(): boolean
 * pmd.negotiated: NegotiatedParameters | null // what was agreed, once enabled
 * pmd.role: "client" | "server" | null
 * // + the Extension frame hooks (codec/extension.ts)
 * ```
 *
 * One instance serves one connection: negotiation fixes its role and parameters, and it holds
 * the compression state of both directions.
 *
 * Where this differs from wsproto (README, "Differences from wsproto", rows 10–11): parameters are parsed by the RFC 6455
 * §9.1 grammar (quoted values, duplicates, unknown parameters and bad values decline an offer or
 * fail a response, RFC 7692 §5); a server limits the client's window only when the client
 * offered `client_max_window_bits`; the compression state of a message is set by its first
 * frame and untouched by control frames between its fragments; a message that ends with a final
 * (BFINAL) block is followed by decodable messages; inflated output is bounded by the budget the
 * decoder passes (1009).
 */
import type { Extension } from "../../codec/extension.js";
import { NO_RSV_BITS, Opcode, ParseFailed, isControlOpcode, type RsvBits } from "../../codec/frame.js";
import { LocalProtocolError } from "../../codec/errors.js";
import { InflateError, pakoEngine, type DeflateEngine, type Deflater, type Inflater } from "./deflate-engine.js";
import { formatParameters, parseExtensionElement } from "./parameters.js";
import { concatBytes } from "../../codec/bytes.js";

export interface PerMessageDeflateOptions {
  /**
   * Client: offer `client_no_context_takeover` and reset the compressor after every message.
   * Server: require it of the client (it is then sent in the response), letting the server
   * reset its decompressor after every message. Default false.
   */
  clientNoContextTakeover?: boolean;
  /**
   * Client: ask the server to reset its compressor after every message (offered as
   * `server_no_context_takeover`). Server: reset the compressor after every message and say so
   * in the response. Default false. (A server always honours it when a client asks.)
   */
  serverNoContextTakeover?: boolean;
  /**
   * Client: a number (8–15) offers `client_max_window_bits=N` and compresses with at most that
   * window; `true` (the default) offers a bare `client_max_window_bits`, letting the server
   * choose; `false` does not offer the parameter. Server: a number is the largest window the
   * client may compress with; an offer without `client_max_window_bits` (so that the client
   * cannot be limited) is then declined, unless the number is 15. Booleans: no limit.
   */
  clientMaxWindowBits?: number | boolean;
  /**
   * Client: offer `server_max_window_bits=N` (8–15): the server must compress with at most
   * that window. Server: the largest window to compress with (also below what a client asks).
   * Default: no limit (15).
   */
  serverMaxWindowBits?: number;
  /**
   * Messages sent whole (first frame with fin) shorter than this many bytes are sent
   * uncompressed (RSV1 clear). A message streamed in several frames is always compressed, since
   * its total size is unknown when its first frame goes out. Default 1024; 0 compresses all.
   */
  threshold?: number;
  /** zlib compression level 0–9. Default 6 (zlib's default, as ws). */
  level?: number;
  /** zlib memLevel 1–9 (hash table size: 2^(memLevel+9) bytes of deflate state). Default 8. */
  memLevel?: number;
  /** The deflate implementation. Default: `pakoEngine` (pure JavaScript, runs in browsers). */
  engine?: DeflateEngine;
}

/** The parameters in force once negotiation succeeded (window bits are 15 when not limited). */
export interface NegotiatedParameters {
  readonly serverNoContextTakeover: boolean;
  readonly clientNoContextTakeover: boolean;
  readonly serverMaxWindowBits: number;
  readonly clientMaxWindowBits: number;
}

const EXTENSION_NAME = "permessage-deflate";
const SERVER_NO_CONTEXT_TAKEOVER = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS = "client_max_window_bits";
const KNOWN_PARAMETERS = new Set([SERVER_NO_CONTEXT_TAKEOVER, CLIENT_NO_CONTEXT_TAKEOVER, SERVER_MAX_WINDOW_BITS, CLIENT_MAX_WINDOW_BITS]);

const RSV1: RsvBits = Object.freeze({ rsv1: true, rsv2: false, rsv3: false });
const EMPTY = new Uint8Array(0);
/** An empty stored block's header bits: the smallest payload of a compressed message (RFC 7692 §7.2.3.6). */
const EMPTY_DEFLATE_PAYLOAD = Uint8Array.of(0x00);

/**
 * RFC 7692 §7.1.2: a window-bits value is a decimal integer from 8 to 15 without leading zeros
 * (quoted or not; the parser already unquoted it). Returns the number or null.
 */
function parseWindowBits(value: string): number | null {
  if (value.length === 1) {
    const c = value.charCodeAt(0);
    return c === 0x38 || c === 0x39 ? c - 0x30 : null;
  }
  if (value.length === 2 && value.charCodeAt(0) === 0x31) {
    const c = value.charCodeAt(1);
    return c >= 0x30 && c <= 0x35 ? 10 + c - 0x30 : null;
  }
  return null;
}

function isNameOf(name: string): boolean {
  if (name.length !== EXTENSION_NAME.length) return false;
  for (let i = 0; i < name.length; i++) {
    let c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== EXTENSION_NAME.charCodeAt(i)) return false;
  }
  return true;
}

function endsWithSyncFlushTrailer(b: Uint8Array): boolean {
  const n = b.length;
  return n >= 4 && b[n - 4] === 0x00 && b[n - 3] === 0x00 && b[n - 2] === 0xff && b[n - 1] === 0xff;
}

function validateBits(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 8 || value > 15) {
    throw new LocalProtocolError(`PerMessageDeflate: ${what} must be an integer from 8 to 15, got ${String(value)}`);
  }
}

function validateInt(what: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new LocalProtocolError(`PerMessageDeflate: ${what} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

export class PerMessageDeflate implements Extension {
  readonly name = EXTENSION_NAME;
  readonly rsvBits: RsvBits = RSV1;

  private readonly clientNoContextTakeover: boolean;
  private readonly serverNoContextTakeover: boolean;
  private readonly clientMaxWindowBits: number | boolean;
  private readonly serverMaxWindowBits: number | undefined;
  private readonly threshold: number;
  private readonly level: number;
  private readonly memLevel: number;
  private readonly engine: DeflateEngine;

  private params: NegotiatedParameters | null = null;
  private _role: "client" | "server" | null = null;

  // Outbound (our compressor): created on the first compressed message.
  private deflater: Deflater | null = null;
  private outWindowBits = 15;
  private outNoContextTakeover = false;
  /** The message being sent is compressed (decided on its first frame). */
  private outCompressing = false;

  // Inbound (our decompressor): created on the first compressed message.
  private inflater: Inflater | null = null;
  private inWindowBits = 15;
  private inNoContextTakeover = false;
  /** The message being received is compressed (its first frame had RSV1). */
  private inCompressed = false;
  /** The frame being received is a control frame (its payload is never transformed). */
  private inControlFrame = false;

  constructor(options: PerMessageDeflateOptions = {}) {
    this.clientNoContextTakeover = options.clientNoContextTakeover ?? false;
    this.serverNoContextTakeover = options.serverNoContextTakeover ?? false;
    const cmwb = options.clientMaxWindowBits ?? true;
    if (typeof cmwb === "number") validateBits("clientMaxWindowBits", cmwb);
    else if (typeof cmwb !== "boolean") throw new LocalProtocolError("PerMessageDeflate: clientMaxWindowBits must be a number or a boolean");
    this.clientMaxWindowBits = cmwb;
    if (options.serverMaxWindowBits !== undefined) validateBits("serverMaxWindowBits", options.serverMaxWindowBits);
    this.serverMaxWindowBits = options.serverMaxWindowBits;
    const threshold = options.threshold ?? 1024;
    if (typeof threshold !== "number" || Number.isNaN(threshold) || threshold < 0) {
      throw new LocalProtocolError(`PerMessageDeflate: threshold must be a number ≥ 0, got ${String(threshold)}`);
    }
    this.threshold = threshold;
    this.level = options.level ?? 6;
    validateInt("level", this.level, 0, 9);
    this.memLevel = options.memLevel ?? 8;
    validateInt("memLevel", this.memLevel, 1, 9);
    this.engine = options.engine ?? pakoEngine;
  }

  enabled(): boolean {
    return this.params !== null;
  }

  /** The agreed parameters once negotiation succeeded, else null. */
  get negotiated(): NegotiatedParameters | null {
    return this.params;
  }

  /** "client" after `finalize`, "server" after a successful `accept`, else null. */
  get role(): "client" | "server" | null {
    return this._role;
  }

  // --- negotiation -------------------------------------------------------------------------

  /** Client: the parameters to offer, from the options (RFC 7692 §7.1). */
  offer(): string | true {
    const params: Array<[string, string | number | null]> = [];
    if (this.clientNoContextTakeover) params.push([CLIENT_NO_CONTEXT_TAKEOVER, null]);
    if (this.serverNoContextTakeover) params.push([SERVER_NO_CONTEXT_TAKEOVER, null]);
    if (typeof this.clientMaxWindowBits === "number") params.push([CLIENT_MAX_WINDOW_BITS, this.clientMaxWindowBits]);
    else if (this.clientMaxWindowBits) params.push([CLIENT_MAX_WINDOW_BITS, null]);
    if (this.serverMaxWindowBits !== undefined) params.push([SERVER_MAX_WINDOW_BITS, this.serverMaxWindowBits]);
    return params.length === 0 ? true : formatParameters(params);
  }

  /**
   * Server: answer one offer (a whole list element, name included). Returns the response
   * parameters (`true` for none), or null to decline this offer (RFC 7692 §5.1: unknown,
   * duplicate or invalid parameters, or a configuration this server will not use).
   */
  accept(offer: string): string | true | null {
    this.assertNotNegotiated("accept");
    const parsed = parseExtensionElement(offer);
    if (!parsed.ok || !isNameOf(parsed.name)) return null;

    let offeredServerNoCtx = false;
    let offeredClientNoCtx = false;
    let offeredServerBits: number | null = null;
    let offeredClientBits: number | "bare" | null = null;
    for (const [name, value] of parsed.params) {
      switch (name) {
        case SERVER_NO_CONTEXT_TAKEOVER:
          if (value !== null) return null;
          offeredServerNoCtx = true;
          break;
        case CLIENT_NO_CONTEXT_TAKEOVER:
          if (value !== null) return null;
          offeredClientNoCtx = true;
          break;
        case SERVER_MAX_WINDOW_BITS: {
          if (value === null) return null; // a value is required in an offer (§7.1.2.1)
          const bits = parseWindowBits(value);
          if (bits === null) return null;
          offeredServerBits = bits;
          break;
        }
        case CLIENT_MAX_WINDOW_BITS: {
          if (value === null) {
            offeredClientBits = "bare";
            break;
          }
          const bits = parseWindowBits(value);
          if (bits === null) return null;
          offeredClientBits = bits;
          break;
        }
        default:
          return null; // a parameter not defined for an offer
      }
    }

    const response: Array<[string, string | number | null]> = [];
    // server_no_context_takeover: MUST be echoed when offered (§7.1.1.1); MAY be sent anyway.
    const serverNoCtx = offeredServerNoCtx || this.serverNoContextTakeover;
    if (serverNoCtx) response.push([SERVER_NO_CONTEXT_TAKEOVER, null]);
    // client_no_context_takeover: sent when configured, and echoed when offered so that the
    // client is bound to it and our decompressor may forget each message (§7.1.1.2).
    const clientNoCtx = offeredClientNoCtx || this.clientNoContextTakeover;
    if (clientNoCtx) response.push([CLIENT_NO_CONTEXT_TAKEOVER, null]);
    // server_max_window_bits: at most what was offered (§7.1.2.1) and what we are configured to.
    let serverBits = this.serverMaxWindowBits ?? 15;
    if (offeredServerBits !== null) serverBits = Math.min(serverBits, offeredServerBits);
    if (offeredServerBits !== null || this.serverMaxWindowBits !== undefined) response.push([SERVER_MAX_WINDOW_BITS, serverBits]);
    // client_max_window_bits: only if the client offered it (§7.1.2.2).
    const limit = typeof this.clientMaxWindowBits === "number" ? this.clientMaxWindowBits : null;
    let clientBits = 15;
    if (offeredClientBits === null) {
      if (limit !== null && limit < 15) return null; // we cannot limit this client: decline
    } else {
      clientBits = Math.min(limit ?? 15, offeredClientBits === "bare" ? 15 : offeredClientBits);
      if (limit !== null || offeredClientBits !== "bare") response.push([CLIENT_MAX_WINDOW_BITS, clientBits]);
    }

    this.enable("server", {
      serverNoContextTakeover: serverNoCtx,
      clientNoContextTakeover: clientNoCtx,
      serverMaxWindowBits: serverBits,
      clientMaxWindowBits: clientBits,
    });
    return response.length === 0 ? true : formatParameters(response);
  }

  /**
   * Client: apply the server's response (a whole list element, name included). Throws an Error
   * saying what is wrong when the response does not fit the offer (RFC 7692 §5, §7.1).
   */
  finalize(response: string): void {
    this.assertNotNegotiated("finalize");
    const parsed = parseExtensionElement(response);
    const bad = (why: string): never => {
      throw new Error(`Invalid permessage-deflate response ${JSON.stringify(response)}: ${why}`);
    };
    if (!parsed.ok) return bad(parsed.error);
    if (!isNameOf(parsed.name)) return bad(`it names ${JSON.stringify(parsed.name)}`);

    let serverNoCtx = false;
    let clientNoCtx = false;
    let serverBits: number | null = null;
    let clientBits: number | null = null;
    for (const [name, value] of parsed.params) {
      if (!KNOWN_PARAMETERS.has(name)) bad(`unknown parameter "${name}"`);
      if (name === SERVER_NO_CONTEXT_TAKEOVER || name === CLIENT_NO_CONTEXT_TAKEOVER) {
        if (value !== null) bad(`"${name}" must not have a value`);
        if (name === SERVER_NO_CONTEXT_TAKEOVER) serverNoCtx = true;
        else clientNoCtx = true;
        continue;
      }
      if (value === null) bad(`"${name}" needs a value in a response`);
      const bits = parseWindowBits(value!);
      if (bits === null) bad(`"${name}" must be an integer from 8 to 15 without leading zeros, got ${JSON.stringify(value)}`);
      if (name === SERVER_MAX_WINDOW_BITS) serverBits = bits;
      else clientBits = bits;
    }

    if (this.serverNoContextTakeover && !serverNoCtx) bad("server_no_context_takeover was offered but not accepted");
    if (this.serverMaxWindowBits !== undefined) {
      if (serverBits === null) bad("server_max_window_bits was offered but is missing");
      if (serverBits! > this.serverMaxWindowBits) {
        bad(`server_max_window_bits=${serverBits} is larger than the ${this.serverMaxWindowBits} offered`);
      }
    }
    if (clientBits !== null && this.clientMaxWindowBits === false) bad("client_max_window_bits was not offered");

    // The client never compresses with more than it offered, whatever the server allows.
    const ownLimit = typeof this.clientMaxWindowBits === "number" ? this.clientMaxWindowBits : 15;
    this.enable("client", {
      serverNoContextTakeover: serverNoCtx,
      clientNoContextTakeover: clientNoCtx || this.clientNoContextTakeover,
      serverMaxWindowBits: serverBits ?? 15,
      clientMaxWindowBits: Math.min(ownLimit, clientBits ?? 15),
    });
  }

  private assertNotNegotiated(method: string): void {
    if (this.params !== null) {
      throw new LocalProtocolError(
        `PerMessageDeflate.${method}: this instance was already negotiated; use one PerMessageDeflate per connection`,
      );
    }
  }

  private enable(role: "client" | "server", params: NegotiatedParameters): void {
    this.params = Object.freeze(params);
    this._role = role;
    if (role === "client") {
      this.outWindowBits = params.clientMaxWindowBits;
      this.outNoContextTakeover = params.clientNoContextTakeover;
      this.inWindowBits = params.serverMaxWindowBits;
      this.inNoContextTakeover = params.serverNoContextTakeover;
    } else {
      this.outWindowBits = params.serverMaxWindowBits;
      this.outNoContextTakeover = params.serverNoContextTakeover;
      this.inWindowBits = params.clientMaxWindowBits;
      this.inNoContextTakeover = params.clientNoContextTakeover;
    }
  }

  // --- inbound ------------------------------------------------------------------------------

  frameInboundHeader(opcode: Opcode, rsv: RsvBits, _payloadLength: number): RsvBits {
    if (this.params === null) return NO_RSV_BITS;
    if (isControlOpcode(opcode)) {
      // RFC 7692 §6.1: control frames are never compressed. The message in progress (if any)
      // keeps its state: a control frame between fragments does not touch it.
      if (rsv.rsv1) throw new ParseFailed("RSV1 (permessage-deflate) set on a control frame", 1002);
      this.inControlFrame = true;
      return NO_RSV_BITS;
    }
    this.inControlFrame = false;
    if (opcode === Opcode.CONTINUATION) {
      if (rsv.rsv1) throw new ParseFailed("RSV1 (permessage-deflate) set on a continuation frame", 1002);
      return NO_RSV_BITS;
    }
    // The first frame of a message: RSV1 says whether the whole message is compressed.
    this.inCompressed = rsv.rsv1;
    return rsv.rsv1 ? RSV1 : NO_RSV_BITS;
  }

  frameInboundPayloadData(data: Uint8Array, budget: number): Uint8Array {
    if (this.inControlFrame || !this.inCompressed) return data;
    return this.inflate(data, budget, false);
  }

  frameInboundComplete(fin: boolean, budget: number): Uint8Array | null {
    if (this.inControlFrame) {
      this.inControlFrame = false;
      return null;
    }
    if (!this.inCompressed || !fin) return null;
    this.inCompressed = false;
    const out = this.inflate(EMPTY, budget, true);
    if (this.inNoContextTakeover) this.inflater!.reset();
    return out.length === 0 ? null : out;
  }

  private inflate(data: Uint8Array, budget: number, end: boolean): Uint8Array {
    const inflater = (this.inflater ??= this.engine.createInflater(this.inWindowBits));
    try {
      return concatBytes(inflater.push(data, budget, end));
    } catch (e) {
      if (e instanceof InflateError) {
        throw new ParseFailed(`permessage-deflate: ${e.message}`, e.kind === "too-big" ? 1009 : 1007, e.output);
      }
      throw e;
    }
  }

  // --- outbound -----------------------------------------------------------------------------

  frameOutbound(opcode: Opcode, rsv: RsvBits, data: Uint8Array, fin: boolean): { rsv: RsvBits; data: Uint8Array } {
    if (this.params === null || isControlOpcode(opcode)) return { rsv, data };
    let first = false;
    if (opcode !== Opcode.CONTINUATION) {
      first = true;
      // Decided once per message, on its first frame (RSV1 goes on that frame only, §6).
      this.outCompressing = !fin || data.length >= this.threshold;
    }
    if (!this.outCompressing) return { rsv: rsv.rsv1 ? { ...rsv, rsv1: false } : rsv, data };

    const deflater = (this.deflater ??= this.engine.createDeflater(this.outWindowBits, this.memLevel, this.level));
    // Every frame is sync-flushed so that each fragment can be inflated as it arrives (as ws).
    let out = concatBytes(deflater.push(data, true));
    if (fin) {
      this.outCompressing = false;
      if (out.length === 0) {
        // Nothing new since the last flush (an empty message, or an empty last fragment): the
        // stream already sits on a byte boundary; send an empty stored block's first octet,
        // which with the receiver's 00 00 ff ff makes a whole empty block (§7.2.3.6).
        out = EMPTY_DEFLATE_PAYLOAD;
      } else if (endsWithSyncFlushTrailer(out)) {
        out = out.subarray(0, out.length - 4); // §7.2.1
      } else {
        throw new Error(`deflate engine ${this.engine.name} did not end a flushed block with 00 00 ff ff`);
      }
      if (this.outNoContextTakeover) deflater.reset();
    }
    return { rsv: { rsv1: first, rsv2: rsv.rsv2, rsv3: rsv.rsv3 }, data: out };
  }
}
