/**
 * `acceptsSend(snapshot, event)` answers as `ws.send` then does, for messages, pings and pongs
 * as for lifecycle events, without encoding anything (RFC 7692: encoding advances the
 * compressor's history, so a question must not encode). XState's `snapshot.can()` answers true
 * for every `ws.send`: the root handler that refuses is a transition too.
 */
import { describe, expect, it } from "vitest";
import { createActor } from "xstate";
import { connectionMachine } from "../../machines/connection-machine.js";
import { acceptsSend } from "../../machines/connection-snapshot.js";
import { AcceptConnection, BytesMessage, ConnectionType, LocalProtocolError, PerMessageDeflate, Ping, Pong, Request, TextMessage, WSConnection, type Event } from "../../src/index.js";

/** A server actor in OPEN (with permessage-deflate: encoding has state). */
function openServerActor() {
  const client = new WSConnection(ConnectionType.CLIENT);
  const actor = createActor(connectionMachine, { input: { type: ConnectionType.SERVER } });
  const output: Uint8Array[] = [];
  const errors: Error[] = [];
  actor.on("ws.output", (emitted) => output.push(emitted.data));
  actor.on("ws.error", (emitted) => errors.push(emitted.error));
  actor.start();
  actor.send({ type: "ws.receive", data: client.send(new Request({ host: "h", target: "/", extensions: [new PerMessageDeflate()] })) });
  actor.send({ type: "ws.send", event: new AcceptConnection({ extensions: [new PerMessageDeflate({ threshold: 0 })] }) });
  output.length = 0;
  return { actor, output, errors };
}

function answers(actor: ReturnType<typeof openServerActor>["actor"], event: Event): boolean {
  return acceptsSend(actor.getSnapshot(), event);
}

describe("acceptsSend(snapshot, event)", () => {
  it("says no, as ws.send refuses, for text while a binary message is unfinished, and for a ping over 125 bytes", () => {
    const { actor, output, errors } = openServerActor();
    expect(answers(actor, new TextMessage({ data: "fine" }))).toBe(true);
    actor.send({ type: "ws.send", event: new BytesMessage({ data: new Uint8Array([1]), messageFinished: false }) });
    const midMessage = new TextMessage({ data: "not now" });
    expect(answers(actor, midMessage)).toBe(false);
    expect(answers(actor, new BytesMessage({ data: new Uint8Array([2]) }))).toBe(true);
    const bigPing = new Ping({ payload: new Uint8Array(126) });
    expect(answers(actor, bigPing)).toBe(false);
    expect(answers(actor, new Pong({ payload: new Uint8Array(125) }))).toBe(true);

    const written = output.length;
    actor.send({ type: "ws.send", event: midMessage });
    actor.send({ type: "ws.send", event: bigPing });
    expect(output.length).toBe(written);
    expect(errors.map((error) => error instanceof LocalProtocolError && error.message)).toEqual([
      "cannot send text data while a fragmented binary message is unfinished (RFC 6455 §5.4)",
      "ping payload of 126 bytes: control frames carry at most 125 (RFC 6455 §5.5)",
    ]);
  });

  it("asking does not encode: the compressed stream is the same with and without questions", () => {
    const asked = openServerActor();
    const quiet = openServerActor();
    for (const text of ["one", "two two two", "three"]) {
      const event = new TextMessage({ data: text });
      for (let i = 0; i < 3; i++) expect(answers(asked.actor, event)).toBe(true);
      asked.actor.send({ type: "ws.send", event });
      quiet.actor.send({ type: "ws.send", event: new TextMessage({ data: text }) });
    }
    expect(asked.output.map((bytes) => Buffer.from(bytes).toString("hex"))).toEqual(quiet.output.map((bytes) => Buffer.from(bytes).toString("hex")));
  });

  it("follows the lifecycle: a Request once, nothing but the close reply after the peer's close; snapshot.can() says yes to all", () => {
    const client = createActor(connectionMachine, { input: { type: ConnectionType.CLIENT } }).start();
    const request = new Request({ host: "h", target: "/" });
    expect(acceptsSend(client.getSnapshot(), request)).toBe(true);
    expect(acceptsSend(client.getSnapshot(), new TextMessage({ data: "too early" }))).toBe(false);
    client.send({ type: "ws.send", event: request });
    expect(acceptsSend(client.getSnapshot(), new Request({ host: "h", target: "/" }))).toBe(false);
    expect(client.getSnapshot().can({ type: "ws.send", event: new Request({ host: "h", target: "/" }) })).toBe(true);
  });
});
