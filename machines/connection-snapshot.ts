/**
 * What an application asks of a connection actor's snapshot beyond XState's own (README,
 * "Embedding" and "Persisting a connection"):
 * - why a `ws.send` is refused: `snapshot.can({ type: "ws.send", event })` answers whether it
 *   would be taken (the guards are pure), `sendRefusal(snapshot, event)` says why not — the
 *   LocalProtocolError `WSConnection.send` raises in that state;
 * - persisting and restoring: the context holds the protocol core, the codec's live state, which
 *   JSON cannot carry. `persistConnection` puts its description (`ProtocolCore.describe()`) in
 *   its place, and `restoreConnection` builds a core from a description again, for the snapshot
 *   of a connection actor and for every connection among a persisted parent's children.
 */
import type { AnyActorRef, AnyMachineSnapshot, Snapshot } from "xstate";
import { LocalProtocolError } from "../codec/errors.js";
import { Event, describeValue } from "../codec/events.js";
import { ProtocolCore, type PersistedProtocolCore } from "../codec/core/protocol-core.js";
import type { ConnectionSnapshot } from "./connection-machine.js";
import { compiledState, type CompiledState } from "./connection-runner.js";
import { sendableName, type ConnectionMachineInput, type InternalConnectionMachineInput } from "./connection-types.js";

/**
 * Why `ws.send` of `event` is refused in this snapshot's state — the LocalProtocolError that
 * `WSConnection.send` raises there — or null when the actor would take it (then
 * `snapshot.can({ type: "ws.send", event })` is true). Nothing is encoded.
 */
export function sendRefusal(snapshot: ConnectionSnapshot, event: Event): LocalProtocolError | null {
  if (snapshot.can({ type: "ws.send", event })) return null;
  return refusalIn(compiledState(snapshot.value), snapshot.context.core, event);
}

/** Whether `ws.send` of `event` would be taken: `snapshot.can({ type: "ws.send", event })`. */
export function acceptsSend(snapshot: ConnectionSnapshot, event: Event): boolean {
  return snapshot.can({ type: "ws.send", event });
}

/**
 * The LocalProtocolError for a send that the atomic state `state` did not take: the event's own
 * fault when the state sends its kind (a close code out of range, text in the middle of a binary
 * message, …), else the state's (a Request after the handshake, anything but the close reply in
 * REMOTE_CLOSING, …).
 */
export function refusalIn(state: CompiledState, core: ProtocolCore, event: Event): LocalProtocolError {
  if (!(event instanceof Event)) return new LocalProtocolError(`ws.send takes a wsmachine Event, not ${describeValue(event)}`);
  if (state.sendKinds.has(sendableName(event))) {
    const refused = core.sendRefusal(event);
    if (refused !== null) return refused;
  }
  return core.stateRefusal(event, state.topLevel);
}

/** The persisted snapshot of an actor (or of a machine snapshot), as XState's `getPersistedSnapshot` returns it. */
export type PersistedSnapshot = Snapshot<unknown> & { readonly context?: unknown; readonly children?: Readonly<Record<string, PersistedChild>> };
interface PersistedChild {
  readonly snapshot: PersistedSnapshot;
}

/**
 * The persisted snapshot of a connection actor, or of any actor whose children include
 * connections (an app machine invoking `connectionMachine`), as plain JSON data: XState's
 * `getPersistedSnapshot()` with each connection's protocol core replaced by its description.
 * What a description does not carry (buffered input, compression contexts) is listed on
 * `PersistedProtocolCore`.
 */
export function persistConnection(source: AnyActorRef | AnyMachineSnapshot): PersistedSnapshot {
  const persisted = "machine" in source ? source.machine.getPersistedSnapshot(source) : source.getPersistedSnapshot();
  return mapConnections(persisted as PersistedSnapshot, (core) => (core instanceof ProtocolCore ? core.describe() : core));
}

/** What `restoreConnection` applies to the cores it rebuilds: what a description cannot hold. */
export type RestoreConnectionInput = Partial<ConnectionMachineInput>;

/**
 * The snapshot to give `createActor(machine, { snapshot })` for a persisted one (from
 * `persistConnection`, JSON round trip allowed): each connection's core — the snapshot's own,
 * and those of its persisted children, at any depth — is built again from its description with
 * `input`'s frame trace and extension factory (`restoreExtension`, needed when an extension was
 * negotiated). Throws an Error saying what was wrong when the snapshot holds no connection, a
 * connection's role is not `input.type`, or its extensions cannot be rebuilt.
 */
export function restoreConnection(persisted: Snapshot<unknown>, input?: RestoreConnectionInput): Snapshot<unknown> {
  let found = false;
  const restored = mapConnections(persisted as PersistedSnapshot, (core) => {
    found = true;
    // A live snapshot given by mistake (getSnapshot()) must not share its core.
    const description = core instanceof ProtocolCore ? core.describe() : core;
    if (input?.type !== undefined && input.type !== description.role) {
      throw new Error(`the persisted connection is a ${description.role}'s; input.type says ${input.type}`);
    }
    const readInputInActor = (input as InternalConnectionMachineInput | undefined)?.readInputInActor;
    return ProtocolCore.restore(description, {
      frameTrace: input?.frameTrace,
      restoreExtension: input?.restoreExtension,
      readInputInActor: input === undefined ? undefined : readInputInActor !== false,
    });
  });
  if (!found) {
    throw new Error("not a persisted wsmachine connection: no context.core in it or its children (persist it with persistConnection)");
  }
  return restored;
}

/** A copy of `persisted` with `convert` applied to the core of every connection in it. */
function mapConnections(
  persisted: PersistedSnapshot,
  convert: (core: ProtocolCore | PersistedProtocolCore) => ProtocolCore | PersistedProtocolCore,
): PersistedSnapshot {
  let result = persisted;
  const context = persisted.context;
  if (isConnectionContext(context)) result = { ...result, context: { ...context, core: convert(context.core) } };
  const children = persisted.children;
  if (children !== undefined && typeof children === "object") {
    const mapped: Record<string, PersistedChild> = {};
    for (const [id, child] of Object.entries(children)) {
      mapped[id] = child?.snapshot === undefined ? child : { ...child, snapshot: mapConnections(child.snapshot, convert) };
    }
    result = { ...result, children: mapped };
  }
  return result;
}

function isConnectionContext(context: unknown): context is { core: ProtocolCore | PersistedProtocolCore } {
  if (typeof context !== "object" || context === null) return false;
  const core = (context as { core?: unknown }).core;
  if (core instanceof ProtocolCore) return true;
  return typeof core === "object" && core !== null && (core as { version?: unknown }).version === 1 && typeof (core as { role?: unknown }).role === "string";
}
