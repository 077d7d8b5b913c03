/**
 * A small reference DEFLATE decoder (RFC 1951), after Mark Adler's puff: slow and simple, and
 * independent of pako and zlib. Besides the bytes it checks what zlib's inflate does not: that
 * no back-reference reaches further than the negotiated LZ77 window (RFC 7692 §7.1.2: the
 * compressor MUST NOT use a window larger than 2^max_window_bits) nor, without context takeover,
 * into an earlier message (§7.1.1).
 */

const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

interface Huffman {
  count: Int16Array;
  symbol: Int16Array;
}

function huffman(lengths: ArrayLike<number>): Huffman {
  const count = new Int16Array(16);
  for (let i = 0; i < lengths.length; i++) count[lengths[i]!]!++;
  const offsets = new Int16Array(16);
  for (let len = 1; len < 15; len++) offsets[len + 1] = offsets[len]! + count[len]!;
  const symbol = new Int16Array(lengths.length);
  for (let i = 0; i < lengths.length; i++) if (lengths[i] !== 0) symbol[offsets[lengths[i]!]!++] = i;
  return { count, symbol };
}

const FIXED = (() => {
  const lengths = new Array<number>(288);
  for (let i = 0; i < 288; i++) lengths[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
  return { lit: huffman(lengths), dist: huffman(new Array<number>(30).fill(5)) };
})();

export class DeflateFormatError extends Error {}

export interface InflatedMessage {
  data: Uint8Array;
  /** The longest back-reference distance used (0 if none). */
  maxDistance: number;
  /** The stream ended with a BFINAL block. */
  final: boolean;
}

/** One direction of a permessage-deflate stream, decoded message by message. */
export class ReferenceInflater {
  private history = new Uint8Array(0);

  constructor(
    private readonly windowBits: number,
    private readonly contextTakeover: boolean,
  ) {}

  /** Decode one message's payload (as on the wire: the 00 00 FF FF trailer removed, RFC 7692 §7.2.2). */
  message(payload: Uint8Array): InflatedMessage {
    const input = new Uint8Array(payload.length + 4);
    input.set(payload);
    input.set([0x00, 0x00, 0xff, 0xff], payload.length);
    const window = 1 << this.windowBits;
    const prefix = this.contextTakeover ? this.history : new Uint8Array(0);
    let out = new Uint8Array(Math.max(1024, prefix.length * 2));
    out.set(prefix);
    let length = prefix.length;
    let maxDistance = 0;
    let pos = 0;
    let bitBuffer = 0;
    let bitCount = 0;

    const bits = (n: number): number => {
      let value = bitBuffer;
      while (bitCount < n) {
        if (pos >= input.length) throw new DeflateFormatError("unexpected end of the deflate stream");
        value |= input[pos++]! << bitCount;
        bitCount += 8;
      }
      bitBuffer = value >>> n;
      bitCount -= n;
      return value & ((1 << n) - 1);
    };
    const put = (byte: number): void => {
      if (length === out.length) {
        const bigger = new Uint8Array(out.length * 2);
        bigger.set(out);
        out = bigger;
      }
      out[length++] = byte;
    };
    const decode = (h: Huffman): number => {
      let code = 0;
      let first = 0;
      let index = 0;
      for (let len = 1; len <= 15; len++) {
        code |= bits(1);
        const count = h.count[len]!;
        if (code - count < first) return h.symbol[index + (code - first)]!;
        index += count;
        first += count;
        first <<= 1;
        code <<= 1;
      }
      throw new DeflateFormatError("invalid Huffman code");
    };
    const codes = (lit: Huffman, dist: Huffman): void => {
      for (;;) {
        let symbol = decode(lit);
        if (symbol < 256) {
          put(symbol);
          continue;
        }
        if (symbol === 256) return;
        symbol -= 257;
        if (symbol >= 29) throw new DeflateFormatError("invalid length symbol");
        const len = LENGTH_BASE[symbol]! + bits(LENGTH_EXTRA[symbol]!);
        const distSymbol = decode(dist);
        if (distSymbol >= 30) throw new DeflateFormatError("invalid distance symbol");
        const distance = DIST_BASE[distSymbol]! + bits(DIST_EXTRA[distSymbol]!);
        if (distance > window) throw new DeflateFormatError(`distance ${distance} beyond the ${window}-byte window`);
        if (distance > length) throw new DeflateFormatError(`distance ${distance} reaches before the available history (${length} bytes)`);
        if (distance > maxDistance) maxDistance = distance;
        for (let i = 0; i < len; i++) put(out[length - distance]!);
      }
    };

    let final = false;
    while (!final && pos < input.length) {
      final = bits(1) === 1;
      const type = bits(2);
      if (type === 0) {
        bitBuffer = 0;
        bitCount = 0;
        if (pos + 4 > input.length) throw new DeflateFormatError("stored block header cut short");
        const len = input[pos]! | (input[pos + 1]! << 8);
        const nlen = input[pos + 2]! | (input[pos + 3]! << 8);
        pos += 4;
        if ((len ^ 0xffff) !== nlen) throw new DeflateFormatError("stored block LEN/NLEN mismatch");
        if (pos + len > input.length) throw new DeflateFormatError("stored block cut short");
        for (let i = 0; i < len; i++) put(input[pos + i]!);
        pos += len;
      } else if (type === 1) {
        codes(FIXED.lit, FIXED.dist);
      } else if (type === 2) {
        const nlen = bits(5) + 257;
        const ndist = bits(5) + 1;
        const ncode = bits(4) + 4;
        const codeLengths = new Array<number>(19).fill(0);
        for (let i = 0; i < ncode; i++) codeLengths[CODE_LENGTH_ORDER[i]!] = bits(3);
        const lencode = huffman(codeLengths);
        const lengths: number[] = [];
        while (lengths.length < nlen + ndist) {
          const symbol = decode(lencode);
          if (symbol < 16) {
            lengths.push(symbol);
          } else {
            let repeat: number;
            let value = 0;
            if (symbol === 16) {
              if (lengths.length === 0) throw new DeflateFormatError("repeat with no previous length");
              value = lengths[lengths.length - 1]!;
              repeat = 3 + bits(2);
            } else if (symbol === 17) {
              repeat = 3 + bits(3);
            } else {
              repeat = 11 + bits(7);
            }
            for (let i = 0; i < repeat; i++) lengths.push(value);
          }
        }
        if (lengths.length !== nlen + ndist) throw new DeflateFormatError("too many code lengths");
        codes(huffman(lengths.slice(0, nlen)), huffman(lengths.slice(nlen)));
      } else {
        throw new DeflateFormatError("invalid block type 3");
      }
    }
    const data = out.slice(prefix.length, length);
    if (this.contextTakeover) this.history = out.slice(Math.max(0, length - 32768), length);
    return { data, maxDistance, final };
  }
}
