/**
 * The Node entry's byte allocator for the codec (codec/bytes.ts): `Buffer.allocUnsafeSlow`,
 * which skips the zero fill that `new Uint8Array` must do. The codec asks for it only for large
 * arrays it then overwrites whole (frames it encodes, messages it joins), so no stale memory is
 * ever handed out. The result is a plain Uint8Array view, not a Buffer: callers of the portable
 * API expect `slice()` to copy, which Buffer's does not.
 */
import { Buffer } from "node:buffer";
import { setByteAllocator, type ByteAllocator } from "../../codec/bytes.js";

export const uninitializedAllocator: ByteAllocator = (length) => {
  const buffer = Buffer.allocUnsafeSlow(length);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, length);
};

/** Makes `uninitializedAllocator` the codec's allocator for the whole process. */
export function useUninitializedAllocator(): void {
  setByteAllocator(uninitializedAllocator);
}
