/**
 * The options of `WSConnection` and `Connection` (README, "Limits" and "Inspection"): limits,
 * how messages are delivered, inspection, persistence, bounded work and the flight recorder.
 */
import type { InspectionEvent, Observer, Snapshot } from "xstate";
import type { Entropy, FrameTrace } from "../codec/core/protocol-core.js";
import type { Extension } from "../codec/extension.js";
import type { MemoryBudget } from "../codec/memory-budget.js";
import type { InternalConnectionMachineInput } from "../machines/connection-types.js";
import type { ConnectionType } from "../codec/constants.js";
import type { TraceRecorder } from "./trace/entries.js";

export interface ConnectionOptions {
  /** Largest incoming message in bytes, after decompression (default 64 MiB); past it: close 1009. */
  maxMessageSize?: number;
  /**
   * Most frames an incoming message may have, empty ones included (default 65536; `Infinity`
   * for no limit); past it: close 1008. Bounds what an application that reassembles messages
   * holds per message besides the bytes.
   */
  maxFragments?: number;
  /** Largest HTTP head of the opening handshake (default 16 KiB). */
  maxHandshakeHeadSize?: number;
  /**
   * Deliver every incoming data message whole: one `TextMessage` / `BytesMessage` per message,
   * `frameFinished` and `messageFinished` true, instead of pieces as the bytes arrive (wsproto's
   * way, the default). The decoder keeps a frame's bytes until it is complete and unmasks them
   * as it copies them into one array, which is cheaper than unmasking the pieces and joining
   * them afterwards. Holds up to `maxMessageSize` bytes per connection while a message arrives.
   */
  assembleMessages?: boolean;
  /**
   * How incoming text messages come: "string" (the default) as `TextMessage`, decoded from
   * UTF-8; "bytes" as `TextBytesMessage`, their UTF-8 bytes validated as they arrive (1007 at
   * the first invalid byte, RFC 6455 §8.1) but never decoded. For applications that forward,
   * store or echo text: no string is built and encoded again (ws hands text over as a Buffer
   * the same way). Send such bytes back as text with `TextBytesMessage`.
   */
  textAs?: "string" | "bytes";
  /** An XState inspection observer, passed to the actor (`createActor(machine, { inspect })`). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /**
   * Opt-in frame trace: called for every frame received or sent once OPEN (frames do not pass
   * through the actor, so inspection alone does not show them). Costs nothing when absent.
   */
  frameTrace?: FrameTrace;
  /**
   * Resume a connection from `ws.actor.getPersistedSnapshot()` (JSON round trip allowed)
   * instead of starting anew; the limits come from the snapshot. See the README on what is
   * and is not restored.
   */
  snapshot?: Snapshot<unknown>;
  /**
   * With `snapshot`, for a connection that negotiated extensions: a fresh extension object
   * configured as the original, e.g. `() => new PerMessageDeflate(options)`.
   */
  restoreExtension?: (name: string) => Extension;
  /**
   * A memory budget shared by several connections (a server's): what this connection keeps for
   * incomplete messages — received bytes, joined and decompressed payload, a fixed overhead per
   * kept array — is reserved from it before it is kept, and a message that would go over it
   * fails the connection with close code 1013 (Try Again Later). See the README's "Limits".
   */
  memoryBudget?: MemoryBudget;
  /**
   * Most payload bytes (received, plus decompressed) one step of `events()` works through
   * before `events()` ends with `workPending` true, so that a driver serving many connections
   * on one thread can serve the others before calling `events()` again. Default: no limit.
   */
  workQuantum?: number;
  /**
   * Opt-in flight recorder: called with every input chunk, EOF, send (with its bytes), event
   * handed out and the state after each (src/trace/entries.ts; README, "Flight recorder").
   * Costs one null check per call when absent. `replayTrace` reproduces a recorded connection.
   */
  record?: TraceRecorder;
  /** Where a client's nonce and masking keys come from: for `replayTrace` only (RFC 6455 §5.3 wants them unpredictable). */
  entropy?: Entropy;
}

export interface FramesOnlyOptions extends ConnectionOptions {
  /** Extensions already negotiated by whoever did the handshake. */
  extensions?: Extension[];
  /** Bytes received after the handshake, to be read as frames. */
  trailingData?: Uint8Array;
  /** The handshake was RFC 8441's (HTTP/2 extended CONNECT): the statechart records it (context.handshake). */
  handshake?: "rfc8441";
}

/** The statechart's input for a connection with these options (the facade reads input itself). */
export function machineInput(type: ConnectionType, options: ConnectionOptions, framesOnly?: FramesOnlyOptions): InternalConnectionMachineInput {
  return {
    type,
    maxMessageSize: options.maxMessageSize,
    maxFragments: options.maxFragments,
    maxHandshakeHeadSize: options.maxHandshakeHeadSize,
    assembleMessages: options.assembleMessages,
    textAs: options.textAs,
    frameTrace: options.frameTrace,
    readInputInActor: false,
    restoreExtension: options.restoreExtension,
    memoryBudget: options.memoryBudget,
    workQuantum: options.workQuantum,
    entropy: options.entropy,
    framesOnly: framesOnly === undefined ? undefined : { extensions: framesOnly.extensions, trailingData: framesOnly.trailingData },
    handshake: framesOnly?.handshake,
  };
}
