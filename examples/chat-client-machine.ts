/**
 * Embedding a connection in an XState app, over a real socket: a chat client machine that
 * reconnects with exponential backoff and keeps a heartbeat (a ping every `heartbeatInterval`
 * ms; no pong within `heartbeatTimeout` ms and the connection is dropped and made again).
 *
 * The machine owns nothing but events. While a session lasts it invokes two children:
 * - `socket`, a node:net socket as a callback actor: it reports `socket.connected`,
 *   `socket.data` and `socket.closed`, and takes `socket.write`;
 * - `connection`, wsmachine's `connectionMachine` with `{ type: "client", notifyParent: true }`:
 *   it takes `ws.receive` (the socket's bytes) and `ws.send` (protocol events), and sends the
 *   parent `ws.output` (bytes for the socket), `ws.event` (protocol events) and `ws.error`.
 * Leaving the session stops both (the socket is destroyed), so each attempt starts afresh.
 *
 *   session.handshaking ──accepted──▶ session.open (idle ⇄ awaitingPong) ──chat.close──▶ session.closing ──▶ closed
 *        │ socket closed, rejected,        │ socket closed, pong timeout
 *        ▼ handshake failed                ▼
 *   reconnecting ──after backoff──▶ session            (maxAttempts failures in a row ──▶ failed)
 *
 * Chat messages sent while not open wait in `outbox` and go out once the next session opens.
 */
import * as net from "node:net";
import { assign, enqueueActions, fromCallback, sendTo, setup, type ActorRefFrom } from "xstate";
import {
  CloseConnection,
  ConnectionType,
  Ping,
  Request,
  TextMessage,
  connectionMachine,
  type ConnectionMachineEmitted,
  type Event,
  type WebSocketEventType,
} from "../src/index.js";

export interface ChatClientInput {
  host: string;
  port: number;
  /** Request target (default "/"). */
  path?: string;
  /** Milliseconds between pings while open (default 15 000). */
  heartbeatInterval?: number;
  /** Milliseconds to wait for the pong before reconnecting (default 5 000). */
  heartbeatTimeout?: number;
  /** First reconnect delay (default 250 ms), doubled after each failure up to `maxDelay` (default 10 000 ms). */
  initialDelay?: number;
  maxDelay?: number;
  /** Failed attempts in a row before giving up (default: never). */
  maxAttempts?: number;
  /** Milliseconds to wait for the server to end TCP after our close (default 3 000). */
  closeTimeout?: number;
}

export interface ChatClientContext {
  readonly options: Required<ChatClientInput>;
  /** Failed attempts since the last successful open. */
  readonly failures: number;
  /** Sessions that reached OPEN. */
  readonly sessions: number;
  /** Chat messages received (the echo server sends ours back). */
  readonly received: readonly string[];
  /** Chat messages waiting for an open session. */
  readonly outbox: readonly string[];
  readonly pingsSent: number;
  readonly pongsReceived: number;
  /** Why the last session ended, when it was not our own close. */
  readonly lastDrop: string | null;
}

/** What the socket actor reports to the chat client. */
export type SocketEvent =
  | { type: "socket.connected" }
  | { type: "socket.data"; data: Uint8Array }
  | { type: "socket.closed"; error: string | null };

/** What the chat client tells the socket actor. */
type SocketCommand = { type: "socket.write"; data: Uint8Array };

export type ChatClientEvent = { type: "chat.send"; text: string } | { type: "chat.close" } | SocketEvent | ConnectionMachineEmitted;

/** A node:net connection as a callback actor: events out, writes in, destroyed when stopped. */
export const socketActor = fromCallback<SocketCommand, { host: string; port: number }, SocketEvent>(({ input, sendBack, receive }) => {
  const socket = net.connect({ host: input.host, port: input.port });
  let error: string | null = null;
  socket.on("connect", () => sendBack({ type: "socket.connected" }));
  // Each chunk is a fresh Buffer from the socket, so the connection may own it (it unmasks in place).
  socket.on("data", (chunk: Buffer) => sendBack({ type: "socket.data", data: new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength) }));
  socket.on("error", (cause) => {
    error = cause.message;
  });
  socket.on("close", () => sendBack({ type: "socket.closed", error }));
  receive((command) => {
    if (!socket.destroyed) socket.write(command.data);
  });
  return () => {
    socket.destroy();
  };
});

/** A guard: a `ws.event` whose protocol event has this `type` (the union narrows on it). */
const isEvent =
  (type: WebSocketEventType) =>
  ({ event }: { event: ChatClientEvent }): boolean =>
    event.type === "ws.event" && event.event.type === type;

/** The reply a received ping or close frame asks for (the guards have checked it is one). */
function replyTo(event: ChatClientEvent): Event {
  if (event.type === "ws.event" && (event.event.type === "Ping" || event.event.type === "CloseConnection")) {
    return event.event.response();
  }
  throw new Error(`internal: ${event.type} is neither a ping nor a close frame`);
}

/** The connection child's input event that sends `event` to the server. */
function wsSend(event: Event): { type: "ws.send"; event: Event } {
  return { type: "ws.send", event };
}

export const chatClientMachine = setup({
  types: {
    input: {} as ChatClientInput,
    context: {} as ChatClientContext,
    events: {} as ChatClientEvent,
  },
  actors: { connection: connectionMachine, socket: socketActor },
  delays: {
    heartbeatInterval: ({ context }) => context.options.heartbeatInterval,
    heartbeatTimeout: ({ context }) => context.options.heartbeatTimeout,
    closeTimeout: ({ context }) => context.options.closeTimeout,
    backoff: ({ context }) => Math.min(context.options.maxDelay, context.options.initialDelay * 2 ** Math.max(0, context.failures - 1)),
  },
  guards: {
    accepted: isEvent("AcceptConnection"),
    rejected: isEvent("RejectConnection"),
    peerClosed: isEvent("CloseConnection"),
    isText: isEvent("TextMessage"),
    isPing: isEvent("Ping"),
    isPong: isEvent("Pong"),
    givingUp: ({ context }) => context.failures >= context.options.maxAttempts,
  },
  actions: {
    sendRequest: sendTo("connection", ({ context }) =>
      wsSend(new Request({ host: `${context.options.host}:${context.options.port}`, target: context.options.path })),
    ),
    sendChat: sendTo("connection", ({ event }) => wsSend(new TextMessage({ data: event.type === "chat.send" ? event.text : "" }))),
    answerPing: sendTo("connection", ({ event }) => wsSend(replyTo(event))),
    answerClose: sendTo("connection", ({ event }) => wsSend(replyTo(event))),
    sendHeartbeat: sendTo("connection", ({ context }) => wsSend(new Ping({ payload: new TextEncoder().encode(`heartbeat ${context.pingsSent + 1}`) }))),
    sendClose: sendTo("connection", () => wsSend(new CloseConnection({ code: 1000, reason: "bye" }))),
    queue: assign({ outbox: ({ context, event }) => (event.type === "chat.send" ? [...context.outbox, event.text] : context.outbox) }),
    /** Every queued chat message, in order (raised: the open state sends them), then an empty outbox. */
    flushOutbox: enqueueActions(({ context, enqueue }) => {
      for (const text of context.outbox) enqueue.raise({ type: "chat.send", text });
      enqueue.assign({ outbox: [] });
    }),
    recordDrop: assign({
      failures: ({ context }) => context.failures + 1,
      lastDrop: ({ event }) => {
        if (event.type === "socket.closed") return event.error ?? "the server closed the connection";
        if (event.type === "ws.error") return event.error.message;
        if (event.type === "ws.event") return `the server answered ${event.event.type === "RejectConnection" ? event.event.statusCode : event.event.type}`;
        return "no pong within the heartbeat timeout";
      },
    }),
  },
}).createMachine({
  id: "chatClient",
  context: ({ input }) => ({
    options: {
      path: "/",
      heartbeatInterval: 15_000,
      heartbeatTimeout: 5_000,
      initialDelay: 250,
      maxDelay: 10_000,
      maxAttempts: Infinity,
      closeTimeout: 3_000,
      ...input,
    },
    failures: 0,
    sessions: 0,
    received: [],
    outbox: [],
    pingsSent: 0,
    pongsReceived: 0,
    lastDrop: null,
  }),
  initial: "session",
  states: {
    session: {
      invoke: [
        { id: "socket", src: "socket", input: ({ context }) => ({ host: context.options.host, port: context.options.port }) },
        { id: "connection", src: "connection", input: { type: ConnectionType.CLIENT, notifyParent: true } },
      ],
      on: {
        // The glue between the two children: bytes one way, bytes the other.
        "socket.data": { actions: sendTo("connection", ({ event }) => ({ type: "ws.receive" as const, data: event.data })) },
        "ws.output": { actions: sendTo("socket", ({ event }) => ({ type: "socket.write" as const, data: event.data })) },
        // The transport is gone (the server dropped it, or ended it after a closing handshake).
        "socket.closed": { target: "reconnecting", actions: "recordDrop" },
        "chat.close": { target: ".closing" },
      },
      initial: "handshaking",
      states: {
        handshaking: {
          on: {
            "socket.connected": { actions: "sendRequest" },
            "ws.event": [
              {
                guard: "accepted",
                target: "open",
                actions: assign({ failures: 0, sessions: ({ context }) => context.sessions + 1, lastDrop: null }),
              },
              { guard: "rejected", target: "#chatClient.reconnecting", actions: "recordDrop" },
            ],
            // An invalid response: the connection is CLOSED; start over.
            "ws.error": { target: "#chatClient.reconnecting", actions: "recordDrop" },
            "chat.send": { actions: "queue" },
            // Nothing was said yet: there is nothing to close politely.
            "chat.close": { target: "#chatClient.closed" },
          },
        },
        open: {
          entry: "flushOutbox",
          on: {
            "chat.send": { actions: "sendChat" },
            "ws.event": [
              {
                guard: "isText",
                actions: assign({
                  received: ({ context, event }) =>
                    event.type === "ws.event" && event.event.type === "TextMessage" ? [...context.received, event.event.data] : context.received,
                }),
              },
              { guard: "isPing", actions: "answerPing" },
              // The server closes (restart, going away): answer, then the server ends TCP and we reconnect.
              { guard: "peerClosed", actions: "answerClose" },
            ],
          },
          initial: "idle",
          states: {
            idle: {
              after: { heartbeatInterval: "awaitingPong" },
            },
            awaitingPong: {
              entry: ["sendHeartbeat", assign({ pingsSent: ({ context }) => context.pingsSent + 1 })],
              on: {
                "ws.event": { guard: "isPong", target: "idle", actions: assign({ pongsReceived: ({ context }) => context.pongsReceived + 1 }) },
              },
              after: { heartbeatTimeout: { target: "#chatClient.reconnecting", actions: "recordDrop" } },
            },
          },
        },
        // Our close frame is out; wait for the server's reply and for it to end TCP (RFC 6455 §7.1.1).
        closing: {
          entry: "sendClose",
          on: {
            "socket.closed": { target: "#chatClient.closed" },
            "chat.send": { actions: "queue" },
            "chat.close": {},
          },
          after: { closeTimeout: "#chatClient.closed" },
        },
      },
    },
    reconnecting: {
      always: { guard: "givingUp", target: "failed" },
      after: { backoff: "session" },
      on: {
        "chat.send": { actions: "queue" },
        "chat.close": { target: "closed" },
      },
    },
    closed: { type: "final" },
    failed: { type: "final" },
  },
});

export type ChatClientActor = ActorRefFrom<typeof chatClientMachine>;
