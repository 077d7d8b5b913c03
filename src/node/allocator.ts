/**
 * The Node entry's byte allocator for the codec (codec/bytes.ts), for arrays over 64 bytes that
 * the codec then overwrites whole (frames it encodes, messages it joins), so no stale memory is
 * ever handed out. It skips the zero fill that `new Uint8Array` must do, and below 4 KiB it takes
 * the array from Node's shared 8 KiB pool (`Buffer.allocUnsafe`, as ws does for its frames)
 * rather than giving each one a backing store of its own; larger ones get their own memory
 * (`Buffer.allocUnsafeSlow`), so that a kept message never pins a pool. The result is a plain
 * Uint8Array view, not a Buffer: callers of the portable API expect `slice()` to copy, which
 * Buffer's does not.
 */
import { Buffer } from "node:buffer";
import { setByteAllocator, type ByteAllocator } from "../../codec/bytes.js";

/** Node pools allocations below half its pool size (Buffer.poolSize, 8 KiB). */
const POOLED_MAX = Buffer.poolSize >>> 1;

export const uninitializedAllocator: ByteAllocator = (length) => {
  const buffer = length < POOLED_MAX ? Buffer.allocUnsafe(length) : Buffer.allocUnsafeSlow(length);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, length);
};

/** Makes `uninitializedAllocator` the codec's allocator for the whole process. */
export function useUninitializedAllocator(): void {
  setByteAllocator(uninitializedAllocator);
}
