/**
 * Reading the peer's input, written once: step the protocol core in the phase the statechart's
 * state reads, hand out the event, report the peer's handshake error and send the lifecycle
 * change to the statechart — in that order, step after step. Its two drivers:
 * - the statechart's own actions, when the machine runs as an actor (`ws.receive`, and each
 *   reading state's entry): they emit, and raise the lifecycle event (./connection-actions.ts);
 * - `WSConnection`, which reads lazily in `events()` and during the handshake in `receiveData`,
 *   and sends the lifecycle event to its runner or actor (README, "The statechart").
 */
import type { RemoteProtocolError } from "../codec/errors.js";
import type { WebSocketEvent } from "../codec/events.js";
import type { InputPhase, PeerEvent, ProtocolCore, StepResult } from "../codec/core/protocol-core.js";

/**
 * What a driver of `readInput` does with what the input yields, for the reader `self` it is
 * given with: one driver object serves every connection (no closures per connection).
 */
export interface InputDriver<Self> {
  /** How the statechart's state reads input now; null: read no more now. */
  inputPhase(self: Self): InputPhase | null;
  /** A protocol event the input yielded. True: stop after it, and `readInput` returns it (the caller reads lazily). */
  deliver(self: Self, event: WebSocketEvent): boolean;
  /** The peer got the opening handshake wrong (RFC 6455 §4.1, §4.2.1). */
  handshakeError(self: Self, error: RemoteProtocolError): void;
  /** Send the lifecycle change to the statechart. */
  lifecycle(self: Self, event: PeerEvent): void;
}

/**
 * Step `core` until the driver stops reading or the input yields nothing: each step's event is
 * delivered, its handshake error reported, then its lifecycle change sent to the statechart
 * (the statechart moves after the event is out, and the error is known before the state the
 * failure leads to reads anything). A lazy driver's `deliver` answers true: reading stops, and
 * that event is returned. `step`, when given, is a step the caller made itself (a request
 * another HTTP stack parsed), handed on first.
 */
export function readInput<Self>(core: ProtocolCore, driver: InputDriver<Self>, self: Self, step?: StepResult): WebSocketEvent | null {
  for (;;) {
    let result = step;
    step = undefined;
    if (result === undefined) {
      const phase = driver.inputPhase(self);
      if (phase === null) return null;
      result = core.step(phase);
    }
    // Copied out first: `result` is the core's one record, which the next step overwrites.
    // The core yields only the classes of the WebSocketEvent union.
    const event = result.event as WebSocketEvent | null;
    const transition = result.transition;
    const error = result.error;
    const stop = event !== null && driver.deliver(self, event);
    if (error !== null) driver.handshakeError(self, error);
    if (transition !== null) driver.lifecycle(self, transition);
    if (stop) return event;
    if (event === null && transition === null) return null;
  }
}
