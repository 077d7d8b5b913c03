/**
 * The frame decoder's queue of received, unparsed bytes (see ./frame-decoder.ts): the chunks as
 * they arrived, the small ones copied into a block of its own (SMALL_CHUNK_MAX).
 *
 * ```ts
 * class ReceivedBytes {
 *   chunks: Uint8Array[]; head: number; end: number; offset: number; // unread: chunks[head] from offset, up to chunks[end - 1]
 *   buffered: number;                   // bytes unread
 *   get entries(): number;              // arrays held (HELD_ARRAY_OVERHEAD each)
 *   append(chunk: Uint8Array): void;    // keeps chunk (small ones: a copy)
 *   skip(length: number): void;         // consumes length bytes
 *   copyTo(target: Uint8Array, length: number): void; // copies and consumes length bytes
 *   takeUnconsumed(): Uint8Array[];     // hands over (and forgets) the unread bytes
 *   clear(): void;                      // forgets everything
 * }
 * ```
 *
 * Its fields are public so that the decoder's hot path reads them directly.
 *
 * The array of chunks is kept, with its free slots, from one message to the next (up to
 * RETAINED_SLOTS_MAX of them): a large message held until complete (bench W3: 256 reads of a
 * 16 MiB frame) would otherwise regrow it, and compact it with splice, every time — a few KB of
 * garbage per message, which with large arrays freed every message measurably brought on full
 * GCs (docs/performance.md, W3).
 */

const EMPTY = new Uint8Array(0);

/*
 * A received chunk this small that arrives while earlier bytes still wait is copied into a
 * block the decoder owns instead of being kept as it is: each kept array costs ~200 bytes of
 * objects whatever its length, so a peer that trickles a frame a byte at a time would otherwise
 * make a connection hold ~200 times what it sent (a 256 KiB frame, assembled, 57 MB). Blocks
 * start at BLOCK_MIN and double up to BLOCK_MAX while the trickle lasts; what is held is then
 * within about twice the bytes waiting, plus one block. Larger chunks are kept uncopied: their
 * overhead is at most ~20% of their size.
 */
const SMALL_CHUNK_MAX = 1024;
const BLOCK_MIN = 256;
const BLOCK_MAX = 16 * 1024;

/**
 * Slots of the chunk array kept once it is empty: enough for a 16 MiB message in 64 KiB reads.
 * A larger array (a long trickle, a huge message) is dropped then, so what a connection keeps
 * after its largest message is bounded (8 bytes a slot).
 */
const RETAINED_SLOTS_MAX = 512;

export class ReceivedBytes {
  // Received, unparsed bytes: chunks[head] from `offset`, then the later chunks.
  chunks: Uint8Array[] = [];
  /** chunks[end] and later: free slots, kept so that the array is not regrown for every message. */
  end = 0;
  head = 0;
  offset = 0;
  buffered = 0;
  /** The block small chunks are copied into (see SMALL_CHUNK_MAX), and the chunks entry viewing it. */
  private block: Uint8Array | null = null;
  private blockView: Uint8Array | null = null;
  private blockUsed = 0;

  /** Arrays held for the unread bytes. */
  get entries(): number {
    return this.end - this.head;
  }

  /** Queues `chunk`: kept as it is, or copied into the block when small and bytes wait. */
  append(chunk: Uint8Array): void {
    if (chunk.length <= SMALL_CHUNK_MAX && this.buffered > 0) this.appendSmall(chunk);
    else this.chunks[this.end++] = chunk;
    this.buffered += chunk.length;
  }

  /** Queues a small chunk by copying it into the block (see SMALL_CHUNK_MAX). */
  private appendSmall(chunk: Uint8Array): void {
    const chunks = this.chunks;
    const last = this.end - 1;
    let block = this.block;
    if (block !== null && chunks[last] === this.blockView && block.length - this.blockUsed >= chunk.length) {
      // The block's view is the last chunk: extend it (it starts at 0, so `offset` into it holds).
      block.set(chunk, this.blockUsed);
      this.blockUsed += chunk.length;
      const view = block.subarray(0, this.blockUsed);
      chunks[last] = view;
      this.blockView = view;
      return;
    }
    const capacity = block === null ? BLOCK_MIN : Math.min(BLOCK_MAX, block.length * 2);
    block = new Uint8Array(Math.max(capacity, chunk.length));
    block.set(chunk, 0);
    const view = block.subarray(0, chunk.length);
    chunks[this.end++] = view;
    this.block = block;
    this.blockView = view;
    this.blockUsed = chunk.length;
  }

  /** Nothing is buffered: forget the block, so that the next trickle starts small again. */
  private releaseBlock(): void {
    this.block = null;
    this.blockView = null;
  }

  /** Forget every byte held. */
  clear(): void {
    this.chunks = [];
    this.end = 0;
    this.head = 0;
    this.offset = 0;
    this.buffered = 0;
    this.releaseBlock();
  }

  /**
   * Returns the unread bytes and forgets them. If a frame is partly read, they start inside it.
   */
  takeUnconsumed(): Uint8Array[] {
    const rest: Uint8Array[] = [];
    for (let index = this.head; index < this.end; index++) {
      const chunk = this.chunks[index]!;
      rest.push(index === this.head && this.offset > 0 ? chunk.subarray(this.offset) : chunk);
    }
    this.clear();
    return rest;
  }

  /** Copies the next `length` buffered bytes into `target` and consumes them. */
  copyTo(target: Uint8Array, length: number): void {
    let copied = 0;
    while (copied < length) {
      const chunk = this.chunks[this.head]!;
      const available = Math.min(chunk.length - this.offset, length - copied);
      target.set(chunk.subarray(this.offset, this.offset + available), copied);
      copied += available;
      this.skip(available);
    }
  }

  /** Consumes `length` buffered bytes; the head chunk always has unread bytes, or none is left. */
  skip(length: number): void {
    this.buffered -= length;
    let offset = this.offset + length;
    const chunks = this.chunks;
    while (offset >= chunks[this.head]!.length) {
      offset -= chunks[this.head]!.length;
      // Drop our reference so a consumed chunk can be collected while later ones wait.
      chunks[this.head] = EMPTY;
      this.head++;
      if (this.head === this.end) {
        if (chunks.length > RETAINED_SLOTS_MAX) this.chunks = [];
        this.end = 0;
        this.head = 0;
        offset = 0;
        if (this.block !== null) this.releaseBlock();
        break;
      }
    }
    this.offset = offset;
    if (this.head > 64 && this.head * 2 > this.end) {
      // Compacted in place (splice would allocate an array of what it removes).
      chunks.copyWithin(0, this.head, this.end);
      chunks.fill(EMPTY, this.end - this.head, this.end);
      this.end -= this.head;
      this.head = 0;
    }
  }
}
