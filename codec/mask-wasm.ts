/**
 * A WebAssembly SIMD masker: XOR 16 bytes per instruction, portable to every runtime with
 * WebAssembly SIMD (Node ≥ 16.4, current browsers, Deno, Bun), no build step — the module is
 * the ~150 bytes below, written out by hand. `createWasmMasker()` returns null where
 * WebAssembly or its SIMD extension is missing (or the module fails its self-test), and the
 * caller keeps the portable masker.
 *
 * WebAssembly can only touch its own memory, so each block of up to BLOCK bytes is copied in,
 * XORed there and copied out: three passes over cache-hot memory instead of one JavaScript
 * pass. Below WASM_MIN bytes the copies cost more than they save and the portable masker runs.
 *
 * The module (text form):
 *
 *   (module
 *     (memory (export "m") 1)
 *     (func (export "x") (param $p i32) (param $end i32) (param $key i32)
 *       (local $k v128)
 *       (local.set $k (i32x4.splat (local.get $key)))
 *       (block (loop                           ;; 64 bytes per round while they fit
 *         (br_if 1 (i32.gt_u (i32.add (local.get $p) (i32.const 64)) (local.get $end)))
 *         (v128.store offset=0  (local.get $p) (v128.xor (v128.load offset=0  (local.get $p)) (local.get $k)))
 *         (v128.store offset=16 (local.get $p) (v128.xor (v128.load offset=16 (local.get $p)) (local.get $k)))
 *         (v128.store offset=32 (local.get $p) (v128.xor (v128.load offset=32 (local.get $p)) (local.get $k)))
 *         (v128.store offset=48 (local.get $p) (v128.xor (v128.load offset=48 (local.get $p)) (local.get $k)))
 *         (local.set $p (i32.add (local.get $p) (i32.const 64)))
 *         (br 0)))
 *       (block (loop                           ;; then 16 at a time
 *         (br_if 1 (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))
 *         (v128.store (local.get $p) (v128.xor (v128.load (local.get $p)) (local.get $k)))
 *         (local.set $p (i32.add (local.get $p) (i32.const 16)))
 *         (br 0)))))
 *
 * `x(p, end, key)` XORs [p, end) in place, end − p a multiple of 16; `key` is the four key
 * bytes read as a little-endian i32 (WebAssembly memory is little-endian whatever the host).
 */
import type { Masker } from "./mask.js";

// prettier-ignore
const XOR_BODY = [
  0x01, 0x01, 0x7b,                               // one local: v128
  0x20, 0x02, 0xfd, 0x11, 0x21, 0x03,             // k = i32x4.splat(key)
  0x02, 0x40, 0x03, 0x40,                         // block, loop
  0x20, 0x00, 0x41, 0xc0, 0x00, 0x6a, 0x20, 0x01, 0x4b, 0x0d, 0x01, // br_if 1 (p + 64 > end)
  0x20, 0x00, 0x20, 0x00, 0xfd, 0x00, 0x04, 0x00, 0x20, 0x03, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x00, // [p+0]  ^= k
  0x20, 0x00, 0x20, 0x00, 0xfd, 0x00, 0x04, 0x10, 0x20, 0x03, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x10, // [p+16] ^= k
  0x20, 0x00, 0x20, 0x00, 0xfd, 0x00, 0x04, 0x20, 0x20, 0x03, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x20, // [p+32] ^= k
  0x20, 0x00, 0x20, 0x00, 0xfd, 0x00, 0x04, 0x30, 0x20, 0x03, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x30, // [p+48] ^= k
  0x20, 0x00, 0x41, 0xc0, 0x00, 0x6a, 0x21, 0x00, // p += 64
  0x0c, 0x00, 0x0b, 0x0b,                         // br 0, end loop, end block
  0x02, 0x40, 0x03, 0x40,                         // block, loop
  0x20, 0x00, 0x41, 0x10, 0x6a, 0x20, 0x01, 0x4b, 0x0d, 0x01, // br_if 1 (p + 16 > end)
  0x20, 0x00, 0x20, 0x00, 0xfd, 0x00, 0x04, 0x00, 0x20, 0x03, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x00, // [p] ^= k
  0x20, 0x00, 0x41, 0x10, 0x6a, 0x21, 0x00,       // p += 16
  0x0c, 0x00, 0x0b, 0x0b,                         // br 0, end loop, end block
  0x0b,                                           // end function
];

/** Unsigned LEB128, as WebAssembly encodes sizes. */
function leb128(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function section(id: number, content: number[]): number[] {
  return [id, ...leb128(content.length), ...content];
}

// prettier-ignore
const MODULE_BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,          // "\0asm", version 1
  ...section(1, [0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00]), // type 0: (i32, i32, i32) -> ()
  ...section(3, [0x01, 0x00]),                             // function 0: type 0
  ...section(5, [0x01, 0x00, 0x01]),                       // memory 0: min 1 page
  ...section(7, [0x02, 0x01, 0x6d, 0x02, 0x00, 0x01, 0x78, 0x00, 0x00]), // export "m" memory 0, "x" func 0
  ...section(10, [0x01, ...leb128(XOR_BODY.length), ...XOR_BODY]),    // code
]);

/** Bytes copied into WebAssembly memory per step: one 64 KiB page, resident in L2. */
const BLOCK = 64 * 1024;

/** Below this many bytes the portable masker is faster than copying in and out. */
export const WASM_MIN = 256;

type XorFunction = (start: number, end: number, key: number) => void;

function keyWord(key: Uint8Array): number {
  return key[0]! | (key[1]! << 8) | (key[2]! << 16) | (key[3]! << 24);
}

class WasmMasker implements Masker {
  private readonly memory: Uint8Array;

  constructor(
    private readonly xor: XorFunction,
    buffer: ArrayBuffer,
    private readonly small: Masker,
  ) {
    this.memory = new Uint8Array(buffer, 0, BLOCK);
  }

  mask(source: Uint8Array, key: Uint8Array, target: Uint8Array, targetOffset: number): void {
    const length = source.length;
    if (length < WASM_MIN) {
      this.small.mask(source, key, target, targetOffset);
      return;
    }
    this.run(source, key, target, targetOffset, length);
  }

  unmask(buffer: Uint8Array, key: Uint8Array): void {
    const length = buffer.length;
    if (length < WASM_MIN) {
      this.small.unmask(buffer, key);
      return;
    }
    this.run(buffer, key, buffer, 0, length);
  }

  private run(source: Uint8Array, key: Uint8Array, target: Uint8Array, targetOffset: number, length: number): void {
    const memory = this.memory;
    const word = keyWord(key);
    // BLOCK is a multiple of 4, so every block starts at key phase 0.
    for (let start = 0; start < length; start += BLOCK) {
      const count = Math.min(BLOCK, length - start);
      const whole = count & ~15;
      memory.set(count === length ? source : source.subarray(start, start + count), 0);
      this.xor(0, whole, word);
      for (let i = whole; i < count; i++) memory[i]! ^= key[i & 3]!;
      target.set(count === BLOCK ? memory : memory.subarray(0, count), targetOffset + start);
    }
  }
}

/**
 * A masker running the module above, or null when this runtime lacks WebAssembly SIMD; `small`
 * masks what is shorter than WASM_MIN. The instance owns one 64 KiB WebAssembly memory; calls
 * are synchronous, so one instance can serve every codec of a realm.
 */
export function createWasmMasker(small: Masker): Masker | null {
  try {
    if (typeof WebAssembly !== "object" || !WebAssembly.validate(MODULE_BYTES)) return null;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(MODULE_BYTES), {});
    const xor = instance.exports.x as XorFunction;
    const memory = instance.exports.m as WebAssembly.Memory;
    const masker = new WasmMasker(xor, memory.buffer, small);
    return selfTest(masker) ? masker : null;
  } catch {
    return null;
  }
}

/** Checks the masker against a plain byte loop on every length class it handles. */
function selfTest(masker: Masker): boolean {
  const key = new Uint8Array([0x12, 0x34, 0x56, 0x78]);
  for (const length of [WASM_MIN, WASM_MIN + 13, BLOCK + 70]) {
    const data = new Uint8Array(length);
    for (let i = 0; i < length; i++) data[i] = (i * 7 + 3) & 0xff;
    const expected = data.map((byte, i) => byte ^ key[i & 3]!);
    const actual = data.slice();
    masker.unmask(actual, key);
    const target = new Uint8Array(length + 3);
    masker.mask(data, key, target, 3);
    for (let i = 0; i < length; i++) if (actual[i] !== expected[i] || target[i + 3] !== expected[i]) return false;
  }
  return true;
}
