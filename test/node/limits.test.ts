/**
 * The Node endpoint's bounds in time and memory, over real loopback sockets: `idleTimeout` (with
 * the `pingInterval` heartbeat), `messageTimeout`, and a server's `maxBufferedBytes` over every
 * connection — incomplete messages (inflated bytes included) and output queued beyond
 * `highWaterMark`.
 */
import * as zlib from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { createWebSocketServer, TimeoutError, type WebSocketEndpoint, type WebSocketServer, type WebSocketServerOptions } from "../../src/node/index.js";
import { OP, RSV1, frame } from "../conformance/wire.js";
import { openWsClient, within, wsClosed } from "./helpers.js";
import { delay, openRawPeer } from "./raw-peer.js";

const servers: WebSocketServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function startServer(options: WebSocketServerOptions, onConnection?: (endpoint: WebSocketEndpoint) => void): Promise<{ server: WebSocketServer; port: number; endpoints: WebSocketEndpoint[]; errors: Error[] }> {
  const endpoints: WebSocketEndpoint[] = [];
  const errors: Error[] = [];
  const server = createWebSocketServer(options, (endpoint) => onConnection?.(endpoint));
  server.on("handshake", (endpoint) => {
    endpoints.push(endpoint);
    endpoint.on("error", (error) => errors.push(error));
  });
  servers.push(server);
  return { server, port: (await server.listen()).port, endpoints, errors };
}

/** The status code of the first close frame in `bytes` (unmasked: the server's). */
function closeCodeIn(bytes: Uint8Array): number | null {
  let offset = 0;
  while (offset + 2 <= bytes.length) {
    const opcode = bytes[offset]! & 0x0f;
    let length = bytes[offset + 1]! & 0x7f;
    let start = offset + 2;
    if (length === 126) {
      length = (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
      start = offset + 4;
    } else if (length === 127) {
      length = Number(new DataView(bytes.buffer, bytes.byteOffset + offset + 2, 8).getBigUint64(0));
      start = offset + 10;
    }
    if (opcode === OP.CLOSE) return length >= 2 ? (bytes[start]! << 8) | bytes[start + 1]! : 1005;
    offset = start + length;
  }
  return null;
}

describe("idleTimeout and pingInterval", () => {
  it("a peer that sends nothing is closed with 1001 after idleTimeout", async () => {
    const { endpoints, errors, port } = await startServer({ idleTimeout: 300, pingInterval: 0, closeTimeout: 300 });
    const peer = await openRawPeer(port);
    const started = Date.now();
    await within(peer.closed, 3_000, "the idle connection closing");
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(1_500);
    expect(closeCodeIn(peer.received())).toBe(1001);
    expect(errors.some((error) => error instanceof TimeoutError && error.phase === "idle")).toBe(true);
    expect((await endpoints[0]!.closed).wasClean).toBe(false);
  });

  it("a peer that keeps sending is not idle", async () => {
    const { port } = await startServer({ idleTimeout: 250, pingInterval: 0 });
    const peer = await openRawPeer(port);
    for (let index = 0; index < 10; index++) {
      peer.socket.write(frame({ opcode: OP.TEXT, payload: `keep-alive ${index}` }, true));
      await delay(100);
    }
    expect(peer.socket.destroyed).toBe(false);
    expect(closeCodeIn(peer.received())).toBe(null);
    peer.socket.destroy();
  });

  it("pingInterval: a live but quiet peer answers the pings and stays; one that does not answer is closed", async () => {
    const { port, endpoints } = await startServer({ idleTimeout: 400, pingInterval: 120, closeTimeout: 300 });
    // ws answers pings by itself.
    const live = await openWsClient(`ws://127.0.0.1:${port}/`);
    let pings = 0;
    live.on("ping", () => pings++);
    const silent = await openRawPeer(port);
    await within(silent.closed, 3_000, "the silent peer closing");
    expect(closeCodeIn(silent.received())).toBe(1001);
    await delay(600);
    expect(live.readyState).toBe(live.OPEN);
    expect(pings).toBeGreaterThanOrEqual(4);
    expect(endpoints[0]!.state).toBe("OPEN");
    live.close(1000);
    await wsClosed(live);
  });
});

describe("messageTimeout", () => {
  it("a message trickled a byte at a time is failed with 1008 once it is older than messageTimeout", async () => {
    const { port, errors } = await startServer({ messageTimeout: 400, idleTimeout: 0, closeTimeout: 300 });
    const peer = await openRawPeer(port);
    const bytes = frame({ opcode: OP.TEXT, payload: "x".repeat(100) }, true);
    const started = Date.now();
    for (let index = 0; index < bytes.length && !peer.socket.destroyed; index++) {
      peer.socket.write(bytes.subarray(index, index + 1));
      await delay(40);
      if (closeCodeIn(peer.received()) !== null) break;
    }
    const elapsed = Date.now() - started;
    expect(closeCodeIn(peer.received())).toBe(1008);
    expect(elapsed).toBeGreaterThanOrEqual(380);
    expect(elapsed).toBeLessThan(1_200);
    expect(errors.some((error) => error instanceof TimeoutError && error.phase === "message")).toBe(true);
  });

  it("a control frame trickled counts too, and back-to-back messages that each arrive in time do not", async () => {
    const { port } = await startServer({ messageTimeout: 300, idleTimeout: 0, closeTimeout: 300 }, (endpoint) => {
      endpoint.on("message", () => {});
    });
    const steady = await openRawPeer(port);
    // 12 messages, each split in two writes 60 ms apart: 720 ms of messages, none older than 300 ms.
    for (let index = 0; index < 12; index++) {
      const bytes = frame({ opcode: OP.BINARY, payload: new Uint8Array(200) }, true);
      steady.socket.write(bytes.subarray(0, 100));
      await delay(60);
      steady.socket.write(bytes.subarray(100));
    }
    await delay(100);
    expect(closeCodeIn(steady.received())).toBe(null);
    steady.socket.destroy();

    const pinger = await openRawPeer(port);
    const ping = frame({ opcode: OP.PING, payload: "slow ping" }, true);
    pinger.socket.write(ping.subarray(0, 3));
    await within(pinger.closed, 3_000, "the slow ping's connection closing");
    expect(closeCodeIn(pinger.received())).toBe(1008);
  });
});

/** A compressed data frame (RSV1) whose payload inflates to `size` zero bytes; masked. */
function deflateBomb(size: number, fin: boolean): Uint8Array {
  const compressed = zlib.deflateRawSync(Buffer.alloc(size), { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  // RFC 7692 §7.2.1: the sender removes the sync flush's 00 00 ff ff.
  return frame({ opcode: OP.BINARY, rsv: RSV1, fin, payload: compressed.subarray(0, compressed.length - 4) }, true);
}

describe("maxBufferedBytes: one memory budget for a server's connections", () => {
  it("8 unfinished fragments that each inflate to 64 MiB hold at most the default 256 MiB; the rest are closed with 1013", { timeout: 60_000 }, async () => {
    const { server, port, endpoints } = await startServer({ perMessageDeflate: true, closeTimeout: 2_000 });
    const bomb = deflateBomb(64 * 1024 * 1024, false);
    const before = process.memoryUsage().arrayBuffers;
    let peakUsed = 0;
    let peakArrayBuffers = 0;
    const watch = setInterval(() => {
      peakUsed = Math.max(peakUsed, server.memoryBudget.used);
      peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers - before);
    }, 5);
    const peers = await Promise.all(Array.from({ length: 8 }, () => openRawPeer(port, { deflate: true })));
    for (const peer of peers) peer.socket.write(bomb);
    // Inflating is sliced, so the eight grow side by side until the budget refuses some; wait
    // until the held ones stop growing (no reservation change for 500 ms).
    let lastUsed = -1;
    let stableSince = Date.now();
    const deadline = Date.now() + 40_000;
    while (Date.now() < deadline && Date.now() - stableSince < 500) {
      await delay(50);
      if (server.memoryBudget.used !== lastUsed) {
        lastUsed = server.memoryBudget.used;
        stableSince = Date.now();
      }
    }
    clearInterval(watch);
    const codes = peers.map((peer) => closeCodeIn(peer.received()));
    const refused = codes.filter((code) => code === 1013).length;
    const held = codes.filter((code) => code === null).length;
    expect(refused).toBeGreaterThanOrEqual(4);
    expect(refused + held).toBe(8);
    expect(peakUsed).toBeLessThanOrEqual(256 * 1024 * 1024);
    expect(server.memoryBudget.used).toBeLessThanOrEqual(256 * 1024 * 1024);
    // What the process really holds follows the budget (the inflater's output as kept arrays).
    expect(peakArrayBuffers).toBeLessThan(256 * 1024 * 1024 + 64 * 1024 * 1024);
    console.log(`held bombs: ${held} held, ${refused} refused; budget peak ${(peakUsed / 2 ** 20).toFixed(1)} MiB; arrayBuffers peak +${(peakArrayBuffers / 2 ** 20).toFixed(1)} MiB`);
    for (const peer of peers) peer.socket.destroy();
    await Promise.all(endpoints.map((endpoint) => endpoint.closed));
    expect(server.memoryBudget.used).toBe(0);
  });

  it("a message of many tiny fragments pays the per-array overhead", async () => {
    const { server, port } = await startServer({ maxBufferedBytes: 512 * 1024 });
    const peer = await openRawPeer(port);
    const fragments: Uint8Array[] = [frame({ opcode: OP.BINARY, fin: false, payload: "a" }, true)];
    for (let index = 0; index < 4_000; index++) fragments.push(frame({ opcode: OP.CONT, fin: false, payload: "a" }, true));
    peer.socket.write(Buffer.concat(fragments));
    await within(peer.closed, 5_000, "the fragmenting peer closing");
    // 4,001 bytes of payload, but ~200 bytes of objects per kept piece: over 512 KiB.
    expect(closeCodeIn(peer.received())).toBe(1013);
    await delay(50);
    expect(server.memoryBudget.used).toBe(0);
  });

  it("output queued beyond highWaterMark to a peer that does not read is charged; past the budget: 1013, and send() returns false", async () => {
    let results: boolean[] = [];
    let serverEndpoint: WebSocketEndpoint | null = null;
    const { server, port, errors } = await startServer({ maxBufferedBytes: 2 * 1024 * 1024, highWaterMark: 256 * 1024, closeTimeout: 300 }, (endpoint) => {
      serverEndpoint = endpoint;
      const chunk = new Uint8Array(64 * 1024);
      results = Array.from({ length: 800 }, () => endpoint.send(chunk));
    });
    const peer = await openRawPeer(port);
    peer.socket.pause();
    const closed = await within(serverEndpoint!.closed, 5_000, "the server endpoint closing");
    expect(closed.code).toBe(1013);
    expect(results.at(-1)).toBe(false);
    expect(errors.some((error) => /maxBufferedBytes/.test(error.message))).toBe(true);
    expect(server.memoryBudget.used).toBe(0);
    peer.socket.destroy();
  });
});
