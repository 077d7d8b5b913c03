/**
 * A faster `DeflateEngine` for the Node entry: compression by Node's native zlib, driven
 * synchronously; decompression by the default pako engine.
 *
 * Why synchronous node:zlib needs a detour: Node 20 documents no synchronous *streaming* API —
 * `deflateRawSync` starts a new stream per call, so it cannot keep the LZ77 history across
 * messages (context takeover), and the stream classes are asynchronous. Every synchronous zlib
 * call in Node (`deflateRawSync`, `_processChunk`) bottoms out in the native handle's
 * `writeSync(flush, input, inOff, inLen, output, outOff, outLen)`, which reports
 * [availOut, availIn] in the object's `_writeState`: that is the route taken here, on a
 * `zlib.DeflateRaw` whose handle stays open across messages. It is internal but has kept this
 * shape since Node 10 (2018) through Node 24, as `processChunkSync` in lib/zlib.js relies on it.
 * The alternative, `_processChunk(chunk, flush)` ("left for backwards compatibility", the
 * route minizlib takes), closes the handle after every call and adds an 'error' listener per
 * call, which minizlib patches around; calling `writeSync` directly needs no patching.
 * `nodeZlibEngine()` checks the route once and returns null if this Node lacks it.
 *
 * Why inflation stays on pako: the Inflater contract (./../extensions/deflate-engine.ts) checks
 * that a message ends on a deflate block boundary (zlib's `data_type`, which Node does not
 * expose), continues after a final block with the same window (`inflateResetKeep`, which Node
 * does not expose either) and bounds output to one byte past the budget. pako provides all of
 * that, and inflating costs far less than deflating (1 KiB JSON on this machine: pako inflate
 * ~13 µs, pako deflate ~55 µs, native deflate ~27 µs per message).
 */
import type * as zlib from "node:zlib";
import { pakoEngine, type DeflateEngine, type Deflater, type Inflater } from "../extensions/deflate-engine.js";
import { nodeZlib } from "./builtins.js";

interface NativeZlibHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, output: Uint8Array, outOff: number, outLen: number): void;
  reset(): void;
  close(): void;
  onerror: ((message: string, errno: number) => void) | null;
}

interface ZlibInternals {
  _handle: NativeZlibHandle | null;
  _writeState: Uint32Array;
}

// zlib.h's flush values (node:zlib's `constants` has the same): written out rather than read from
// the module, which would load node:zlib with this file, for servers that never negotiate deflate.
const Z_NO_FLUSH = 0;
const Z_SYNC_FLUSH = 2;

/** Output space per native call; one buffer shared by every deflater (calls are synchronous). */
const OUT_CHUNK = 64 * 1024;
let scratch: Buffer | null = null;

function checkInt(what: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

class NodeZlibDeflater implements Deflater {
  private readonly stream: zlib.DeflateRaw & ZlibInternals;
  private readonly handle: NativeZlibHandle;
  private error: string | null = null;

  constructor(windowBits: number, memLevel: number, level: number) {
    // zlib cannot deflate with an 8-bit window; 9 never reaches further back than 250 bytes
    // (see DeflateEngine.createDeflater), so its output is valid for an 8-bit inflater.
    const bits = windowBits === 8 ? 9 : windowBits;
    this.stream = new (nodeZlib().DeflateRaw)({ windowBits: bits, memLevel, level }) as zlib.DeflateRaw & ZlibInternals;
    const handle = this.stream._handle;
    if (handle === null || typeof handle.writeSync !== "function" || !(this.stream._writeState instanceof Uint32Array)) {
      throw new Error("node:zlib has no synchronous handle here");
    }
    this.handle = handle;
    // Errors are reported synchronously to us instead of destroying the stream on the next tick.
    handle.onerror = (message) => {
      this.error = message;
    };
  }

  push(data: Uint8Array, flush: boolean): Uint8Array[] {
    const out: Uint8Array[] = [];
    const buffer = (scratch ??= Buffer.allocUnsafe(OUT_CHUNK));
    const state = this.stream._writeState;
    const mode = flush ? Z_SYNC_FLUSH : Z_NO_FLUSH;
    let inOff = 0;
    let inLen = data.length;
    for (;;) {
      this.handle.writeSync(mode, data, inOff, inLen, buffer, 0, OUT_CHUNK);
      if (this.error !== null) throw new Error(`deflate failed (${this.error})`);
      const availOut = state[0]!;
      const availIn = state[1]!;
      const produced = OUT_CHUNK - availOut;
      if (produced > 0) out.push(Uint8Array.prototype.slice.call(buffer, 0, produced));
      inOff += inLen - availIn;
      inLen = availIn;
      // Output space left over means all input was consumed (and, with flush, flushed).
      if (availOut !== 0) break;
    }
    return out;
  }

  reset(): void {
    this.handle.reset();
  }
}

function probe(): boolean {
  try {
    const deflater = new NodeZlibDeflater(15, 8, 6);
    const first = deflater.push(new TextEncoder().encode("probe probe probe"), true);
    const again = deflater.push(new Uint8Array(0), true);
    const inflater = pakoEngine.createInflater(15);
    const bytes = Buffer.concat(first);
    if (bytes.length < 4 || bytes[bytes.length - 1] !== 0xff || again.length > 1) return false;
    const text = Buffer.concat(inflater.push(bytes.subarray(0, bytes.length - 4), 1024, true)).toString();
    return text === "probe probe probe";
  } catch {
    return false;
  }
}

let engine: DeflateEngine | null | undefined;

/**
 * The engine (native deflate, pako inflate), or null if this Node's zlib does not offer the
 * synchronous handle (then keep `pakoEngine`). Pass it as `new PerMessageDeflate({ engine })`.
 */
export function nodeZlibEngine(): DeflateEngine | null {
  if (engine !== undefined) return engine;
  engine = probe()
    ? Object.freeze({
        name: "node:zlib deflate + pako inflate",
        createDeflater(windowBits: number, memLevel = 8, level = 6): Deflater {
          checkInt("windowBits", windowBits, 8, 15);
          checkInt("memLevel", memLevel, 1, 9);
          checkInt("level", level, 0, 9);
          return new NodeZlibDeflater(windowBits, memLevel, level);
        },
        createInflater(windowBits: number): Inflater {
          return pakoEngine.createInflater(windowBits);
        },
      })
    : null;
  return engine;
}
