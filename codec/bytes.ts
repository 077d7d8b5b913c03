/**
 * Byte-array helpers shared by the codec, the connection and the Node glue.
 *
 * Public interface:
 *
 * ```ts
 * type ByteAllocator = (length: number) => Uint8Array;
 * function concatBytes(chunks: readonly Uint8Array[]): Uint8Array;
 * function allocateFilled(length: number): Uint8Array;   // for arrays the caller overwrites whole
 * function setByteAllocator(allocator: ByteAllocator | null): void;
 * ```
 */

const EMPTY = new Uint8Array(0);

/**
 * Allocates a plain Uint8Array of `length` bytes whose contents the caller will overwrite
 * entirely before anyone else sees it, so it need not be zero-filled. The portable default is
 * `new Uint8Array(length)`, which always is; the Node entry plugs an uninitialised allocation
 * (`Buffer.allocUnsafeSlow`), saving a write pass over every large frame and joined message.
 */
export type ByteAllocator = (length: number) => Uint8Array;

const zeroFilled: ByteAllocator = (length) => new Uint8Array(length);

/*
 * Up to this size the allocator is not asked: V8 keeps typed arrays of up to 64 bytes on its own
 * heap, where one costs less than a call through a plugged allocator. A larger one gets a
 * backing store of its own (a zeroed allocation outside the heap, ~1 µs at 1 KiB), which is
 * what a pooled allocator saves on every mid-sized frame (bench:e2e E3: 6 % of the server).
 */
export const ON_HEAP_MAX = 64;

let allocator: ByteAllocator = zeroFilled;

/**
 * Replaces the process-wide allocator for arrays the codec overwrites whole (frames it encodes,
 * payloads it joins); `null` restores the zero-filling default. The allocator must return a
 * fresh array of exactly `length` bytes that nothing else references.
 */
export function setByteAllocator(replacement: ByteAllocator | null): void {
  allocator = replacement ?? zeroFilled;
}

/**
 * A new array of `length` bytes, every one of which the caller MUST write before handing the
 * array out: with a plugged allocator its initial contents are whatever the memory held.
 */
export function allocateFilled(length: number): Uint8Array {
  return length <= ON_HEAP_MAX ? new Uint8Array(length) : allocator(length);
}

/** The chunks joined into one array; a single chunk is returned as it is, without a copy. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  if (chunks.length === 0) return EMPTY;
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const out = allocateFilled(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
