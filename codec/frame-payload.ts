/**
 * The payload of the frame being read, for the frame decoder (./frame-decoder.ts, which extends
 * this class so that these fields, read per frame on its hot path, live on the decoder itself):
 * the received bytes, the frame's masking key and how much of its payload is read, and taking
 * payload out of the received bytes, unmasked.
 *
 * ```ts
 * abstract class FramePayloadReader {
 *   constructor(masker: Masker);
 *   protected takeContiguous(chunk: Uint8Array, start: number, length: number): Uint8Array; // in place
 *   protected takeWhole(length: number): Uint8Array; // one array: in place, or an unmasking copy
 * }
 * ```
 */
import { allocateFilled } from "./bytes.js";
import type { Masker } from "./mask.js";
import { ReceivedBytes } from "./received-bytes.js";

const EMPTY = new Uint8Array(0);

/*
 * A scratch array shared by every decoder (decoding is synchronous and nothing keeps it across
 * calls), so that an idle connection does not carry it: the masking key handed to the masker
 * is written to it (as a header split across chunks is gathered in ./frame-header.ts's
 * HEADER_SCRATCH).
 */
const KEY_SCRATCH = new Uint8Array(4);

export abstract class FramePayloadReader {
  /** Received, unparsed bytes. */
  protected readonly input = new ReceivedBytes();

  // The frame being read.
  protected masked = false;
  protected maskKeyIsZero = true;
  /** The frame's masking key, key byte i in bits 8i..8i+7 (a number: no array per decoder). */
  protected maskKeyWord = 0;
  protected payloadRemaining = 0;
  protected payloadRead = 0;

  constructor(protected readonly masker: Masker) {}

  /** `length` payload bytes that lie in `chunk` from `start`, unmasked in place. */
  protected takeContiguous(chunk: Uint8Array, start: number, length: number): Uint8Array {
    const piece = chunk.subarray(start, start + length);
    this.input.skip(length);
    this.acceptPayload(piece);
    return piece;
  }

  /**
   * The next `length` payload bytes as one array: a subarray unmasked in place when they lie in
   * one chunk, else a new array they are unmasked into as they are copied (one pass).
   */
  protected takeWhole(length: number): Uint8Array {
    const input = this.input;
    const chunk = input.chunks[input.head];
    if (length === 0) return EMPTY;
    if (chunk!.length - input.offset >= length) {
      const piece = chunk!.subarray(input.offset, input.offset + length);
      input.skip(length);
      this.acceptPayload(piece);
      return piece;
    }
    // The bytes have arrived (callers check), so this allocation is bounded by what we hold,
    // and every byte of it is written below.
    const piece = allocateFilled(length);
    const unmask = this.masked && !this.maskKeyIsZero;
    let copied = 0;
    while (copied < length) {
      const source = input.chunks[input.head]!;
      const available = Math.min(source.length - input.offset, length - copied);
      // A whole chunk goes to the masker as it is: a subarray per chunk was ~100 bytes of garbage
      // for every read of a large frame (W3: 256 of them per message).
      const segment = available === source.length ? source : source.subarray(input.offset, input.offset + available);
      if (unmask) this.masker.mask(segment, this.keyAt(this.payloadRead + copied), piece, copied);
      else piece.set(segment, copied);
      copied += available;
      input.skip(available);
    }
    this.payloadRead += length;
    this.payloadRemaining -= length;
    return piece;
  }

  /** Counts `piece` as read from the current frame's payload and unmasks it in place. */
  private acceptPayload(piece: Uint8Array): void {
    const read = this.payloadRead;
    this.payloadRead = read + piece.length;
    this.payloadRemaining -= piece.length;
    if (!this.masked || this.maskKeyIsZero || piece.length === 0) return;
    this.masker.unmask(piece, this.keyAt(read));
  }

  /**
   * The frame's key as seen from payload offset `phase`, in a scratch array shared by every
   * decoder: maskers are synchronous and keep no reference to it.
   */
  private keyAt(phase: number): Uint8Array {
    const word = this.maskKeyWord;
    const shift = (phase & 3) * 8;
    const key = KEY_SCRATCH;
    key[0] = word >>> shift;
    key[1] = word >>> ((shift + 8) & 31);
    key[2] = word >>> ((shift + 16) & 31);
    key[3] = word >>> ((shift + 24) & 31);
    return key;
  }
}
