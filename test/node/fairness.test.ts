/**
 * One connection's huge message does not hold up the others: the endpoint processes received
 * data in bounded slices (the decoder's work quantum, a few milliseconds per pump) and yields
 * to the event loop between them. Over real loopback sockets: while 4 connections each send a
 * message that inflates to 64 MiB, another connection's pings are answered within 100 ms.
 */
import * as zlib from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { createWebSocketServer, type WebSocketServer } from "../../src/node/index.js";
import { OP, RSV1, frame } from "../conformance/wire.js";
import { openWsClient, within, wsClosed } from "./helpers.js";
import { openRawPeer } from "./raw-peer.js";

const servers: WebSocketServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

const BOMB_SIZE = 64 * 1024 * 1024;
const LATENCY_TARGET_MS = 100;

describe("fairness under decompression bombs", () => {
  it("another connection's ping is answered within 100 ms while 4 messages inflate to 64 MiB each", { timeout: 120_000 }, async () => {
    // A budget large enough for all four to inflate whole: the worst case for everyone else.
    const server = createWebSocketServer({ perMessageDeflate: true, maxBufferedBytes: 1024 * 1024 * 1024 }, (endpoint) => {
      endpoint.on("message", (data) => endpoint.send(String(data.length)));
      endpoint.on("error", () => {});
    });
    servers.push(server);
    const { port } = await server.listen();

    const compressed = zlib.deflateRawSync(Buffer.alloc(BOMB_SIZE), { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const bomb = frame({ opcode: OP.BINARY, rsv: RSV1, payload: compressed.subarray(0, compressed.length - 4) }, true);
    const bombers = await Promise.all(Array.from({ length: 4 }, () => openRawPeer(port, { deflate: true })));
    const pinger = await openWsClient(`ws://127.0.0.1:${port}/`);

    const latencies: number[] = [];
    let sentAt = 0;
    let pinging = true;
    const sendPing = (): void => {
      sentAt = performance.now();
      pinger.ping("latency");
    };
    pinger.on("pong", () => {
      latencies.push(performance.now() - sentAt);
      if (pinging) setTimeout(sendPing, 5);
    });
    sendPing();

    const replies = bombers.map(
      (peer) =>
        new Promise<string>((resolve) => {
          const check = (): void => {
            // The reply is a short unmasked text frame: 81 len "67108864".
            const bytes = peer.received();
            if (bytes.length >= 2 + 8) resolve(Buffer.from(bytes.subarray(2, 2 + bytes[1]!)).toString());
            else setTimeout(check, 5);
          };
          check();
        }),
    );
    const started = performance.now();
    for (const peer of bombers) peer.socket.write(bomb);
    const answers = await within(Promise.all(replies), 100_000, "the four bombs being inflated and answered");
    const elapsed = performance.now() - started;
    pinging = false;
    expect(answers).toEqual(Array(4).fill(String(BOMB_SIZE)));
    // The pings answered while the bombs were being inflated.
    const during = latencies.slice(1);
    expect(during.length).toBeGreaterThan(5);
    const worst = Math.max(...during);
    console.log(`4 × 64 MiB inflated in ${elapsed.toFixed(0)} ms; ${during.length} pings, worst ${worst.toFixed(1)} ms, median ${during.sort((a, b) => a - b)[Math.floor(during.length / 2)]!.toFixed(1)} ms`);
    expect(worst).toBeLessThan(LATENCY_TARGET_MS);
    pinger.close(1000);
    await wsClosed(pinger);
    for (const peer of bombers) peer.socket.destroy();
  });
});
