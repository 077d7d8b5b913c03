/**
 * The synchronous raw-DEFLATE engine behind permessage-deflate (RFC 7692), and its default
 * implementation over pako (a pure-JavaScript port of zlib: no `node:*`, runs in browsers).
 *
 * The core is Sans-I/O and its extension hooks are synchronous, so the engine is too: each call
 * takes bytes and returns bytes. Node's `zlib` offers no documented synchronous *streaming*
 * deflate that keeps its context across calls, hence pako by default; a faster engine (e.g. one
 * over `node:zlib` for a Node-only entry point) can be plugged in through `DeflateEngine`.
 *
 * Interface:
 * ```ts
 * interface Deflater { push(data, flush): Uint8Array[]; reset(): void }
 * interface Inflater { push(data, budget, end): Uint8Array[]; reset(): void }
 * interface DeflateEngine { name; createDeflater(windowBits, memLevel?, level?); createInflater(windowBits) }
 * class InflateError extends Error { kind: "too-big" | "corrupt" }
 * const pakoEngine: DeflateEngine
 * ```
 */
import {
  ZStream,
  zlibDeflate,
  zlibDeflateInit2,
  zlibDeflateReset,
  zlibInflate,
  zlibInflateInit2,
  zlibInflateReset,
  zlibInflateResetKeep,
  Z_BLOCK,
  Z_BUF_ERROR,
  Z_DEFAULT_STRATEGY,
  Z_NO_FLUSH,
  Z_OK,
  Z_STREAM_END,
  Z_SYNC_FLUSH,
} from "pako";

/** The four octets a sync flush ends with (an empty stored block's LEN/NLEN), RFC 7692 §7.2.1. */
const SYNC_FLUSH_TRAILER = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

/** A compressor for one direction of one connection. */
export interface Deflater {
  /**
   * Compress `data` (raw DEFLATE, no zlib/gzip wrapper), continuing the stream (and its LZ77
   * history) of earlier calls. With `flush`, ends with a sync flush: everything given so far is
   * in the output, which then ends at a byte boundary with an empty stored block, i.e. with the
   * octets `00 00 ff ff` — unless nothing at all was pushed since the previous flush, in which
   * case the output may be empty. Without `flush`, output may be held back.
   */
  push(data: Uint8Array, flush: boolean): Uint8Array[];
  /** Forget the history: the next push starts a fresh stream (no context takeover). */
  reset(): void;
}

/** A decompressor for one direction of one connection. */
export interface Inflater {
  /**
   * Decompress raw DEFLATE `data`, continuing the stream (and history) of earlier calls. A
   * stream that ends (a block with BFINAL set) is followed by a new stream that shares the
   * history (zlib's `inflateResetKeep`): bytes after a final block are decoded, not dropped.
   *
   * `budget` is the most bytes this call may produce: as soon as the output would exceed it,
   * throws `InflateError` "too-big", having inflated at most one byte more than `budget` (output
   * is produced in bounded chunks). Invalid data throws `InflateError` "corrupt". Either error
   * carries the output this call produced before it (`InflateError.output`).
   *
   * `end`: `data` ends a message whose sync-flush octets `00 00 ff ff` the sender removed
   * (RFC 7692 §7.2.2). The inflater puts them back — unless no compressed byte arrived since the
   * message began or since a final block ended, as when the sender ended the message with
   * BFINAL — and checks that the message ends exactly on a block boundary ("corrupt" if not),
   * so that a broken message cannot leave the state half-way through a block for the next one.
   */
  push(data: Uint8Array, budget: number, end: boolean): Uint8Array[];
  /** Forget the history (no context takeover); the next push starts a fresh stream. */
  reset(): void;
}

/** Creates compressors and decompressors. All calls are synchronous. */
export interface DeflateEngine {
  /** For diagnostics and benchmarks, e.g. "pako". */
  readonly name: string;
  /**
   * `windowBits` is the negotiated LZ77 window (8–15): the compressed stream must never refer
   * further back than `2 ** windowBits` bytes. zlib cannot deflate with an 8-bit window; an
   * engine over zlib uses 9, whose matches reach at most 2⁹ − 262 = 250 bytes back (zlib's
   * MAX_DIST = window size − MIN_LOOKAHEAD), so its output is valid for an 8-bit inflater.
   * `memLevel` (1–9, default 8) sizes the hash table; `level` (0–9, default 6) is the zlib level.
   */
  createDeflater(windowBits: number, memLevel?: number, level?: number): Deflater;
  /** `windowBits` (8–15): the largest window the peer may use. A larger window is always safe. */
  createInflater(windowBits: number): Inflater;
}

/** Raised by `Inflater.push`: the output passed the budget, or the compressed data is invalid. */
export class InflateError extends Error {
  override name = "InflateError";
  readonly kind: "too-big" | "corrupt";
  /**
   * What the failing `push` had inflated before the failure (for "too-big", up to one byte past
   * the budget): a text message's bytes are checked before the failure is reported, so that
   * the first problem in the stream wins whatever the chunking (RFC 6455 §8.1 vs §10.4).
   */
  readonly output: readonly Uint8Array[];

  constructor(kind: "too-big" | "corrupt", message: string, output: readonly Uint8Array[] = []) {
    super(message);
    this.kind = kind;
    this.output = output;
  }
}

// ---------------------------------------------------------------------------------------------
// The default engine: pako's low-level zlib port, driven directly so that output is produced in
// bounded chunks (budget checks between chunks) and a final block can be followed by a new
// stream that keeps the window (inflateResetKeep), which pako's high-level Inflate cannot do.

/** Output is produced at most this many bytes per zlib call. */
const OUT_CHUNK = 64 * 1024;

/**
 * One output buffer shared by every deflater and inflater: zlib writes into it and each call
 * copies what was written out before returning. Safe because all calls are synchronous and
 * JavaScript runs one call at a time per realm; it saves OUT_CHUNK bytes per connection.
 */
let scratch: Uint8Array<ArrayBuffer> | null = null;
function scratchBuffer(): Uint8Array<ArrayBuffer> {
  return (scratch ??= new Uint8Array(OUT_CHUNK));
}

const EMPTY_INPUT = new Uint8Array(0);
const EMPTY_OUTPUT = new Uint8Array(0);
const Z_DEFLATED = 8;

function checkInt(what: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

class PakoDeflater implements Deflater {
  private readonly strm = new ZStream();

  constructor(windowBits: number, memLevel: number, level: number) {
    // zlib refuses raw deflate with windowBits 8; 9 never emits distances beyond 250 (see above).
    const bits = windowBits === 8 ? 9 : windowBits;
    const status = zlibDeflateInit2(this.strm, level, Z_DEFLATED, -bits, memLevel, Z_DEFAULT_STRATEGY);
    if (status !== Z_OK) throw new Error(`deflateInit2 failed (${this.strm.msg || status})`);
  }

  push(data: Uint8Array, flush: boolean): Uint8Array[] {
    const strm = this.strm;
    const out: Uint8Array[] = [];
    const buf = scratchBuffer();
    const mode = flush ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    strm.input = data;
    strm.next_in = 0;
    strm.avail_in = data.length;
    for (;;) {
      strm.output = buf;
      strm.next_out = 0;
      strm.avail_out = buf.length;
      const status = zlibDeflate(strm, mode);
      // Z_BUF_ERROR: no progress was possible (e.g. a second flush with no new input): not fatal.
      if (status !== Z_OK && status !== Z_BUF_ERROR) throw new Error(`deflate failed (${strm.msg || status})`);
      const produced = buf.length - strm.avail_out;
      if (produced > 0) out.push(buf.slice(0, produced));
      // Output space left over means all input was consumed (and, with flush, flushed).
      if (strm.avail_out !== 0) break;
    }
    strm.input = EMPTY_INPUT; // do not keep the caller's buffer alive
    strm.output = EMPTY_OUTPUT;
    return out;
  }

  reset(): void {
    zlibDeflateReset(this.strm);
  }
}

class PakoInflater implements Inflater {
  private readonly strm = new ZStream();
  /** No compressed byte consumed since the message began, a reset, or the end of a final block. */
  private fresh = true;
  /** The last call that made progress with Z_BLOCK stopped on a block boundary. */
  private atBoundary = false;

  constructor(windowBits: number) {
    // A wider inflate window than negotiated is always safe; 9 for 8 also decodes peers whose
    // compressor rounds 8 up to a full 9-bit window. (pako inflates 8 fine; this is tolerance.)
    const bits = windowBits < 9 ? 9 : windowBits;
    const status = zlibInflateInit2(this.strm, -bits);
    if (status !== Z_OK) throw new Error(`inflateInit2 failed (${this.strm.msg || status})`);
  }

  push(data: Uint8Array, budget: number, end: boolean): Uint8Array[] {
    const out: Uint8Array[] = [];
    let produced = 0;
    if (data.length > 0) produced = this.run(data, Z_SYNC_FLUSH, budget, out, produced);
    if (end) {
      // A sender that did not remove the sync-flush octets (RFC 7692 §7.2.1 says it "MUST",
      // but zlib, ws and wsproto decode such messages) ends its message on a block boundary
      // already; the octets appended after it would start a stored block that never ends.
      if (!this.fresh && !this.endsOnBoundary()) {
        this.atBoundary = false;
        this.run(SYNC_FLUSH_TRAILER, Z_BLOCK, budget, out, produced);
        if (!this.atBoundary) {
          throw new InflateError("corrupt", "the compressed message does not end on a deflate block boundary", out);
        }
      }
      this.fresh = true;
    }
    return out;
  }

  /** The inflater waits for a block header: the input so far ended exactly after a block. */
  private endsOnBoundary(): boolean {
    return (this.strm.data_type & 128) !== 0;
  }

  private run(input: Uint8Array, flush: typeof Z_SYNC_FLUSH | typeof Z_BLOCK, budget: number, out: Uint8Array[], produced: number): number {
    const strm = this.strm;
    const buf = scratchBuffer();
    strm.input = input;
    strm.next_in = 0;
    strm.avail_in = input.length;
    try {
      for (;;) {
        // Never let zlib produce more than one byte past the budget.
        const room = budget - produced + 1;
        const cap = room >= buf.length ? buf.length : room >= 1 ? Math.floor(room) : 1;
        strm.output = buf;
        strm.next_out = 0;
        strm.avail_out = cap;
        const inBefore = strm.avail_in;
        const status = zlibInflate(strm, flush);
        const n = cap - strm.avail_out;
        const consumed = inBefore - strm.avail_in;
        if (status < 0 && status !== Z_BUF_ERROR) {
          if (n > 0) out.push(buf.slice(0, n));
          throw new InflateError("corrupt", `invalid compressed data (${strm.msg || `zlib status ${status}`})`, out);
        }
        if (consumed > 0) this.fresh = false;
        if (flush === Z_BLOCK && (consumed > 0 || n > 0)) this.atBoundary = (strm.data_type & 128) !== 0;
        if (n > 0) {
          produced += n;
          out.push(buf.slice(0, n));
          if (produced > budget) {
            // The message says nothing of how much room was left: that depends on how the
            // frame was chunked, and the reason a peer is sent must not (chunking never matters).
            throw new InflateError("too-big", "the decompressed message exceeds the size limit (maxMessageSize, or the memory budget's room)", out);
          }
        }
        if (status === Z_STREAM_END) {
          // A final block ended the stream; what follows is a new stream over the same window.
          zlibInflateResetKeep(strm);
          this.fresh = true;
          this.atBoundary = true;
          if (strm.avail_in === 0) break;
          continue;
        }
        if (strm.avail_in === 0 && (strm.avail_out !== 0 || (consumed === 0 && n === 0))) break;
        if (consumed === 0 && n === 0) {
          // zlib made no progress with input and output space available: cannot happen with
          // valid state; refuse rather than loop.
          throw new InflateError("corrupt", "invalid compressed data (inflate made no progress)", out);
        }
      }
    } finally {
      strm.input = EMPTY_INPUT;
      strm.output = EMPTY_OUTPUT;
    }
    return produced;
  }

  reset(): void {
    zlibInflateReset(this.strm);
    this.fresh = true;
    this.atBoundary = false;
  }
}

/** The default engine: pako 3 (zlib 1.3 port in plain JavaScript; browsers and Node alike). */
export const pakoEngine: DeflateEngine = Object.freeze({
  name: "pako",
  createDeflater(windowBits: number, memLevel = 8, level = 6): Deflater {
    checkInt("windowBits", windowBits, 8, 15);
    checkInt("memLevel", memLevel, 1, 9);
    checkInt("level", level, 0, 9);
    return new PakoDeflater(windowBits, memLevel, level);
  },
  createInflater(windowBits: number): Inflater {
    checkInt("windowBits", windowBits, 8, 15);
    return new PakoInflater(windowBits);
  },
});
