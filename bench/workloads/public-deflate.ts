/**
 * W6: permessage-deflate round trips through the public API — a client compresses and masks a
 * 1 KiB JSON-like text message, the server unmasks, inflates, validates (UTF-8) and hands over
 * the text — context takeover and 15-bit windows on both sides, zlib level 6 and memLevel 8
 * everywhere (ws's and wsmachine's defaults).
 *
 * - wsmachine: `client.send(new TextMessage(…))` → `server.receiveData(bytes)` → `events()`,
 *   synchronous; with its default engine (pako, portable) and with the Node entry's engine
 *   (native zlib deflate driven synchronously, pako inflate: src/node/zlib-engine.ts).
 * - ws: two WebSocket objects over stand-in sockets (./support/ws.ts), the client's writes
 *   delivered to the server's socket as 'data'. ws compresses and decompresses asynchronously on
 *   node:zlib's thread pool; driven one round trip at a time (the W6 definition) and pipelined
 *   (a whole pass sent at once, ws's best case; see `theirs`).
 * Each pass checks every message's text.
 */
import { lazyWorkload, type Contender, type Workload } from "../harness.js";
import { PerMessageDeflate, TextMessage, type DeflateEngine } from "../../src/index.js";
import { nodeZlibEngine } from "../../src/node/zlib-engine.js";
import { jsonMessages } from "./deflate.js";
import { loadWs, openWs, type WsModules } from "./support/ws.js";
import { check, openPair } from "./support/wire.js";

const PER_PASS = 1000;
let messages: string[] = [];

function ours(name: string, engine: DeflateEngine | undefined): Contender {
  const options = { threshold: 0, ...(engine === undefined ? {} : { engine }) };
  const { client, server } = openPair({ client: [new PerMessageDeflate(options)], server: [new PerMessageDeflate(options)] });
  let next = 0;
  return {
    name,
    run: () => {
      let wrong = 0;
      let received = 0;
      for (let i = 0; i < PER_PASS; i++) {
        const text = messages[next]!;
        next = next === messages.length - 1 ? 0 : next + 1;
        const bytes = client.send(new TextMessage({ data: text }));
        if ((bytes[0]! & 0x40) === 0) wrong++; // RSV1: compressed
        server.receiveData(bytes);
        for (const event of server.events()) {
          if (!(event instanceof TextMessage) || !event.messageFinished || event.data !== text) wrong++;
          received++;
        }
      }
      check(received === PER_PASS && wrong === 0, `${received} messages, ${wrong} wrong`);
      return PER_PASS;
    },
  };
}

/**
 * ws. "round trip": each message is sent when the previous one has reached the server, as W6
 * defines it (and as wsmachine's contenders run). "pipelined": a whole pass is sent at once and
 * ws overlaps its thread-pool zlib work with the main thread — its best case.
 */
function theirs(name: string, modules: WsModules, mode: "round trip" | "pipelined"): Contender {
  const clientPmd = new modules.PerMessageDeflate({ threshold: 0, isServer: false });
  const serverPmd = new modules.PerMessageDeflate({ threshold: 0, isServer: true });
  const listed = (params: Record<string, unknown>) => [Object.fromEntries(Object.entries(params).map(([k, v]) => [k, [v]]))];
  clientPmd.accept(listed(serverPmd.accept(listed(clientPmd.offer()))));
  const client = openWs(modules, "client", { "permessage-deflate": clientPmd });
  const server = openWs(modules, "server", { "permessage-deflate": serverPmd });
  client.socket.coalesce = true;
  client.socket.sink = (chunk) => {
    server.socket.emit("data", chunk);
  };
  let expected = 0;
  let received = 0;
  let wrong = 0;
  let done: (() => void) | null = null;
  let target = 0;
  server.websocket.on("message", (data: Buffer, isBinary: boolean) => {
    if (isBinary || data.toString() !== messages[expected]) wrong++;
    expected = expected === messages.length - 1 ? 0 : expected + 1;
    received++;
    if (received === target && done !== null) done();
  });
  let next = 0;
  if (mode === "round trip") {
    return {
      name,
      run: async () => {
        received = 0;
        wrong = 0;
        for (let i = 0; i < PER_PASS; i++) {
          target = i + 1;
          const arrived = new Promise<void>((resolve) => {
            done = resolve;
          });
          client.websocket.send(messages[next]!);
          next = next === messages.length - 1 ? 0 : next + 1;
          await arrived;
        }
        done = null;
        check(received === PER_PASS && wrong === 0, `${received} messages, ${wrong} wrong`);
        return PER_PASS;
      },
    };
  }
  return {
    name,
    run: async () => {
      received = 0;
      wrong = 0;
      target = PER_PASS;
      const finished = new Promise<void>((resolve) => {
        done = resolve;
      });
      for (let i = 0; i < PER_PASS; i++) {
        client.websocket.send(messages[next]!);
        next = next === messages.length - 1 ? 0 : next + 1;
      }
      await finished;
      done = null;
      check(received === PER_PASS && wrong === 0, `${received} messages, ${wrong} wrong`);
      return PER_PASS;
    },
  };
}

const OURS = "wsmachine (pako)";
const OURS_NATIVE = "wsmachine + node:zlib deflate";
const WS = "ws";
const WS_PLAIN = "ws (no bufferutil)";
const WS_PIPELINED = "ws, pipelined";

const TITLE = "permessage-deflate round trips of 1 KiB JSON text (client deflate + mask → server unmask + inflate + validate), takeover, 15-bit";

function w6(): Workload {
  messages = jsonMessages(2000).map((bytes) => new TextDecoder().decode(bytes));
  const native = nodeZlibEngine();
  if (native === null) throw new Error("bench: node:zlib's synchronous handle is unavailable");
  return {
    id: "W6",
    title: TITLE,
    unit: "msg/s",
    contenders: [
      ours(OURS, undefined),
      ours(OURS_NATIVE, native),
      theirs(WS, loadWs(true), "round trip"),
      theirs(WS_PLAIN, loadWs(false), "round trip"),
      theirs(WS_PIPELINED, loadWs(true), "pipelined"),
    ],
    baseline: WS,
    // The target is for wsmachine on Node (its Node entry plugs the native engine); the portable
    // default (pako, for browsers) is shown for comparison.
    checks: [{ contender: OURS_NATIVE, baseline: WS, ratio: 4 }],
    compareWith: [WS_PIPELINED],
    note: "ws deflates and inflates asynchronously on node:zlib's thread pool. \"ws\" and \"ws (no bufferutil)\": one round trip at a time (a message is sent once the previous one reached the server), as W6 is defined and as the wsmachine contenders run; \"ws, pipelined\": all 1,000 messages of a pass sent at once, so ws overlaps zlib work on the pool thread with the main thread — its best case on 2 cores.",
  };
}

export const workloads: Workload[] = [lazyWorkload("W6", TITLE, w6)];
