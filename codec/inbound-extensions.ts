/**
 * The enabled extensions' inbound hooks as the frame decoder runs them (./frame-decoder.ts):
 * a data piece through every extension's payload hook, each one's end-of-frame output through
 * the ones after it, the output counted against a budget, and the first failure in stream order
 * reported.
 *
 * ```ts
 * class InboundExtensions {
 *   constructor(list: readonly Extension[], maxMessageSize: number);
 *   readonly list: readonly Extension[];
 *   // The piece's output; ParseFailed 1009 past `budget`. `utf8`: the text message's decoder, else null.
 *   apply(piece: Uint8Array, frameFinished: boolean, fin: boolean, budget: number, utf8: TextPieceCheck | null): Uint8Array;
 * }
 * interface TextPieceCheck { checkPiece(bytes: Uint8Array): void } // ParseFailed 1007 on invalid UTF-8
 * extensionFailure(error: unknown): ParseFailed; // a hook's own error, reported as 1011
 * messageTooBig(maxMessageSize: number): ParseFailed; // 1009
 * ```
 */
import type { Extension } from "./extension.js";
import { ParseFailed } from "./frame.js";

/**
 * A text message's UTF-8 check, piece by piece (a Utf8StreamDecoder, or a Utf8Validator with
 * `textAs: "bytes"`): throws ParseFailed 1007 at the first invalid byte.
 */
export interface TextPieceCheck {
  checkPiece(bytes: Uint8Array): void;
}

const EMPTY = new Uint8Array(0);

export class InboundExtensions {
  /** The current piece's frame is its message's last, and the text message's decoder (else null). */
  private fin = false;
  private utf8: TextPieceCheck | null = null;

  constructor(
    readonly list: readonly Extension[],
    private readonly maxMessageSize: number,
  ) {}

  /** Runs a data piece through the inbound hooks; its output must stay within `budget`. */
  apply(piece: Uint8Array, frameFinished: boolean, fin: boolean, budget: number, utf8: TextPieceCheck | null): Uint8Array {
    this.fin = fin;
    this.utf8 = utf8;
    return this.applyWithin(piece, frameFinished, budget);
  }

  private applyWithin(piece: Uint8Array, frameFinished: boolean, budget: number): Uint8Array {
    const extensions = this.list;
    let data = piece;
    if (data.length > 0) data = this.inboundThrough(extensions, 0, data, budget);
    if (frameFinished) {
      for (let index = 0; index < extensions.length; index++) {
        let tail: Uint8Array | null;
        try {
          tail = extensions[index]!.frameInboundComplete(this.fin, budget - data.length);
        } catch (error) {
          // The payload hooks' output of this piece has not been checked yet: it comes first.
          throw this.failureAfter(error, index === extensions.length - 1 ? data : EMPTY, budget);
        }
        if (tail === null || tail.length === 0) continue;
        // What an extension flushes at the end of the frame is still payload for the ones after it.
        tail = this.inboundThrough(extensions, index + 1, tail, budget - data.length);
        data = data.length === 0 ? tail : concatenate(data, tail);
      }
    }
    if (data.length > budget) throw this.tooBigAfter(data, budget);
    return data;
  }

  private inboundThrough(extensions: readonly Extension[], from: number, data: Uint8Array, budget: number): Uint8Array {
    let result = data;
    for (let index = from; index < extensions.length; index++) {
      try {
        result = extensions[index]!.frameInboundPayloadData(result, budget);
      } catch (error) {
        throw index === extensions.length - 1 ? this.failureAfter(error, EMPTY, budget) : error;
      }
      if (result.length > budget) throw index === extensions.length - 1 ? this.tooBigAfter(result, budget) : this.tooBig();
    }
    return result;
  }

  /**
   * The failure to report when the last extension's hook threw `error` after `unchecked` (its
   * output not yet delivered) and its own `payloadBefore`: see `firstFailure`.
   */
  private failureAfter(error: unknown, unchecked: Uint8Array, budget: number): unknown {
    if (!(error instanceof ParseFailed)) return error;
    return this.firstFailure(error, unchecked.length === 0 ? error.payloadBefore : [unchecked, ...error.payloadBefore], budget);
  }

  private tooBig(): ParseFailed {
    return messageTooBig(this.maxMessageSize);
  }

  /** A piece of final (post-extension) data passed the budget: see `firstFailure`. */
  private tooBigAfter(data: Uint8Array, budget: number): ParseFailed {
    return this.firstFailure(this.tooBig(), [data], budget);
  }

  /**
   * `failure`, unless a text message's bytes produced before it (`pieces`, in order) hold
   * invalid UTF-8 within the budget: then that 1007, so that the first problem in stream order
   * is the one reported, however the transport chunked the message.
   */
  private firstFailure(failure: ParseFailed, pieces: readonly Uint8Array[], budget: number): ParseFailed {
    const utf8 = this.utf8;
    if (utf8 === null) return failure;
    let room = budget;
    try {
      for (const bytes of pieces) {
        if (room <= 0) break;
        utf8.checkPiece(bytes.length > room ? bytes.subarray(0, room) : bytes);
        room -= bytes.length;
      }
    } catch (invalid) {
      if (invalid instanceof ParseFailed) return invalid;
      throw invalid;
    }
    return failure;
  }
}

function concatenate(first: Uint8Array, second: Uint8Array): Uint8Array {
  const result = new Uint8Array(first.length + second.length);
  result.set(first, 0);
  result.set(second, first.length);
  return result;
}

/** An error thrown by an extension hook that is not a ParseFailed, reported as one (1011). */
export function extensionFailure(error: unknown): ParseFailed {
  const message = error instanceof Error ? error.message : String(error);
  const failure = new ParseFailed(`extension failed while decoding a frame: ${message}`, 1011);
  failure.cause = error;
  return failure;
}

export function messageTooBig(maxMessageSize: number): ParseFailed {
  return new ParseFailed(`message larger than maxMessageSize (${maxMessageSize} bytes) (RFC 6455 §10.4)`, 1009);
}
