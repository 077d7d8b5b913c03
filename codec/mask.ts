/**
 * Payload masking (RFC 6455 §5.3): every byte of a client-to-server payload is XORed with the
 * four-byte masking key, key byte `i mod 4` for payload byte `i`.
 *
 * Public interface:
 *
 * ```ts
 * interface Masker {
 *   mask(source: Uint8Array, key: Uint8Array, target: Uint8Array, targetOffset: number): void;
 *   unmask(buffer: Uint8Array, key: Uint8Array): void;
 * }
 * const portableMasker: Masker;          // word-at-a-time, plain JavaScript (browsers, Node, Deno…)
 * function getDefaultMasker(): Masker;   // WebAssembly SIMD where available, else portableMasker
 * function getMasker(): Masker;          // the process-wide masker the codec uses
 * function setMasker(masker: Masker | null): void; // plug in a native one (null restores the default)
 * function fillRandomMaskKey(key: Uint8Array): void; // 4 fresh random bytes (RFC 6455 §5.3)
 * function rotateMaskKey(key: Uint8Array, phase: number, target: Uint8Array): Uint8Array;
 * ```
 *
 * The `Masker` signatures are those of the `bufferutil` package (`mask(source, mask, output,
 * offset, length)`, `unmask(buffer, mask)`), so a Node entry point can plug it in with a
 * two-line adapter. The default is a WebAssembly SIMD masker (./mask-wasm.ts, 4× the portable
 * one on 64 KiB payloads) where the runtime has WebAssembly SIMD, else `portableMasker`.
 * A masker never knows where in the frame a piece of payload starts: callers
 * that mask a frame in pieces pass a key rotated by the piece's offset (`rotateMaskKey`).
 */
import { createWasmMasker } from "./mask-wasm.js";

export interface Masker {
  /**
   * Writes `source[i] ^ key[i & 3]` to `target[targetOffset + i]` for every byte of `source`.
   * `target` may be `source` itself with `targetOffset` 0 (masking in place).
   */
  mask(source: Uint8Array, key: Uint8Array, target: Uint8Array, targetOffset: number): void;
  /** XORs `buffer` with the key in place (`buffer[i] ^= key[i & 3]`). */
  unmask(buffer: Uint8Array, key: Uint8Array): void;
}

/*
 * Below this many bytes a four-way unrolled byte loop beats the word loop: creating the
 * Uint32Array view costs about as much as masking 150 bytes one at a time (measured on V8 11,
 * Node 20: 16 B 15 ns vs 62 ns, 128 B 67 ns vs 78 ns, 256 B 133 ns vs 95 ns).
 */
const WORD_LOOP_THRESHOLD = 192;

// Assembling the key word through a byte view gives the right word whatever the platform's
// endianness, since the Uint32Array over the payload uses that same endianness.
const keyWordBytes = new Uint8Array(4);
const keyWord = new Uint32Array(keyWordBytes.buffer);

function keyWordAt(key: Uint8Array, phase: number): number {
  keyWordBytes[0] = key[phase & 3]!;
  keyWordBytes[1] = key[(phase + 1) & 3]!;
  keyWordBytes[2] = key[(phase + 2) & 3]!;
  keyWordBytes[3] = key[(phase + 3) & 3]!;
  return keyWord[0]!;
}

function maskBytes(source: Uint8Array, key: Uint8Array, target: Uint8Array, targetOffset: number, start: number, end: number): void {
  const k0 = key[start & 3]!;
  const k1 = key[(start + 1) & 3]!;
  const k2 = key[(start + 2) & 3]!;
  const k3 = key[(start + 3) & 3]!;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    target[targetOffset + i] = source[i]! ^ k0;
    target[targetOffset + i + 1] = source[i + 1]! ^ k1;
    target[targetOffset + i + 2] = source[i + 2]! ^ k2;
    target[targetOffset + i + 3] = source[i + 3]! ^ k3;
  }
  if (i < end) {
    target[targetOffset + i] = source[i]! ^ k0;
    if (i + 1 < end) {
      target[targetOffset + i + 1] = source[i + 1]! ^ k1;
      if (i + 2 < end) target[targetOffset + i + 2] = source[i + 2]! ^ k2;
    }
  }
}

function maskWords(source: Uint8Array, key: Uint8Array, target: Uint8Array, targetOffset: number): void {
  const length = source.length;
  // Word access needs both sides 4-byte aligned at the same payload index; when their
  // alignments differ no single index works, so copy first and mask the aligned copy in place.
  if (((source.byteOffset - (target.byteOffset + targetOffset)) & 3) !== 0) {
    target.set(source, targetOffset);
    maskWords(target.subarray(targetOffset, targetOffset + length), key, target, targetOffset);
    return;
  }
  const head = Math.min((4 - (source.byteOffset & 3)) & 3, length);
  maskBytes(source, key, target, targetOffset, 0, head);
  const words = (length - head) >>> 2;
  const word = keyWordAt(key, head);
  const sourceWords = new Uint32Array(source.buffer, source.byteOffset + head, words);
  const targetWords =
    source.buffer === target.buffer && source.byteOffset === target.byteOffset + targetOffset
      ? sourceWords
      : new Uint32Array(target.buffer, target.byteOffset + targetOffset + head, words);
  let i = 0;
  for (; i + 4 <= words; i += 4) {
    targetWords[i] = sourceWords[i]! ^ word;
    targetWords[i + 1] = sourceWords[i + 1]! ^ word;
    targetWords[i + 2] = sourceWords[i + 2]! ^ word;
    targetWords[i + 3] = sourceWords[i + 3]! ^ word;
  }
  for (; i < words; i++) targetWords[i] = sourceWords[i]! ^ word;
  maskBytes(source, key, target, targetOffset, head + words * 4, length);
}

/** The default masker: plain JavaScript, a 32-bit word at a time over the aligned middle. */
export const portableMasker: Masker = Object.freeze({
  mask(source: Uint8Array, key: Uint8Array, target: Uint8Array, targetOffset: number): void {
    if (source.length < WORD_LOOP_THRESHOLD) maskBytes(source, key, target, targetOffset, 0, source.length);
    else maskWords(source, key, target, targetOffset);
  },
  unmask(buffer: Uint8Array, key: Uint8Array): void {
    if (buffer.length < WORD_LOOP_THRESHOLD) maskBytes(buffer, key, buffer, 0, 0, buffer.length);
    else maskWords(buffer, key, buffer, 0);
  },
});

/*
 * Maskers known to XOR exactly as RFC 6455 §5.3 says and nothing else (the built-in ones, and
 * those a wsmachine entry point builds on native code). A decoder using one of them may unmask
 * a short text payload inline while reading it (frame-decoder.ts), without calling the masker;
 * any other masker — e.g. an instrumented one passed in the options — is always called.
 */
const standardMaskers = new WeakSet<Masker>();

/** Declares that `masker` XORs exactly as RFC 6455 says (see above). */
export function markStandardMasker(masker: Masker): Masker {
  standardMaskers.add(masker);
  return masker;
}

/** True for the built-in maskers and those passed to `markStandardMasker`. */
export function isStandardMasker(masker: Masker): boolean {
  return standardMaskers.has(masker);
}

let defaultMasker: Masker | null = null;
let currentMasker: Masker | null = null;
markStandardMasker(portableMasker);

/**
 * The default masker: the WebAssembly SIMD one (./mask-wasm.ts) where the runtime supports it
 * and it passed its self-test, else `portableMasker`. Chosen once, on first use.
 */
export function getDefaultMasker(): Masker {
  if (defaultMasker === null) {
    const wasm = createWasmMasker(portableMasker);
    defaultMasker = wasm === null ? portableMasker : markStandardMasker(wasm);
  }
  return defaultMasker;
}

/** The masker encoders and decoders use when none is given in their options. */
export function getMasker(): Masker {
  return currentMasker ?? getDefaultMasker();
}

/**
 * Replaces the process-wide masker, e.g. with a native one from a Node-only entry point
 * (`wsmachine/node`). Codecs created afterwards use it; `null` restores the default
 * (`getDefaultMasker()`).
 */
export function setMasker(masker: Masker | null): void {
  currentMasker = masker;
}

/**
 * Writes into `target` the key as seen from payload offset `phase`, so that a masker, which
 * always starts at key byte 0, can mask a piece of payload that starts mid-frame.
 */
export function rotateMaskKey(key: Uint8Array, phase: number, target: Uint8Array): Uint8Array {
  target[0] = key[phase & 3]!;
  target[1] = key[(phase + 1) & 3]!;
  target[2] = key[(phase + 2) & 3]!;
  target[3] = key[(phase + 3) & 3]!;
  return target;
}

/*
 * One getRandomValues call per 2048 frames: the call costs far more than taking four bytes,
 * and RFC 6455 §5.3 only asks that keys be unpredictable, which a pool of strong randomness
 * consumed once is.
 */
const RANDOM_POOL_SIZE = 8 * 1024;
let randomPool: Uint8Array | null = null;
let randomPoolOffset = RANDOM_POOL_SIZE;

/** Fills `key[0..3]` with fresh bytes from the platform's cryptographic random source. */
export function fillRandomMaskKey(key: Uint8Array): void {
  if (randomPoolOffset === RANDOM_POOL_SIZE) {
    // Allocated lazily: a server never masks, so it never needs the pool.
    randomPool ??= new Uint8Array(RANDOM_POOL_SIZE);
    crypto.getRandomValues(randomPool);
    randomPoolOffset = 0;
  }
  const pool = randomPool!;
  key[0] = pool[randomPoolOffset]!;
  key[1] = pool[randomPoolOffset + 1]!;
  key[2] = pool[randomPoolOffset + 2]!;
  key[3] = pool[randomPoolOffset + 3]!;
  randomPoolOffset += 4;
}
