/**
 * The per-state facts drivers read from the chart (ConnectionTag): which states parse input as
 * it arrives (the opening handshake) and which encode messages without a lifecycle step. The
 * tags are what WSConnection, the runner and an actor's `snapshot.hasTag()` agree on.
 */
import { describe, expect, it } from "vitest";
import { createActor, type AnyStateNode } from "xstate";
import { compiledState } from "../../machines/connection-runner.js";
import { ConnectionTag, connectionMachine } from "../../machines/connection-machine.js";
import { ConnectionType, Request, WSConnection } from "../../src/index.js";
import { openPair } from "../helpers/pair.js";

function atomicStates(node: AnyStateNode): AnyStateNode[] {
  const children = Object.values(node.states);
  return children.length === 0 ? [node] : children.flatMap(atomicStates);
}

const HANDSHAKE_PHASES = new Set(["awaitingRequest", "awaitingResponse", "receivingBody", "buffering"]);

describe("the chart's state tags", () => {
  const states = atomicStates(connectionMachine.root);

  it("parsesOnReceive marks exactly the states whose input phase is part of the opening handshake", () => {
    for (const node of states) {
      const compiled = compiledState(node.path.length === 1 ? node.path[0]! : { [node.path[0]!]: node.path[1]! });
      expect(compiled.parsesOnReceive, node.id).toBe(compiled.inputPhase !== null && HANDSHAKE_PHASES.has(compiled.inputPhase));
    }
  });

  it("encodesMessages marks exactly OPEN's states, the failed one included (as wsproto)", () => {
    const tagged = states.filter((node) => node.tags.includes(ConnectionTag.encodesMessages)).map((node) => node.id);
    expect(tagged.sort()).toEqual(["wsConnection.OPEN.active", "wsConnection.OPEN.failed"]);
  });

  it("an actor's snapshot.hasTag agrees with WSConnection along a connection's life", () => {
    const client = new WSConnection(ConnectionType.CLIENT);
    const actor = createActor(connectionMachine, { input: { type: ConnectionType.CLIENT } }).start();
    expect(actor.getSnapshot().hasTag(ConnectionTag.parsesOnReceive)).toBe(true);
    actor.send({ type: "ws.send", event: new Request({ host: "example.com", target: "/" }) });
    expect(actor.getSnapshot().hasTag(ConnectionTag.parsesOnReceive)).toBe(true);
    expect(actor.getSnapshot().hasTag(ConnectionTag.encodesMessages)).toBe(false);

    const { client: open } = openPair();
    const snapshot = open.actor.getSnapshot();
    expect(snapshot.hasTag(ConnectionTag.encodesMessages)).toBe(true);
    expect(snapshot.hasTag(ConnectionTag.parsesOnReceive)).toBe(false);
    expect(client.state).toBe("CONNECTING");
  });
});
