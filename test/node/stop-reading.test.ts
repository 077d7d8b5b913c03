/**
 * Once nothing more will be read from a peer — a rejection sent, a protocol failure answered,
 * the closing handshake done — the endpoint stops reading: a peer that ignores the FIN and keeps
 * writing gets at most 64 KiB read (Node's one pending read), meets TCP backpressure, and its
 * socket is destroyed at closeTimeout. Over real loopback sockets.
 */
import type * as net from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { createWebSocketServer, type WebSocketEndpoint, type WebSocketServer } from "../../src/node/index.js";
import { OP, closeBody, frame, hex } from "../conformance/wire.js";
import { delay, flood, openRawPeer, openRawSocket } from "./raw-peer.js";

const CLOSE_TIMEOUT = 800;
const FLOOD_MS = 1_500;
const READ_AFTER_LIMIT = 64 * 1024;

const servers: WebSocketServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

/** A server whose endpoints are handed to `seen`, with a short closeTimeout. */
async function startServer(seen: WebSocketEndpoint[]): Promise<number> {
  const server = createWebSocketServer({ closeTimeout: CLOSE_TIMEOUT, maxMessageSize: 4096 }, (endpoint) => {
    endpoint.on("message", (data) => endpoint.send(data));
  });
  server.on("handshake", (endpoint) => {
    endpoint.on("error", () => {});
    seen.push(endpoint);
  });
  server.on("clientError", () => {});
  servers.push(server);
  return (await server.listen()).port;
}

interface Measured {
  /** Bytes the server read after the point where nothing more was to be read. */
  readAfter: number;
  /** Milliseconds from the start of the flood to the server's socket closing. */
  closedAfter: number;
  flooded: number;
}

/** Write `before`, let the server answer, then flood; measure what the server read of the flood. */
async function measure(socket: net.Socket, before: Uint8Array, endpoint: () => WebSocketEndpoint): Promise<Measured> {
  socket.write(before);
  await delay(150);
  const server = endpoint();
  const readBefore = socket.bytesWritten;
  const started = Date.now();
  expect(server.socket.destroyed).toBe(false);
  const serverClosed = new Promise<number>((resolve) => server.socket.once("close", () => resolve(Date.now() - started)));
  const flooded = await flood(socket, FLOOD_MS);
  const closedAfter = await serverClosed;
  socket.destroy();
  const bytesRead = (server.socket as net.Socket).bytesRead;
  return { readAfter: bytesRead - readBefore, closedAfter, flooded };
}

function expectBounded(result: Measured): void {
  // The flood really was a flood: it wrote far more than what the server may read.
  expect(result.flooded).toBeGreaterThan(4 * READ_AFTER_LIMIT);
  expect(result.readAfter).toBeLessThanOrEqual(READ_AFTER_LIMIT);
  // Destroyed at closeTimeout, as before (the flood itself does not keep it alive).
  expect(result.closedAfter).toBeLessThan(CLOSE_TIMEOUT + 600);
}

describe("after the end, a peer that keeps writing is not read", () => {
  it("after a 431 rejection (an endless request head)", async () => {
    const seen: WebSocketEndpoint[] = [];
    const port = await startServer(seen);
    const socket = await openRawSocket(port);
    const head = `GET / HTTP/1.1\r\nHost: x\r\n${"X-Pad: " + "a".repeat(100) + "\r\n"}`.repeat(200);
    const result = await measure(socket, new TextEncoder().encode(head), () => seen[0]!);
    expectBounded(result);
  });

  it("after a 400 rejection (an invalid upgrade request)", async () => {
    const seen: WebSocketEndpoint[] = [];
    const port = await startServer(seen);
    const socket = await openRawSocket(port);
    const request = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";
    const result = await measure(socket, new TextEncoder().encode(request), () => seen[0]!);
    expectBounded(result);
  });

  for (const [name, bad] of [
    ["1002 (an unmasked frame)", frame({ opcode: OP.TEXT, payload: "unmasked" }, false)],
    ["1007 (invalid UTF-8)", frame({ opcode: OP.TEXT, payload: hex("ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80") }, true)],
    ["1009 (a message over maxMessageSize)", frame({ opcode: OP.BINARY, payload: new Uint8Array(8192) }, true)],
  ] as const) {
    it(`after a protocol failure: ${name}`, async () => {
      const seen: WebSocketEndpoint[] = [];
      const port = await startServer(seen);
      const peer = await openRawPeer(port);
      const result = await measure(peer.socket, bad, () => seen[0]!);
      expectBounded(result);
      expect(seen[0]!.state).toBe("CLOSED");
    });
  }

  it("after the closing handshake", async () => {
    const seen: WebSocketEndpoint[] = [];
    const port = await startServer(seen);
    const peer = await openRawPeer(port);
    const result = await measure(peer.socket, frame({ opcode: OP.CLOSE, payload: closeBody(1000) }, true), () => seen[0]!);
    expectBounded(result);
    expect(peer.received().subarray(0, 4)).toEqual(hex("88 02 03 e8"));
  });

  it("a polite peer still closes at once: its FIN is read after the closing handshake", async () => {
    const seen: WebSocketEndpoint[] = [];
    const port = await startServer(seen);
    const peer = await openRawPeer(port);
    const started = Date.now();
    peer.socket.write(frame({ opcode: OP.CLOSE, payload: closeBody(1000) }, true));
    peer.socket.on("end", () => peer.socket.end());
    const info = await seen[0]!.closed;
    expect(info).toEqual({ code: 1000, reason: "", wasClean: true });
    expect(Date.now() - started).toBeLessThan(CLOSE_TIMEOUT / 2);
  });
});
