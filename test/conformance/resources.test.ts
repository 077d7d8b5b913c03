/**
 * Bounded resources: no input makes a connection hold more than the limits allow, or take more
 * than time linear in its size. For each hostile input, memory is measured (peak: sampled while
 * feeding, garbage included; retained: after full collections) and the failure must come
 * promptly. Limits in play (SECURITY.md): maxHandshakeHeadSize and the header-line count,
 * maxMessageSize, maxFragments, the 2^63 length rule, and permessage-deflate's output bound
 * (maxMessageSize counted after inflation).
 */
import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  BytesMessage,
  ConnectionState,
  ConnectionType,
  RemoteProtocolError,
  Request,
  WSConnection,
  type Event,
} from "../../src/index.js";
import { FAIL, chunksOf, codes, deliver, drain, open, summarize } from "./driver.js";
import { deflateSession } from "./deflate-peer.js";
import { expectFailure } from "./closing.js";
import { MemoryWatch, MiB, retained } from "./memory.js";
import { OP, ROLES, RSV1, bytes, concatAll, peerFrame, peerFrames } from "./wire.js";

/** A time bound generous enough for a loaded 2-core machine, and far below what O(n²) would take. */
const PROMPT_MS = 2000;

function catchError(fn: () => void): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("handshake heads", () => {
  it("server: a request head that never ends fails with 431 at 16 KiB, without buffering more", () => {
    const conn = new WSConnection(ConnectionType.SERVER);
    const watch = new MemoryWatch();
    const start = performance.now();
    conn.receiveData(bytes("GET / HTTP/1.1\r\nHost: h\r\n"));
    const line = bytes(`X-Filler: ${"a".repeat(1000)}\r\n`);
    let sent = 0;
    let error: unknown;
    while (error === undefined && sent < 10 * MiB) {
      error = catchError(() => conn.receiveData(line.slice()));
      sent += line.length;
    }
    expect(performance.now() - start).toBeLessThan(PROMPT_MS);
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect((error as RemoteProtocolError).eventHint?.statusCode).toBe(431);
    expect(sent).toBeLessThan(16 * 1024 + line.length);
    expect(watch.settle()).toBeLessThan(MiB);
  });

  it("server: maxHandshakeHeadSize is honoured byte for byte", () => {
    const request = (size: number) => {
      const start = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX: ";
      return bytes(start + "a".repeat(size - start.length - 4) + "\r\n\r\n");
    };
    const exact = new WSConnection(ConnectionType.SERVER, { maxHandshakeHeadSize: 1024 });
    exact.receiveData(request(1024));
    expect(drain(exact).map((e) => e.type)).toEqual(["Request"]);
    // One byte more, byte by byte: refused as soon as the head cannot end within 1024 bytes.
    const over = new WSConnection(ConnectionType.SERVER, { maxHandshakeHeadSize: 1024 });
    const head = request(1025);
    let failedAt = -1;
    for (let i = 0; i < head.length && failedAt < 0; i++) {
      if (catchError(() => over.receiveData(head.slice(i, i + 1))) instanceof RemoteProtocolError) failedAt = i;
    }
    expect(failedAt).toBeGreaterThanOrEqual(1020);
    expect(failedAt).toBeLessThanOrEqual(1024);
  });

  it("server: 101 header lines fail with 431; 100 are fine", () => {
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `X-H${i}: v`);
    const base = ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13", "Host: h"];
    const request = (n: number) => bytes(["GET / HTTP/1.1", ...base, ...lines(n - base.length)].join("\r\n") + "\r\n\r\n");
    const ok = new WSConnection(ConnectionType.SERVER);
    ok.receiveData(request(100));
    expect(drain(ok).map((e) => e.type)).toEqual(["Request"]);
    const tooMany = new WSConnection(ConnectionType.SERVER);
    const error = catchError(() => tooMany.receiveData(request(101)));
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect((error as RemoteProtocolError).eventHint?.statusCode).toBe(431);
  });

  it("client: a response head that never ends fails at 16 KiB; the client is CLOSED", () => {
    const conn = new WSConnection(ConnectionType.CLIENT);
    conn.send(new Request({ host: "h", target: "/" }));
    conn.receiveData(bytes("HTTP/1.1 101 Switching Protocols\r\n"));
    let error: unknown;
    let sent = 0;
    while (error === undefined && sent < MiB) {
      error = catchError(() => conn.receiveData(bytes(`X-Filler: ${"b".repeat(500)}\r\n`)));
      sent += 512;
    }
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect(sent).toBeLessThan(17 * 1024);
    expect(conn.state).toBe(ConnectionState.CLOSED);
  });

  it("client: an endless run of 1xx informational responses holds no memory (the adapter's handshake timeout ends it)", () => {
    const conn = new WSConnection(ConnectionType.CLIENT);
    conn.send(new Request({ host: "h", target: "/" }));
    const informational = bytes("HTTP/1.1 100 Continue\r\n\r\n".repeat(1000));
    const watch = new MemoryWatch();
    const start = performance.now();
    for (let i = 0; i < 200; i++) {
      conn.receiveData(informational.slice());
      expect(drain(conn)).toEqual([]);
      if (i % 50 === 0) watch.sample();
    }
    expect(performance.now() - start).toBeLessThan(PROMPT_MS);
    expect(conn.state).toBe(ConnectionState.CONNECTING);
    expect(watch.settle()).toBeLessThan(MiB);
  });
});

describe.each(ROLES)("frames, %s receiving", (role) => {
  it("a header announcing 2^63 − 1 bytes: 1009 from the 10-byte header alone, nothing allocated", () => {
    for (const maxMessageSize of [undefined, Number.MAX_SAFE_INTEGER]) {
      const { conn } = open(role, { options: { maxMessageSize } });
      const watch = new MemoryWatch();
      const events = deliver(conn, peerFrame(role, { opcode: OP.BINARY, announce: (1n << 63n) - 1n }));
      expect(codes(summarize(events))).toEqual([FAIL(1009)]);
      expect(watch.settle()).toBeLessThan(MiB);
      expectFailure(role, conn, events, 1009);
    }
  });

  it("a header announcing 2^63 (top bit set): 1002", () => {
    const { conn } = open(role);
    const events = deliver(conn, peerFrame(role, { opcode: OP.TEXT, announce: 1n << 63n }));
    expect(codes(summarize(events))).toEqual([FAIL(1002)]);
    expectFailure(role, conn, events, 1002);
  });

  /** `count` empty continuation frames after a one-byte first fragment, fed in batches. */
  function emptyFragmentFlood(conn: WSConnection, count: number, watch: MemoryWatch): { events: number; failure: Event | null } {
    const empty = peerFrame(role, { opcode: OP.CONT, fin: false });
    const batch = 4096;
    const block = concatAll(Array.from({ length: batch }, () => empty));
    conn.receiveData(peerFrame(role, { opcode: OP.TEXT, fin: false, payload: "a" }));
    let events = drain(conn).length;
    let failure: Event | null = null;
    for (let sent = 0; sent < count && failure === null; sent += batch) {
      conn.receiveData(block.slice());
      for (const event of conn.events()) {
        events++;
        if (event.type === "CloseConnection") failure = event;
      }
      if ((sent / batch) % 64 === 0) watch.sample();
    }
    return { events, failure };
  }

  it("an endless message of empty fragments is cut at maxFragments (default 65536) with 1008", () => {
    const { conn } = open(role);
    const watch = new MemoryWatch();
    const start = performance.now();
    const { events, failure } = emptyFragmentFlood(conn, 1 << 20, watch);
    expect(performance.now() - start).toBeLessThan(PROMPT_MS);
    expect(failure).not.toBeNull();
    expect(codes(summarize([failure!]))).toEqual([FAIL(1008)]);
    // Every fragment up to the limit was delivered (the first one included), then the failure.
    expect(events).toBe(65536 + 1);
    expect(watch.settle()).toBeLessThan(4 * MiB);
    expectFailure(role, conn, [failure!], 1008);
  });

  it("maxFragments: a message of exactly maxFragments frames passes; one more fails with 1008", () => {
    for (const [frames, failed] of [
      [10, false],
      [11, true],
    ] as const) {
      const { conn } = open(role, { options: { maxFragments: 10 } });
      const specs = Array.from({ length: frames }, (_, i) => ({ opcode: i === 0 ? OP.BINARY : OP.CONT, payload: [i], fin: i === frames - 1 }));
      // Twice: the count is per message.
      const events = deliver(conn, concatAll([...specs, ...specs].map((spec) => peerFrame(role, spec))));
      if (failed) {
        expect(codes(summarize(events))).toEqual([{ partialBinary: "00010203040506070809" }, FAIL(1008)]);
        expectFailure(role, conn, events, 1008);
      } else {
        expect(summarize(events)).toEqual([{ binary: "00010203040506070809" }, { binary: "00010203040506070809" }]);
      }
    }
  });

  it("with maxFragments: Infinity, 2^21 empty fragments take linear time and no memory", () => {
    const { conn } = open(role, { options: { maxFragments: Infinity } });
    const watch = new MemoryWatch();
    const start = performance.now();
    const { events, failure } = emptyFragmentFlood(conn, 1 << 21, watch);
    expect(performance.now() - start).toBeLessThan(2 * PROMPT_MS);
    expect(failure).toBeNull();
    expect(events).toBe((1 << 21) + 1);
    expect(watch.settle()).toBeLessThan(2 * MiB);
    expect(watch.peak).toBeLessThan(64 * MiB);
    expect(conn.state).toBe(ConnectionState.OPEN);
  });

  it("a 512 KiB message in 1-byte chunks: delivered in linear time, nothing retained", () => {
    const { conn } = open(role);
    const payload = new Uint8Array(MiB / 2).fill(0x61);
    const wire = peerFrame(role, { opcode: OP.BINARY, payload });
    const watch = new MemoryWatch();
    const start = performance.now();
    let received = 0;
    for (let i = 0; i < wire.length; i++) {
      conn.receiveData(wire.slice(i, i + 1));
      for (const event of conn.events()) received += (event as BytesMessage).data.length;
      if ((i & 0xffff) === 0) watch.sample();
    }
    expect(performance.now() - start).toBeLessThan(4 * PROMPT_MS);
    expect(received).toBe(MiB / 2);
    expect(watch.settle()).toBeLessThan(2 * MiB);
  });

  it("assembleMessages: a 256 KiB frame in 1-byte chunks is held as its bytes, not as 262,154 arrays", () => {
    // Assembling holds a frame until its last byte; kept as received, each 1-byte chunk would
    // cost ~200 bytes of objects (57 MB here). Small chunks are copied into blocks instead.
    const { conn } = open(role, { options: { assembleMessages: true } });
    const payload = new Uint8Array(MiB / 4).fill(0x62);
    const wire = peerFrame(role, { opcode: OP.BINARY, payload });
    const watch = new MemoryWatch();
    for (let i = 0; i < wire.length - 1; i++) {
      conn.receiveData(wire.slice(i, i + 1));
      if ((i & 0x3fff) === 0) expect(conn.events().next().done).toBe(true);
    }
    const held = watch.settle();
    expect(held).toBeLessThan(MiB); // the 256 KiB, the last block's spare room, and noise
    conn.receiveData(wire.slice(-1));
    const events = drain(conn);
    expect(events.map((event) => event.type)).toEqual(["BytesMessage"]);
    const data = (events[0] as BytesMessage).data;
    expect(data.length).toBe(MiB / 4);
    expect(data.every((byte) => byte === 0x62)).toBe(true);
  });

  it("a peer that never finishes a 60 MiB frame: pieces are handed out, nothing is kept", () => {
    const { conn } = open(role);
    const announced = 60 * MiB;
    const header = peerFrame(role, { opcode: OP.BINARY, announce: BigInt(announced) });
    conn.receiveData(header);
    const chunk = new Uint8Array(64 * 1024);
    const watch = new MemoryWatch();
    let received = 0;
    for (let sent = 0; sent < 32 * MiB; sent += chunk.length) {
      conn.receiveData(chunk.slice());
      for (const event of conn.events()) received += (event as BytesMessage).data.length;
      if (sent % (4 * MiB) === 0) watch.sample();
    }
    expect(received).toBe(32 * MiB);
    expect(watch.settle()).toBeLessThan(2 * MiB);
    expect(watch.peak).toBeLessThan(64 * MiB + 16 * MiB); // maxMessageSize plus a fixed overhead
    expect(conn.state).toBe(ConnectionState.OPEN);
  });

  it("an application that does not read events holds what the peer sent, no more", () => {
    const { conn } = open(role);
    conn.receiveData(peerFrame(role, { opcode: OP.BINARY, announce: BigInt(60 * MiB) }));
    const watch = new MemoryWatch();
    const sent = 16 * MiB;
    for (let at = 0; at < sent; at += 4096) conn.receiveData(new Uint8Array(4096));
    const held = watch.settle();
    expect(held).toBeGreaterThan(sent * 0.9);
    expect(held).toBeLessThan(sent * 1.25 + MiB); // the chunks themselves plus a small per-chunk cost
    let received = 0;
    for (const event of conn.events()) received += (event as BytesMessage).data.length;
    expect(received).toBe(sent);
    expect(watch.settle()).toBeLessThan(held / 8);
  });

  it("an unfinished control frame holds at most its 125 bytes", () => {
    // Fed a byte at a time, a ping one byte short of complete must cost a connection no more
    // than its payload and some bookkeeping — not the 129 one-byte arrays it arrived in (each
    // ~200 bytes of objects). Measured over many connections, so that the JS heap's own noise
    // (feedback vectors, the test runner) averages out of the per-connection figure.
    const count = 2000;
    const ping = peerFrame(role, { opcode: OP.PING, payload: new Uint8Array(125).fill(0x70) });
    const conns = Array.from({ length: count }, () => open(role).conn);
    // A connection makes its frame decoder with its first byte after the handshake: measure from
    // there, so that the figure is what the frame's bytes cost, not the decoder's fixed size.
    for (const conn of conns) {
      conn.receiveData(ping.slice(0, 1));
      expect(drain(conn)).toEqual([]);
    }
    const before = retained();
    for (const conn of conns) {
      for (let i = 1; i < ping.length - 1; i++) {
        conn.receiveData(ping.slice(i, i + 1));
        expect(drain(conn)).toEqual([]);
      }
    }
    const perConnection = (retained() - before) / count;
    expect(perConnection).toBeLessThan(1024);
    for (const conn of conns) {
      conn.receiveData(ping.slice(-1));
      expect(drain(conn).map((e) => e.type)).toEqual(["Ping"]);
    }
  });
});


/** Raw deflate of `copies` MiB of zeros: each MiB a separately sync-flushed stream of about 1 KiB. */
function deflateBomb(copies: number): Uint8Array {
  const block = zlib.deflateRawSync(Buffer.alloc(MiB), { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const all = concatAll(Array.from({ length: copies }, () => block));
  return all.subarray(0, all.length - 4); // as sent: the last 00 00 ff ff removed
}

describe.each(ROLES)("deflate bombs, %s receiving", (role) => {
  const bomb = deflateBomb(1024); // about 1 MiB that inflates to 1 GiB
  const session = (maxMessageSize?: number) =>
    deflateSession(role, {}, role === "server" ? { offer: "permessage-deflate" } : { response: "permessage-deflate" }, { maxMessageSize });

  it("the bomb is what it claims: ~1000:1", () => {
    expect(bomb.length).toBeLessThan(1.1 * MiB);
    expect(zlib.inflateRawSync(bomb.subarray(0, 64 * 1024), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).length).toBeGreaterThan(60 * MiB);
  });

  it("one frame, maxMessageSize 1 MiB, in 16 KiB chunks: 1009 within the first chunks, memory flat", () => {
    const { conn } = session(MiB);
    const wire = peerFrame(role, { opcode: OP.BINARY, rsv: RSV1, payload: bomb });
    const watch = new MemoryWatch();
    const start = performance.now();
    let inflated = 0;
    let failure: Event | null = null;
    let sent = 0;
    for (const chunk of chunksOf(wire, 16 * 1024)) {
      conn.receiveData(chunk);
      sent += chunk.length;
      for (const event of conn.events()) {
        if (event instanceof BytesMessage) inflated += event.data.length;
        else failure = event;
      }
      watch.sample();
      if (failure !== null) break;
    }
    expect(performance.now() - start).toBeLessThan(PROMPT_MS);
    expect(codes(summarize([failure!]))).toEqual([FAIL(1009)]);
    expect(inflated).toBeLessThanOrEqual(MiB);
    expect(sent).toBeLessThanOrEqual(2 * 16 * 1024);
    expect(watch.peak).toBeLessThan(MiB + 32 * MiB);
    expect(watch.settle()).toBeLessThan(4 * MiB);
    expectFailure(role, conn, [failure!], 1009);
  });

  it("one frame in one chunk, default maxMessageSize (64 MiB): 1009 after 64 MiB, promptly", () => {
    const { conn } = session();
    const watch = new MemoryWatch();
    const start = performance.now();
    const events = deliver(conn, peerFrame(role, { opcode: OP.BINARY, rsv: RSV1, payload: bomb }));
    expect(performance.now() - start).toBeLessThan(3 * PROMPT_MS);
    watch.sample();
    expect(codes(summarize(events))).toEqual([FAIL(1009)]);
    expect(watch.peak).toBeLessThan(64 * MiB + 64 * MiB); // maxMessageSize plus a fixed overhead
    expect(watch.settle()).toBeLessThan(4 * MiB);
  });

  it("spread over 256 fragments of one message: 1009 at the fragment that crosses the limit", () => {
    const { conn } = session(4 * MiB);
    const fragment = Math.ceil(bomb.length / 256);
    const specs = Array.from({ length: 256 }, (_, i) => ({
      opcode: i === 0 ? OP.BINARY : OP.CONT,
      rsv: i === 0 ? RSV1 : 0,
      payload: bomb.subarray(i * fragment, (i + 1) * fragment),
      fin: i === 255,
    }));
    const watch = new MemoryWatch();
    let inflated = 0;
    const steps = specs.map((spec) => {
      const events = deliver(conn, peerFrames(role, spec));
      for (const event of events) if (event instanceof BytesMessage) inflated += event.data.length;
      watch.sample();
      return events;
    });
    const failedAt = steps.findIndex((events) => events.some((event) => event.type === "CloseConnection"));
    // About 1 MiB of output per 4 KiB fragment: the limit is crossed in the 5th fragment or so.
    expect(failedAt).toBeGreaterThan(0);
    expect(failedAt).toBeLessThan(8);
    expect(inflated).toBeLessThanOrEqual(4 * MiB);
    expect(steps.slice(failedAt + 1).flat()).toEqual([]);
    expect(watch.peak).toBeLessThan(4 * MiB + 32 * MiB);
  });
});
