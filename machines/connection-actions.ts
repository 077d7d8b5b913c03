/**
 * What the connection statechart's actions do, as plain functions over `ActionEffects`: the
 * actor runs them through XState's `enqueueActions` (./connection-machine.ts), the runner
 * (./connection-runner.ts) calls them directly, so both run the same code.
 */
import { LocalProtocolError } from "../codec/errors.js";
import type { InputPhase, PeerEvent } from "../codec/core/protocol-core.js";
import { readInput, type InputDriver } from "./connection-input.js";
import type { ConnectionMachineContext, ConnectionMachineEmitted, ConnectionMachineEvent } from "./connection-types.js";

/** What an action may do besides reading the context: the actor and the runner each supply these. */
export interface ActionEffects {
  /** Hand `emitted` to the listeners (and to the parent actor, with `notifyParent`). */
  emit(emitted: ConnectionMachineEmitted): void;
  /** Raise a lifecycle event, taken before any further outside event (XState's `raise`). */
  raise(event: PeerEvent): void;
  /** Change the recorded close code or failure (XState's `assign`). */
  assign(patch: Partial<Pick<ConnectionMachineContext, "closeCode" | "failure">>): void;
}

export interface ActionArguments {
  readonly context: ConnectionMachineContext;
  readonly event: ConnectionMachineEvent;
  readonly effects: ActionEffects;
}

export type ConnectionAction<Params = undefined> = (args: ActionArguments, params: Params) => void;

/**
 * The statechart's actions, as plain functions. The actor runs them through `inActor` (XState's
 * `enqueueActions`); the runner (machines/connection-runner.ts) calls them directly.
 */
export const connectionActions = {
  /** Encode and write a lifecycle send that `canSend` accepted, recording what it settles. */
  writeSend: ({ context, event, effects }) => {
    if (event.type !== "ws.send") return;
    effects.emit({ type: "ws.output", data: context.core.writeSend(event.event) });
  },
  /**
   * Encode and write a message, ping or pong that `sends` accepted. Its catch is a backstop:
   * the guard asked the encoder the same question, and an action must not throw.
   */
  writeData: ({ context, event, effects }) => {
    if (event.type !== "ws.send") return;
    try {
      effects.emit({ type: "ws.output", data: context.core.encodeData(event.event) });
    } catch (error) {
      if (!(error instanceof LocalProtocolError)) throw error;
      effects.emit({ type: "ws.error", error });
    }
  },
  /** Buffer received bytes (or EOF) and read as much as this phase reads. */
  readInput: ({ context, event, effects }, params: { phase: InputPhase }) => {
    if (event.type !== "ws.receive") return;
    const error = context.core.receive(event.data);
    if (error !== null) {
      effects.emit({ type: "ws.error", error });
      return;
    }
    drainInput(effects, context, params.phase);
  },
  /** Read what is already buffered, as the state just entered reads input. */
  drain: ({ context, effects }, params: { phase: InputPhase }) => {
    drainInput(effects, context, params.phase);
  },
  /** The frame layer starts: decoder and encoder with the negotiated extensions. */
  openFrames: ({ context }) => {
    context.core.openFrames();
  },
  /** Record what lifecycle-relevant thing the peer did, for inspection and persistence. */
  recordPeerEvent: ({ context, event, effects }) => {
    if (event.type === "peer.close") effects.assign({ closeCode: event.code });
    else if (event.type === "peer.protocolError") effects.assign({ closeCode: event.code, failure: event.reason });
    else if (event.type === "transport.eof") effects.assign({ closeCode: context.closeCode ?? 1006 });
    else if (event.type === "peer.handshakeFailed") effects.assign({ failure: event.message });
  },
} satisfies {
  writeSend: ConnectionAction;
  writeData: ConnectionAction;
  readInput: ConnectionAction<{ phase: InputPhase }>;
  drain: ConnectionAction<{ phase: InputPhase }>;
  openFrames: ConnectionAction;
  recordPeerEvent: ConnectionAction;
};


/**
 * Hand out every event the buffered input yields in this phase. A lifecycle event (a close
 * frame, a failure, EOF, the end of the handshake) ends the reading: it is raised so the machine
 * moves, and the state it enters reads the rest of the input on entry, as that state reads
 * input (frames after an accepted handshake, nothing after a close). `WSConnection` reads input
 * itself (lazily, in `events()`), so for it the core is never stepped from here.
 */
function drainInput(effects: ActionEffects, context: ConnectionMachineContext, phase: InputPhase): void {
  if (context.core.readsOutsideActor) return;
  readInput(context.core, actorInput, { effects, phase, raised: false });
}

interface ActorReading {
  readonly effects: ActionEffects;
  readonly phase: InputPhase;
  raised: boolean;
}

/** `readInput`'s driver inside an action: emit, and raise the lifecycle event (then stop). */
const actorInput: InputDriver<ActorReading> = {
  inputPhase: (reading) => (reading.raised ? null : reading.phase),
  deliver: (reading, event) => {
    reading.effects.emit({ type: "ws.event", event });
    return false;
  },
  handshakeError: (reading, error) => reading.effects.emit({ type: "ws.error", error }),
  lifecycle: (reading, event) => {
    reading.effects.raise(event);
    reading.raised = true;
  },
};
