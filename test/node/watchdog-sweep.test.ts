/**
 * The endpoints' watchdogs share one timer per runtime (src/runtime/deadline-sweep.ts) rather
 * than holding one each. Over real loopback sockets: connections of servers with different
 * limits, opened at different moments, each time out at their own deadline (within the sweep's
 * quantum, a thirtieth of the shortest limit); one that stays active, or goes away, does not
 * move its neighbours' deadlines; and nothing stays in the sweep once the connections are over.
 * The sweep's own bookkeeping (order, removal) is tested directly too.
 */
import { afterAll, describe, expect, it } from "vitest";
import { createWebSocketServer, type WebSocketServer, type WebSocketServerOptions } from "../../src/node/index.js";
import { nodeRuntime } from "../../src/node/transport.js";
import { DeadlineSweep, sweepFor, type SweepEntry } from "../../src/runtime/deadline-sweep.js";
import { OP, frame } from "../conformance/wire.js";
import { eventually, within } from "./helpers.js";
import { delay, openRawPeer, type RawPeer } from "./raw-peer.js";

const servers: WebSocketServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function serverPort(options: WebSocketServerOptions): Promise<number> {
  const server = createWebSocketServer(options, (endpoint) => endpoint.on("error", () => {}));
  servers.push(server);
  return (await server.listen()).port;
}

/** Milliseconds from `started` until the peer's connection ended. */
async function closedAfter(peer: RawPeer, started: number): Promise<number> {
  await within(peer.closed, 5_000, "an idle connection closing");
  return performance.now() - started;
}

describe("watchdogs on one shared timer (real sockets)", () => {
  it("connections with different idle timeouts, opened at different times, each close at their own deadline", async () => {
    const short = await serverPort({ idleTimeout: 300, pingInterval: 0, closeTimeout: 300 });
    const long = await serverPort({ idleTimeout: 700, pingInterval: 0, closeTimeout: 300 });
    const started = performance.now();
    const first = await Promise.all([openRawPeer(short), openRawPeer(short), openRawPeer(long)]);
    await delay(150);
    const laterAt = performance.now();
    const later = await openRawPeer(short);
    const [a, b, c, d] = await Promise.all([closedAfter(first[0]!, started), closedAfter(first[1]!, started), closedAfter(first[2]!, started), closedAfter(later, laterAt)]);
    // Never early; late by at most a quantum (10 ms and 23 ms here) plus the machine's scheduling.
    for (const elapsed of [a, b, d]) {
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(1_000);
    }
    expect(c).toBeGreaterThanOrEqual(690);
    expect(c).toBeLessThan(1_500);
  });

  it("an active neighbour stays open while a quiet one is closed, and one that left changes nothing", async () => {
    const port = await serverPort({ idleTimeout: 300, pingInterval: 0, closeTimeout: 300 });
    const [active, quiet, leaving] = await Promise.all([openRawPeer(port), openRawPeer(port), openRawPeer(port)]);
    const started = performance.now();
    leaving.socket.destroy();
    for (let index = 0; index < 6; index++) {
      active.socket.write(frame({ opcode: OP.TEXT, payload: `keep-alive ${index}` }, true));
      await delay(100);
    }
    const quietAfter = await closedAfter(quiet, started);
    expect(quietAfter).toBeGreaterThanOrEqual(290);
    expect(quietAfter).toBeLessThan(1_000);
    expect(active.socket.destroyed).toBe(false);
    // Quiet from now on: it goes too, a timeout after its last message.
    const lastSent = performance.now();
    expect(await closedAfter(active, lastSent)).toBeLessThan(1_000);
  });

  it("no watchdog is left waiting once every connection is over", async () => {
    const port = await serverPort({ idleTimeout: 60_000, pingInterval: 20_000, messageTimeout: 60_000 });
    const sweep = sweepFor(nodeRuntime.unrefTimer);
    const before = sweep.size;
    const peers = await Promise.all(Array.from({ length: 20 }, () => openRawPeer(port)));
    await eventually(() => sweep.size === before + 20, "20 watchdogs waiting");
    for (const peer of peers) peer.socket.destroy();
    await eventually(() => sweep.size === before, "the watchdogs gone");
  });
});

/** An entry that notes when it was told. */
function entry(told: Array<[string, number]>, name: string): SweepEntry {
  return {
    sweepSlot: null,
    due(now) {
      told.push([name, now]);
    },
  };
}

describe("DeadlineSweep", () => {
  const unref = (timer: ReturnType<typeof setTimeout>): void => {
    timer.unref();
  };

  it("tells entries in deadline order, never before their deadline, and forgets removed ones", async () => {
    const sweep = new DeadlineSweep(unref);
    const told: Array<[string, number]> = [];
    const start = performance.now();
    const late = entry(told, "late");
    const early = entry(told, "early");
    const removed = entry(told, "removed");
    sweep.schedule(late, start + 80, 5);
    sweep.schedule(early, start + 30, 5);
    sweep.schedule(removed, start + 30, 5);
    sweep.remove(removed);
    expect(sweep.size).toBe(2);
    await delay(200);
    expect(told.map(([name]) => name)).toEqual(["early", "late"]);
    expect(told[0]![1]).toBeGreaterThanOrEqual(start + 30);
    expect(told[1]![1]).toBeGreaterThanOrEqual(start + 80);
    expect(sweep.size).toBe(0);
  });
});
