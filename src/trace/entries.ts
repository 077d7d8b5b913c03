/**
 * The flight recorder's entries: what a connection was given and what it did, in order, as the
 * opt-in `record` option of `WSConnection` reports them (README, "Flight recorder"). The core
 * has no clock and no files: the callback receives live objects (events, byte arrays that are
 * valid only during the call) and whoever installed it stamps, serializes and stores them —
 * `traceLine` (./json.ts) turns an entry into one JSON-safe object for a JSON Lines file.
 */
import type { StateValue } from "xstate";
import type { Headers } from "../../codec/events.js";
import type { ConnectionType } from "../../codec/constants.js";
import type { Event } from "../../codec/events.js";

/** The options that decide how a connection reads its input, as a trace records them. */
export interface TraceLimits {
  readonly maxMessageSize: number | null;
  readonly maxFragments: number | null;
  readonly maxHandshakeHeadSize: number | null;
  readonly assembleMessages: boolean;
}

/** Why a call threw: the error's class name and message. */
export interface TraceError {
  readonly name: string;
  readonly message: string;
}

/** Every entry carries the statechart's state after it, as a dotted path ("OPEN.active"). */
export type TraceEntry =
  /** The connection was created. */
  | { readonly type: "start"; readonly role: ConnectionType; readonly limits: TraceLimits; readonly framesOnly: boolean; readonly restored: boolean; readonly state: string }
  /** `receiveData(data)`: a chunk from the peer (as received, still masked), or null for EOF. */
  | { readonly type: "receive"; readonly data: Uint8Array | null; readonly error: TraceError | null; readonly state: string }
  /** `initiateUpgradeConnection(headers, target)`: a request another HTTP stack parsed. */
  | { readonly type: "upgrade"; readonly headers: Headers; readonly target: string; readonly error: TraceError | null; readonly state: string }
  /** `send(event)` / `sendParts(event)`: the event and the bytes it produced (null when it threw). */
  | { readonly type: "send"; readonly event: Event; readonly data: readonly Uint8Array[] | null; readonly error: TraceError | null; readonly state: string }
  /** `events()` handed out an event. */
  | { readonly type: "event"; readonly event: Event; readonly state: string }
  /** An `events()` iteration ran to its end (it may have changed the state without an event, e.g. EOF while closing). */
  | { readonly type: "drained"; readonly state: string };

/** The `record` option: called synchronously with each entry; must not throw. */
export type TraceRecorder = (entry: TraceEntry) => void;

/** "OPEN.active" from `{ OPEN: "active" }` (the connection machine has no parallel states). */
export function stateName(value: StateValue): string {
  if (typeof value === "string") return value;
  const [key, child] = Object.entries(value)[0] ?? [];
  if (key === undefined) return "";
  const rest = child === undefined ? "" : stateName(child);
  return rest === "" ? key : `${key}.${rest}`;
}

/** The "start" entry of a connection with these limits (null for none: Infinity is not JSON). */
export function startEntry(
  role: ConnectionType,
  limits: { readonly maxMessageSize: number; readonly maxFragments: number; readonly assembleMessages: boolean },
  maxHandshakeHeadSize: number | undefined,
  framesOnly: boolean,
  restored: boolean,
  state: string,
): TraceEntry {
  const limit = (value: number | undefined): number | null => (value === undefined || value === Infinity ? null : value);
  return {
    type: "start",
    role,
    limits: {
      maxMessageSize: limit(limits.maxMessageSize),
      maxFragments: limit(limits.maxFragments),
      maxHandshakeHeadSize: limit(maxHandshakeHeadSize),
      assembleMessages: limits.assembleMessages,
    },
    framesOnly,
    restored,
    state,
  };
}

export function traceError(error: unknown): TraceError {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
}

/** Run `action`, then give `record` the entry `entry` makes of its result or of the error it threw (rethrown). */
export function recorded<T>(record: TraceRecorder, action: () => T, entry: (error: TraceError | null, result: T | null) => TraceEntry): T {
  let result: T;
  try {
    result = action();
  } catch (error) {
    record(entry(traceError(error), null));
    throw error;
  }
  record(entry(null, result));
  return result;
}
