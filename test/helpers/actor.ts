/** A bare connection actor with everything it emits recorded, for the statechart's tests. */
import { createActor, type Snapshot } from "xstate";
import { connectionMachine, type ConnectionMachineInput, type ConnectionType, type Event } from "../../src/index.js";
import { copy } from "./pair.js";

/** A connection actor (fresh, or restored from `snapshot`) whose events, bytes and errors are kept. */
export function recordedActor(type: ConnectionType, snapshot?: Snapshot<unknown>, input: Partial<ConnectionMachineInput> = {}) {
  const actor = createActor(connectionMachine, { input: { type, ...input }, snapshot });
  const events: Event[] = [];
  const output: Uint8Array[] = [];
  const errors: Error[] = [];
  actor.on("ws.event", (emitted) => events.push(emitted.event));
  actor.on("ws.output", (emitted) => output.push(emitted.data));
  actor.on("ws.error", (emitted) => errors.push(emitted.error));
  actor.start();
  return {
    actor,
    events,
    errors,
    send(event: Event) {
      actor.send({ type: "ws.send", event });
    },
    /** Feed bytes (a copy: the actor may unmask in place) or EOF. */
    receive(data: Uint8Array | null) {
      actor.send({ type: "ws.receive", data: data === null ? null : copy(data) });
    },
    /** Take (and forget) the bytes written so far, joined. */
    written(): Uint8Array {
      const all = new Uint8Array(output.reduce((sum, chunk) => sum + chunk.length, 0));
      let offset = 0;
      for (const chunk of output.splice(0)) {
        all.set(chunk, offset);
        offset += chunk.length;
      }
      return all;
    },
    /** Take (and forget) the types of the events so far. */
    types(): string[] {
      return events.splice(0).map((event) => event.type);
    },
    value() {
      return actor.getSnapshot().value;
    },
    /** The top-level state name. */
    state(): string {
      const value = actor.getSnapshot().value;
      return typeof value === "string" ? value : Object.keys(value)[0]!;
    },
  };
}

export type RecordedActor = ReturnType<typeof recordedActor>;
