/**
 * The options of the frame decoder (./frame-decoder.ts, which exports this type and documents
 * what it does with them).
 */
import type { Extension } from "./extension.js";
import type { Masker } from "./mask.js";
import type { MemoryAccount } from "./memory-budget.js";

export interface FrameDecoderOptions {
  /** We are the client: the server must not mask; a server requires masked frames (RFC 6455 §5.1). */
  client: boolean;
  /** Most bytes a message may have after extensions (decompressed), counted across fragments. */
  maxMessageSize: number;
  /**
   * Most frames a data message may have, its first frame and empty continuations included
   * (1008 past it). Default: no limit. Pieces of a message are handed out as they arrive, so the
   * decoder holds nothing per frame; an application that reassembles holds one piece per frame,
   * which is what this bounds (cf. ws 8.21 `maxFragments`, GHSA-96hv-2xvq-fx4p).
   */
  maxFragments?: number;
  /** The enabled extensions: only their RSV bits are allowed, and their hooks see every frame. */
  extensions?: readonly Extension[];
  /** How to unmask payloads; defaults to the process-wide masker (see ./mask.ts). */
  masker?: Masker;
  /**
   * Deliver every data message whole, as one Frame, instead of piece by piece as its bytes
   * arrive (see the module comment). Default false.
   */
  assembleMessages?: boolean;
  /**
   * The connection's share of a memory budget (see ./memory-budget.ts). Before the decoder keeps
   * bytes for an incomplete frame or message — received bytes, joined or inflated payload, plus
   * HELD_ARRAY_OVERHEAD per kept array — it reserves them; when the budget refuses, the
   * connection fails with 1013 (Try Again Later) and the bytes are not kept.
   */
  memory?: MemoryAccount;
  /**
   * Most payload bytes (received, plus what extensions produce from them) one `nextFrame()`
   * call works through before it returns; it then returns null with `workPending` true, so
   * that a driver sharing a thread can serve other connections first. With extensions, their
   * inbound hooks are handed at most workQuantum / 1024 received bytes at a time (DEFLATE
   * inflates at most ~1032:1), so one hook call stays within about one quantum as well.
   * Default Infinity: a call works until it has a frame or needs more bytes.
   */
  workQuantum?: number;
  /**
   * Hand out text payloads as their UTF-8 bytes, validated as they arrive (RFC 6455 §8.1: 1007
   * at the first invalid byte) but never decoded into strings. Default false: strings.
   */
  textAsBytes?: boolean;
}
