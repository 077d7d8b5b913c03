/** Shared pieces of the Node interop tests: servers on 127.0.0.1:0 and message collectors. */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocket, WebSocketServer, type PerMessageDeflateOptions } from "ws";
import type { WebSocketEndpoint } from "../../src/node/index.js";

export interface Incoming {
  data: string | Uint8Array;
  isBinary: boolean;
}

/** A queue of received messages whose `next()` waits (up to `timeout` ms) for the next one. */
function messageQueue(): { push(message: Incoming): void; next(timeout?: number): Promise<Incoming>; all: Incoming[] } {
  const all: Incoming[] = [];
  let read = 0;
  let wake: (() => void) | null = null;
  return {
    all,
    push(message) {
      all.push(message);
      wake?.();
    },
    async next(timeout = 5_000) {
      const deadline = Date.now() + timeout;
      while (read >= all.length) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new Error(`no message within ${timeout} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, remaining);
          wake = () => {
            clearTimeout(timer);
            wake = null;
            resolve();
          };
        });
      }
      return all[read++]!;
    },
  };
}

/** Queue an endpoint's messages; `next()` waits for one. */
export function inbox(endpoint: WebSocketEndpoint): { next(timeout?: number): Promise<Incoming>; all: Incoming[] } {
  const queue = messageQueue();
  endpoint.on("message", (data, isBinary) => queue.push({ data, isBinary }));
  return queue;
}

/** Queue a ws client's messages, as Uint8Array or string like our endpoint delivers them. */
export function wsInbox(socket: WebSocket): { next(timeout?: number): Promise<Incoming> } {
  const queue = messageQueue();
  socket.on("message", (data, isBinary) => {
    const bytes = data as Buffer;
    queue.push(isBinary ? { data: new Uint8Array(bytes), isBinary } : { data: bytes.toString("utf8"), isBinary });
  });
  return queue;
}

export interface WsEchoServer {
  url: string;
  server: WebSocketServer;
  close(): Promise<void>;
}

/** A ws echo server; `onConnection` may add behaviour (or replace the echo when it returns true). */
export async function startWsEchoServer(
  perMessageDeflate: boolean | PerMessageDeflateOptions,
  onConnection?: (socket: WebSocket, request: http.IncomingMessage) => boolean | void,
): Promise<WsEchoServer> {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate, maxPayload: 64 * 1024 * 1024 });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  server.on("connection", (socket, request) => {
    if (onConnection?.(socket, request) === true) return;
    socket.on("message", (data, isBinary) => socket.send(data as Buffer, { binary: isBinary }));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

/** Open a ws client and wait for its handshake. */
export function openWsClient(url: string, options: { perMessageDeflate?: boolean; protocols?: string[] } = {}): Promise<WebSocket> {
  const socket = new WebSocket(url, options.protocols ?? [], { perMessageDeflate: options.perMessageDeflate ?? false });
  return new Promise((resolve, reject) => {
    socket.once("open", () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Wait for a ws client's close event. */
export function wsClosed(socket: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => socket.once("close", (code, reason) => resolve({ code, reason: reason.toString("utf8") })));
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}

/** An event (or rejection) must happen within `timeout` ms. */
export function within<T>(promise: Promise<T>, timeout: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not happen within ${timeout} ms`)), timeout);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Wait until `condition()` holds (checked every 5 ms), failing after `timeout` ms. */
export async function eventually(condition: () => boolean, what: string, timeout = 5_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
