/**
 * A protocol core's settings, from its role and options: one frozen object shared by the cores
 * made one after another with the same options (a server's connections), rather than thirteen
 * fields of every connection's core (bench:e2e R1: ~100 bytes of every idle connection). The
 * last settings made are reused while a new core's options still say the same, so a caller that
 * changes its options object between connections gets settings that follow it.
 */
import { ConnectionType, DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_MESSAGE_SIZE } from "../constants.js";
import type { MemoryBudget } from "../memory-budget.js";
import type { Entropy, FrameTrace, ProtocolCoreOptions } from "./types.js";

export interface CoreSettings {
  readonly role: ConnectionType;
  readonly client: boolean;
  readonly framesOnly: boolean;
  readonly readsOutsideActor: boolean;
  readonly maxMessageSize: number;
  readonly maxFragments: number;
  readonly maxHandshakeHeadSize: number | undefined;
  readonly assembleMessages: boolean;
  readonly textAs: "string" | "bytes";
  readonly frameTrace: FrameTrace | null;
  readonly memoryBudget: MemoryBudget | undefined;
  readonly workQuantum: number | undefined;
  readonly entropy: Entropy | undefined;
}

let last: CoreSettings | null = null;

export function coreSettings(role: ConnectionType, options: ProtocolCoreOptions): CoreSettings {
  const maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const maxFragments = options.maxFragments ?? DEFAULT_MAX_FRAGMENTS;
  const assembleMessages = options.assembleMessages === true;
  const textAs = options.textAs === "bytes" ? "bytes" : "string";
  const frameTrace = options.frameTrace ?? null;
  const readsOutsideActor = options.readInputInActor === false;
  const framesOnly = options.framesOnly !== undefined;
  const s = last;
  if (
    s !== null &&
    s.role === role &&
    s.framesOnly === framesOnly &&
    s.readsOutsideActor === readsOutsideActor &&
    // Object.is: NaN is a number a caller may pass, and must match itself.
    Object.is(s.maxMessageSize, maxMessageSize) &&
    Object.is(s.maxFragments, maxFragments) &&
    Object.is(s.maxHandshakeHeadSize, options.maxHandshakeHeadSize) &&
    s.assembleMessages === assembleMessages &&
    s.textAs === textAs &&
    s.frameTrace === frameTrace &&
    s.memoryBudget === options.memoryBudget &&
    Object.is(s.workQuantum, options.workQuantum) &&
    s.entropy === options.entropy
  ) {
    return s;
  }
  const settings: CoreSettings = Object.freeze({
    role,
    client: role === ConnectionType.CLIENT,
    framesOnly,
    readsOutsideActor,
    maxMessageSize,
    maxFragments,
    maxHandshakeHeadSize: options.maxHandshakeHeadSize,
    assembleMessages,
    textAs,
    frameTrace,
    memoryBudget: options.memoryBudget,
    workQuantum: options.workQuantum,
    entropy: options.entropy,
  });
  // A frame trace is most often one connection's own: settings holding one are not kept for the next.
  last = frameTrace === null ? settings : null;
  return settings;
}
