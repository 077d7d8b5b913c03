/**
 * The vocabulary between the protocol core and its drivers (the statechart's actions and
 * `WSConnection`): how a state reads input (`InputPhase`), what lifecycle change the peer caused
 * (`PeerEvent`), the core's options, the opt-in frame trace, and the core's persisted form.
 */
import type { ConnectionType } from "../constants.js";
import type { AcceptConnection, Headers, RejectConnection, Request } from "../events.js";
import type { Extension } from "../extension.js";
import type { MemoryBudget } from "../memory-budget.js";

/**
 * How the current state reads input. The statechart names the phase in each state's actions,
 * so the way each state treats the peer's bytes is visible in the chart.
 */
export type InputPhase =
  | "buffering" // keep bytes for later (before the request is sent or answered); EOF ends it
  | "awaitingRequest" // server: parse the upgrade request
  | "awaitingResponse" // client: parse the upgrade response
  | "receivingBody" // client: read a rejection's body
  | "open" // frames
  | "localClosing" // frames, until the peer's close
  | "remoteClosing" // the peer closed: ignore bytes, wait for EOF
  | "failed"; // the peer broke the protocol: discard bytes, wait for EOF

/** Lifecycle changes caused by the peer, as statechart events. */
export type PeerEvent =
  | { type: "peer.request"; request: Request }
  | { type: "peer.accepted"; accept: AcceptConnection }
  | { type: "peer.rejected"; reject: RejectConnection }
  | { type: "peer.rejectBodyFinished" }
  | { type: "peer.handshakeFailed"; message: string }
  | { type: "peer.close"; code: number; reason: string | null }
  | { type: "peer.protocolError"; code: number; reason: string }
  | { type: "transport.eof" };

/**
 * One frame (or piece of a frame) seen by the opt-in frame trace: what an inspector shows
 * beside the lifecycle, since frames do not pass through the actor.
 */
export interface FrameTraceRecord {
  readonly direction: "in" | "out";
  /** The frame's opcode: for received data pieces the message's (TEXT/BINARY), as in `Frame`. */
  readonly opcode: number;
  /**
   * Received: the length of the delivered piece (after decompression; for text, UTF-16 code
   * units of the decoded string). Sent: the payload length on the wire (compressed, if the
   * message was). Each side reports what it has at hand without extra work.
   */
  readonly length: number;
  /** The last piece of its frame (received pieces of a large frame come as they arrive). */
  readonly frameFinished: boolean;
  /** For close frames: the status code (1005 for none). */
  readonly closeCode?: number;
}

export type FrameTrace = (record: FrameTraceRecord) => void;

/**
 * Where a client's randomness comes from: the handshake nonce (RFC 6455 §4.1) and each frame's
 * masking key (§5.3). Only for replaying a recorded connection (`replayTrace`), which must pick
 * what the original picked; a live connection must keep the default, crypto.getRandomValues.
 */
export interface Entropy {
  /** The Sec-WebSocket-Key: base64 of 16 bytes. */
  nonce(): string;
  /** Fills key[0..3] with the next frame's masking key. */
  maskKey(key: Uint8Array): void;
}

export interface ProtocolCoreOptions {
  /**
   * Called for every frame received or sent once OPEN. Off by default, and then it costs one
   * null check per frame.
   */
  frameTrace?: FrameTrace;
  /** Largest incoming message, after decompression (default 64 MiB); past it: close 1009. */
  maxMessageSize?: number;
  /** Most frames per incoming message, empty ones included (default 65536); past it: close 1008. */
  maxFragments?: number;
  /** Largest HTTP head of the opening handshake (default 16 KiB). */
  maxHandshakeHeadSize?: number;
  /** Deliver each incoming data message whole, as one event (default false: piece by piece). */
  assembleMessages?: boolean;
  /**
   * How incoming text messages come: "string" (default), decoded, as `TextMessage`; "bytes",
   * validated but not decoded, as `TextBytesMessage`.
   */
  textAs?: "string" | "bytes";
  /** Start in OPEN: the handshake was done by another stack (`Connection`). */
  framesOnly?: { extensions?: readonly Extension[]; trailingData?: Uint8Array };
  /**
   * False when `WSConnection` reads input itself in `events()`; the statechart's actions then
   * leave input alone. Internal.
   */
  readInputInActor?: boolean;
  /**
   * Restoring a persisted connection that negotiated extensions: a fresh, unnegotiated extension
   * object configured as the original was (e.g. `() => new PerMessageDeflate(sameOptions)`).
   * The handshake's negotiation is replayed on it. Used only when restoring.
   */
  restoreExtension?: (name: string) => Extension;
  /**
   * A memory budget shared with other connections: what this one keeps for incomplete messages
   * is reserved from it first, and a message that would exceed it fails the connection with
   * 1013 (see codec/memory-budget.ts). Not persisted.
   */
  memoryBudget?: MemoryBudget;
  /** Most payload bytes one frame read works through (see FrameDecoderOptions.workQuantum). Not persisted. */
  workQuantum?: number;
  /** A client's nonce and masking keys (default: crypto.getRandomValues). For replay only. */
  entropy?: Entropy;
}

/**
 * A connection's protocol state as plain data (JSON-safe), carried by the persisted snapshot of
 * the connection actor in place of the `ProtocolCore` object. It holds what the lifecycle needs:
 * the role and limits, what the handshake sent or received and settled (subprotocol, the
 * extensions' negotiation, to be replayed), whether EOF was seen and which halves of the frame
 * layer exist. It does not hold frame-level state: buffered input (a partial HTTP head, a
 * partially received frame, an unfinished fragmented message) and compression contexts are
 * dropped, so a restored connection reads from a frame boundary with fresh contexts.
 */
export interface PersistedProtocolCore {
  readonly version: 1;
  readonly role: ConnectionType;
  /** The limits; null for none (Infinity, which JSON cannot hold). */
  readonly maxMessageSize: number | null;
  readonly maxFragments: number | null;
  readonly maxHandshakeHeadSize: number | null;
  /** Absent in descriptions made before the option existed: false. */
  readonly assembleMessages?: boolean;
  /** Absent in descriptions made before the option existed: "string". */
  readonly textAs?: "string" | "bytes";
  readonly framesOnly: boolean;
  readonly readInputInActor: boolean;
  readonly eofReceived: boolean;
  /** Client, once its Request is out: what it offered (the response is checked against it). */
  readonly offer: { readonly nonce: string; readonly subprotocols: readonly string[]; readonly extensions: readonly string[] } | null;
  /** Server, once a valid request arrived: that request, as received. */
  readonly request: {
    readonly host: string;
    readonly target: string;
    readonly subprotocols: readonly string[];
    readonly extensions: readonly string[];
    readonly extraHeaders: Headers;
  } | null;
  /** The subprotocol the handshake settled on. */
  readonly subprotocol: string | null;
  /** The negotiated extensions, in the order they apply. */
  readonly extensions: readonly PersistedExtension[];
  /** Which halves of the frame layer exist (rebuilt at a frame boundary on restore). */
  readonly frames: { readonly decoding: boolean; readonly encoding: boolean };
}

export interface PersistedExtension {
  readonly name: string;
  /**
   * Client: the server's Sec-WebSocket-Extensions element for it, replayed through `finalize`.
   * Server: null, the offers of the persisted request are replayed through `accept`, as the
   * handshake did. Frames-only connections (`Connection`): null, `restoreExtension` must return
   * an extension that is already negotiated.
   */
  readonly response: string | null;
}
