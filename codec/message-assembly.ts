/**
 * A data message being assembled by the frame decoder (`assembleMessages`, see
 * ./frame-decoder.ts): binary pieces kept until the last one and then joined, or the text
 * decoded so far (or, with the decoder's textAsBytes, text's validated bytes, kept as binary
 * pieces are); a large join is done a work quantum at a time.
 *
 * ```ts
 * class MessageAssembly {
 *   text: string;                          // the text decoded so far
 *   get joining(): boolean;                // a join is under way: continueJoin until it returns the bytes
 *   addText(text: string): void;
 *   addBytes(data: Uint8Array): void;      // kept, not copied
 *   takeText(last: string): string;        // the whole text; starts over
 *   finishBytes(last: Uint8Array, workQuantum: number, opcode: number): Uint8Array | null; // null: joining
 *   opcode: number;                        // the opcode given to finishBytes (text as bytes, or binary)
 *   continueJoin(workQuantum: number): Uint8Array | null; // null: stopped at workQuantum
 *   held(arrayOverhead: number): number;   // bytes held, arrayOverhead per kept array
 *   clear(): void;
 * }
 * ```
 */
import { allocateFilled, concatBytes } from "./bytes.js";

const EMPTY = new Uint8Array(0);

interface Join {
  target: Uint8Array;
  pieces: Uint8Array[];
  index: number;
  filled: number;
}

export class MessageAssembly {
  /** The binary pieces so far, and their bytes (during a join: the bytes not yet copied). */
  private pieces: Uint8Array[] | null = null;
  private bytes = 0;
  /** The text decoded so far. */
  text = "";
  /** A large message being joined a quantum at a time (finishBytes). */
  private join: Join | null = null;
  /** The message's opcode, as finishBytes was told: what the joined bytes are. */
  opcode = 0;

  get joining(): boolean {
    return this.join !== null;
  }

  addText(text: string): void {
    this.text += text;
  }

  addBytes(data: Uint8Array): void {
    (this.pieces ??= []).push(data);
    this.bytes += data.length;
  }

  /** The assembled text message ending with `last`; the assembly starts over. */
  takeText(last: string): string {
    const text = this.text + last;
    this.text = "";
    return text;
  }

  /**
   * The last piece of an assembled binary message is here: join the pieces into one array. Under
   * a work quantum a join larger than the quantum is done a quantum at a time (continueJoin):
   * copying 64 MiB into fresh memory costs a few hundred milliseconds of page faults here.
   * Null when the join stopped at the quantum.
   */
  finishBytes(last: Uint8Array, workQuantum: number, opcode: number): Uint8Array | null {
    this.opcode = opcode;
    const pieces = this.pieces;
    if (pieces === null || this.bytes + last.length <= workQuantum) return this.takeBytes(last);
    if (last.length > 0) pieces.push(last);
    this.bytes += last.length;
    this.pieces = null;
    this.join = { target: allocateFilled(this.bytes), pieces, index: 0, filled: 0 };
    return this.continueJoin(workQuantum);
  }

  /** Copy the next quantum of a join; the message's bytes once whole, else null. */
  continueJoin(workQuantum: number): Uint8Array | null {
    const join = this.join!;
    const { target, pieces } = join;
    let copied = 0;
    while (join.index < pieces.length) {
      if (copied >= workQuantum) return null;
      const piece = pieces[join.index]!;
      target.set(piece, join.filled);
      join.filled += piece.length;
      copied += piece.length;
      this.bytes -= piece.length;
      pieces[join.index++] = EMPTY; // copied: no longer held twice
    }
    this.join = null;
    this.bytes = 0;
    return target;
  }

  /** The assembled binary message ending with `last`, joined into one array; starts over. */
  private takeBytes(last: Uint8Array): Uint8Array {
    const pieces = this.pieces;
    if (pieces === null) return last;
    this.pieces = null;
    this.bytes = 0;
    if (last.length > 0) pieces.push(last);
    return concatBytes(pieces);
  }

  /** What is held: the bytes and text so far, and `arrayOverhead` per kept array. */
  held(arrayOverhead: number): number {
    const pieces = this.pieces === null ? 0 : this.pieces.length;
    const joined = this.join === null ? 0 : this.join.target.length + arrayOverhead;
    return this.bytes + joined + this.text.length + pieces * arrayOverhead;
  }

  /** Forget the message. */
  clear(): void {
    this.pieces = null;
    this.bytes = 0;
    this.text = "";
    this.join = null;
  }
}
