/**
 * Test helpers for permessage-deflate: negotiate two instances back to back, and drive the
 * extension hooks the way the frame encoder and decoder do (frameOutbound per data frame on one
 * side; frameInboundHeader / PayloadData / Complete on the other), without any framing bytes.
 */
import { ZStream, zlibInflate, zlibInflateInit2, Z_BUF_ERROR, Z_STREAM_END, Z_SYNC_FLUSH } from "pako";
import { NO_RSV_BITS, Opcode, ParseFailed, type RsvBits } from "../../../codec/frame.js";
import { PerMessageDeflate, type PerMessageDeflateOptions } from "../../../src/extensions/permessage-deflate.js";

export const te = new TextEncoder();
export const td = new TextDecoder();

export function element(params: string | boolean | null): string {
  if (params === null || params === false) throw new Error("declined");
  return params === true ? "permessage-deflate" : `permessage-deflate; ${params}`;
}

/** A client and a server extension negotiated with each other through offer → accept → finalize. */
export function negotiate(
  clientOptions: PerMessageDeflateOptions = {},
  serverOptions: PerMessageDeflateOptions = {},
): { client: PerMessageDeflate; server: PerMessageDeflate; offer: string; response: string } {
  const client = new PerMessageDeflate(clientOptions);
  const server = new PerMessageDeflate(serverOptions);
  const offer = element(client.offer());
  const response = element(server.accept(offer));
  client.finalize(response);
  return { client, server, offer, response };
}

export interface WireFrame {
  opcode: Opcode;
  rsv: RsvBits;
  payload: Uint8Array;
  fin: boolean;
}

/**
 * Frames of one message as the encoder would make them: `fragments` are the application's
 * pieces (each becomes one frame); control frames may be interleaved with `between`.
 */
export function sendMessage(
  ext: PerMessageDeflate,
  opcode: typeof Opcode.TEXT | typeof Opcode.BINARY,
  fragments: Uint8Array[],
  between: (index: number) => WireFrame[] = () => [],
): WireFrame[] {
  const frames: WireFrame[] = [];
  fragments.forEach((piece, index) => {
    const fin = index === fragments.length - 1;
    const op = index === 0 ? opcode : Opcode.CONTINUATION;
    const { rsv, data } = ext.frameOutbound(op, NO_RSV_BITS, piece, fin);
    frames.push({ opcode: op, rsv, payload: data.slice(), fin });
    if (!fin) frames.push(...between(index));
  });
  return frames;
}

export function ping(payload = new Uint8Array([1, 2, 3])): WireFrame {
  return { opcode: Opcode.PING, rsv: NO_RSV_BITS, payload, fin: true };
}

/** Split `data` into pieces of the given sizes (the rest in a last piece). */
export function split(data: Uint8Array, ...sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const size of sizes) {
    out.push(data.subarray(at, Math.min(data.length, at + size)));
    at = Math.min(data.length, at + size);
  }
  out.push(data.subarray(at));
  return out;
}

export interface ReceivedMessage {
  opcode: Opcode;
  data: Uint8Array;
}

/**
 * The decoder's side of the hooks: each frame's header, then its payload in pieces of at most
 * `pieceSize` bytes with the budget maxMessageSize − bytes the message produced so far, then
 * the frame's completion. Checks the RSV bits as the decoder does (every set bit claimed).
 */
export class HookDecoder {
  readonly messages: ReceivedMessage[] = [];
  readonly controls: WireFrame[] = [];
  private parts: Uint8Array[] = [];
  private produced = 0;
  private opcode: Opcode = Opcode.BINARY;

  constructor(
    private readonly ext: PerMessageDeflate,
    private readonly maxMessageSize = Number.POSITIVE_INFINITY,
    private readonly pieceSize = Number.POSITIVE_INFINITY,
    /** Also run control frames' payloads through the data hooks (a decoder may; it must not matter). */
    private readonly controlThroughHooks = false,
  ) {}

  receive(frames: WireFrame[]): this {
    for (const frame of frames) this.frame(frame);
    return this;
  }

  private frame(frame: WireFrame): void {
    const claimed = this.ext.frameInboundHeader(frame.opcode, frame.rsv, frame.payload.length);
    if ((frame.rsv.rsv1 && !claimed.rsv1) || frame.rsv.rsv2 || frame.rsv.rsv3) {
      throw new ParseFailed("unclaimed RSV bit", 1002);
    }
    if (frame.opcode >= 0x8) {
      if (this.controlThroughHooks) {
        const data = this.ext.frameInboundPayloadData(frame.payload, 125);
        const tail = this.ext.frameInboundComplete(true, 125);
        this.controls.push({ ...frame, payload: tail === null ? data : concat([data, tail]) });
      } else {
        this.controls.push(frame);
      }
      return;
    }
    if (frame.opcode !== Opcode.CONTINUATION) {
      this.opcode = frame.opcode;
      this.parts = [];
      this.produced = 0;
    }
    const payload = frame.payload;
    for (let at = 0; at < payload.length; at += this.pieceSize) {
      const piece = payload.subarray(at, Math.min(payload.length, at + this.pieceSize));
      this.take(this.ext.frameInboundPayloadData(piece, this.maxMessageSize - this.produced));
    }
    const tail = this.ext.frameInboundComplete(frame.fin, this.maxMessageSize - this.produced);
    if (tail !== null) this.take(tail);
    if (frame.fin) {
      this.messages.push({ opcode: this.opcode, data: concat(this.parts) });
      this.parts = [];
      this.produced = 0;
    }
  }

  private take(data: Uint8Array): void {
    this.produced += data.length;
    if (this.produced > this.maxMessageSize) throw new Error(`hook returned more than the budget (${this.produced})`);
    if (data.length > 0) this.parts.push(data.slice());
  }
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Deterministic pseudo-random bytes. */
export function randomBytes(n: number, seed = 1): Uint8Array {
  let s = seed >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s & 0xff;
  }
  return out;
}

/**
 * Compressible text with long-range repeats: random "words" from a small vocabulary plus
 * verbatim repeats of earlier stretches at distances up to `reach` bytes, so a compressor with
 * a large window uses long distances.
 */
export function compressibleText(n: number, seed = 7, reach = 20000): Uint8Array {
  const words = ["alpha", "beta", "gamma", "delta", "{\"id\":", "\"status\":\"ok\"", "price", "0.25", "lorem", "ipsum", "\n", "  "];
  const rnd = randomBytes(n + 64, seed);
  const out = new Uint8Array(n);
  let at = 0;
  let r = 0;
  while (at < n) {
    const pick = rnd[r++ % rnd.length]!;
    if (pick < 40 && at > 300) {
      const distance = 257 + (((rnd[r++ % rnd.length]! << 8) | rnd[r++ % rnd.length]!) % Math.max(1, Math.min(reach, at) - 257));
      const length = 20 + (rnd[r++ % rnd.length]! % 60);
      for (let k = 0; k < length && at < n; k++, at++) out[at] = out[at - distance]!;
    } else if (pick < 60) {
      // a random byte run (incompressible noise)
      for (let k = 0; k < 8 && at < n; k++, at++) out[at] = rnd[r++ % rnd.length]!;
    } else {
      const w = te.encode(words[pick % words.length]!);
      for (let k = 0; k < w.length && at < n; k++, at++) out[at] = w[k]!;
    }
  }
  return out;
}

/**
 * A strict raw inflater for checking window use. zlib resolves a back-reference from its output
 * buffer when it can, so a plain inflater does not notice a distance beyond its window; pako
 * keeps zlib's INFLATE_STRICT check (`state.dmax`, "invalid distance too far back"), which this
 * sets to the window size. Messages are the payloads as sent (00 00 ff ff stripped; it is put
 * back). Throws on any error.
 */
export function strictInflate(payloads: Uint8Array[], windowBits: number, resetEach: boolean): Uint8Array[] {
  const open = (): ZStream => {
    const strm = new ZStream();
    zlibInflateInit2(strm, -windowBits);
    (strm.state as { dmax: number }).dmax = 1 << windowBits;
    return strm;
  };
  let strm = open();
  const out: Uint8Array[] = [];
  for (const payload of payloads) {
    if (resetEach) strm = open();
    const input = concat([payload, new Uint8Array([0, 0, 0xff, 0xff])]);
    strm.input = input;
    strm.next_in = 0;
    strm.avail_in = input.length;
    const parts: Uint8Array[] = [];
    for (;;) {
      const buf = new Uint8Array(65536);
      strm.output = buf;
      strm.next_out = 0;
      strm.avail_out = buf.length;
      const status = zlibInflate(strm, Z_SYNC_FLUSH);
      if (status < 0 && status !== Z_BUF_ERROR) throw new Error(`strict inflate (window ${windowBits}): ${strm.msg}`);
      if (status === Z_STREAM_END) throw new Error("unexpected end of stream");
      parts.push(buf.slice(0, strm.next_out));
      if (strm.avail_in === 0 && strm.avail_out !== 0) break;
    }
    out.push(concat(parts));
  }
  return out;
}

/**
 * Byte-array equality for assertions: vitest's deep `toEqual` walks typed arrays element by
 * element (milliseconds per KiB), so compare natively and only build a diff on a mismatch.
 */
export function sameBytes(actual: Uint8Array | Uint8Array[], expected: Uint8Array | Uint8Array[]): boolean {
  if (Array.isArray(actual) || Array.isArray(expected)) {
    if (!Array.isArray(actual) || !Array.isArray(expected) || actual.length !== expected.length) return false;
    return actual.every((a, i) => equalBytes(a, expected[i]!));
  }
  return equalBytes(actual, expected);
}
