/**
 * Embedding a connection in an XState app: a parent machine that invokes `connectionMachine`
 * as a child and talks to it only with events. The child is started with `notifyParent: true`,
 * so its protocol events (`ws.event`), outgoing bytes (`ws.output`) and the peer's handshake errors (`ws.error`)
 * arrive at the parent as ordinary events.
 *
 * This parent is an echo server: it accepts the handshake, echoes every text and binary
 * message, answers pings, and completes the closing handshake. Outgoing bytes are handed to
 * `write`, given in the input (a socket's write in real life, an array in the tests).
 */
import { assign, sendTo, setup } from "xstate";
import {
  AcceptConnection,
  CloseConnection,
  ConnectionType,
  Ping,
  Request,
  connectionMachine,
  type ConnectionMachineEmitted,
  type Event,
} from "../src/index.js";
import { BytesMessage, TextMessage } from "../src/index.js";

export interface EchoServerInput {
  /** Writes bytes to the peer. */
  write: (data: Uint8Array) => void;
}

export const echoServerMachine = setup({
  types: {
    input: {} as EchoServerInput,
    context: {} as { write: (data: Uint8Array) => void; echoed: number; closeCode: number | null },
    events: {} as ConnectionMachineEmitted | { type: "socket.data"; data: Uint8Array | null },
  },
  actors: { connection: connectionMachine },
}).createMachine({
  id: "echoServer",
  context: ({ input }) => ({ write: input.write, echoed: 0, closeCode: null }),
  invoke: {
    id: "connection",
    src: "connection",
    input: { type: ConnectionType.SERVER, notifyParent: true },
    onDone: ".finished",
  },
  initial: "serving",
  states: {
    serving: {},
    finished: { type: "final" },
  },
  on: {
    // Bytes from the socket go to the child.
    "socket.data": { actions: sendTo("connection", ({ event }) => ({ type: "ws.receive" as const, data: event.data })) },
    // Bytes from the child go to the socket.
    "ws.output": { actions: ({ context, event }) => context.write(event.data) },
    "ws.event": [
      { guard: ({ event }) => event.event instanceof Request, actions: sendTo("connection", reply(() => new AcceptConnection())) },
      {
        guard: ({ event }) => event.event instanceof TextMessage || event.event instanceof BytesMessage,
        actions: [sendTo("connection", reply((event) => echo(event))), assign({ echoed: ({ context }) => context.echoed + 1 })],
      },
      { guard: ({ event }) => event.event instanceof Ping, actions: sendTo("connection", reply((event) => (event as Ping).response())) },
      {
        guard: ({ event }) => event.event instanceof CloseConnection,
        actions: [
          assign({ closeCode: ({ event }) => (event.event as CloseConnection).code }),
          sendTo("connection", reply((event) => (event as CloseConnection).response())),
        ],
      },
    ],
  },
});

/** Build the child's `ws.send` from the received protocol event. */
function reply(make: (event: Event) => Event) {
  return ({ event }: { event: ConnectionMachineEmitted | { type: string } }) => {
    const received = (event as { event: Event }).event;
    return { type: "ws.send" as const, event: make(received) };
  };
}

function echo(event: Event): Event {
  if (event instanceof TextMessage) {
    return new TextMessage({ data: event.data, messageFinished: event.messageFinished });
  }
  const bytes = event as BytesMessage;
  return new BytesMessage({ data: bytes.data.slice(), messageFinished: bytes.messageFinished });
}
