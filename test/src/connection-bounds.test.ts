/**
 * WSConnection bounds: a memory budget shared by connections (ConnectionOptions.memoryBudget:
 * 1013 as a CloseConnection event, never a throw; everything given back once CLOSED), the work
 * quantum (ConnectionOptions.workQuantum: `events()` ends with `workPending` and resumes with
 * exactly the events it would have yielded at once), and `messageInProgress`.
 */
import * as zlib from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  ConnectionState,
  ConnectionType,
  MemoryBudget,
  PerMessageDeflate,
  Ping,
  Pong,
  Request,
  TextMessage,
  WSConnection,
  type ConnectionOptions,
  type Event,
} from "../../src/index.js";
import { open, summarize, type Summary } from "../conformance/driver.js";
import {
  closeBody,
  concatAll,
  headerValue,
  OP,
  peerFrame,
  readClose,
  ROLES,
  RSV1,
  toHex,
  upgradeRequest,
  upgradeResponse,
  type Role,
} from "../conformance/wire.js";
import { build, chunkingArb, cut, DEFLATE_OFFER, DEFLATE_RESPONSE, scenarioArb, type Scenario, type Setup } from "../fuzz/scenario.js";

const MiB = 1024 * 1024;

/** Every event `events()` yields now (one call). */
function once(conn: WSConnection): Event[] {
  return [...conn.events()];
}

/** Calls `events()` until it ends without work pending; every event, and how many calls it took. */
function drainAll(conn: WSConnection): { events: Event[]; calls: number } {
  const events: Event[] = [];
  let calls = 0;
  do {
    calls++;
    events.push(...conn.events());
  } while (conn.workPending);
  return { events, calls };
}

function closeCodes(events: readonly Event[]): number[] {
  return events.filter((event): event is CloseConnection => event instanceof CloseConnection).map((event) => event.code);
}

/** Raw DEFLATE, sync-flushed, its 00 00 ff ff tail removed (RFC 7692 §7.2.1). */
function deflate(data: Uint8Array): Uint8Array {
  const out = zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return new Uint8Array(out.subarray(0, out.length - 4));
}

/** An OPEN connection of `role`, permessage-deflate negotiated when `deflate`. */
function opened(role: Role, options: ConnectionOptions, deflate = false): WSConnection {
  if (!deflate) return open(role, { options }).conn;
  return role === "server"
    ? open(role, { options, offer: DEFLATE_OFFER, acceptExtensions: [new PerMessageDeflate()] }).conn
    : open(role, { options, offerExtensions: [new PerMessageDeflate()], response: DEFLATE_RESPONSE }).conn;
}

// -- memory budget ------------------------------------------------------------------------------

describe("WSConnection memoryBudget: 1013 as an event", () => {
  for (const role of ROLES) {
    it(`${role}: two connections share one budget; the one that cannot reserve gets CloseConnection(1013), the other goes on`, () => {
      const budget = new MemoryBudget(10_000);
      const options: ConnectionOptions = { memoryBudget: budget, assembleMessages: true };
      const a = opened(role, options);
      const b = opened(role, options);
      expect(budget.used).toBe(0);

      const payload = new Uint8Array(8000).map((_, i) => i & 0xff);
      const big = peerFrame(role, { opcode: OP.BINARY, payload });
      a.receiveData(big.slice(0, 6000));
      expect(once(a)).toEqual([]);
      expect(a.messageInProgress).toBe(true);
      const heldByA = budget.used;
      expect(heldByA).toBeGreaterThanOrEqual(6000);
      expect(heldByA).toBeLessThanOrEqual(6000 + 2 * 200);

      // 4000 bytes would fit in an empty budget, not next to what `a` holds: refused, no throw.
      expect(() => b.receiveData(peerFrame(role, { opcode: OP.BINARY, payload: new Uint8Array(4000) }))).not.toThrow();
      let events: Event[] = [];
      expect(() => (events = once(b))).not.toThrow();
      expect(events.map((event) => event.type)).toEqual(["CloseConnection"]);
      const failure = events[0] as CloseConnection;
      expect(failure.code).toBe(1013);
      expect(b.state).toBe(ConnectionState.OPEN);
      expect(b.actor.getSnapshot().value).toEqual({ OPEN: "failed" });
      expect(b.messageInProgress).toBe(false);
      expect(budget.used).toBe(heldByA);
      // Later bytes are discarded and charge nothing.
      b.receiveData(peerFrame(role, { opcode: OP.BINARY, payload: new Uint8Array(100) }));
      expect(once(b)).toEqual([]);
      expect(budget.used).toBe(heldByA);
      // The application answers the failure: a close frame with 1013 goes out.
      const reply = b.send(failure.response());
      expect(readClose(reply).code).toBe(1013);
      expect(b.state).toBe(ConnectionState.LOCAL_CLOSING);
      b.receiveData(null);
      expect(closeCodes(once(b))).toEqual([]);
      expect(b.state).toBe(ConnectionState.CLOSED);

      // `a` is unaffected: its message completes, and the budget is empty again.
      a.receiveData(big.slice(6000));
      const [message] = once(a);
      expect(message).toBeInstanceOf(BytesMessage);
      expect(toHex((message as BytesMessage).data)).toBe(toHex(payload));
      expect(a.messageInProgress).toBe(false);
      expect(budget.used).toBe(0);
      // Now `b`'s message would have fitted.
      const c = opened(role, options);
      c.receiveData(peerFrame(role, { opcode: OP.BINARY, payload: new Uint8Array(4000) }));
      expect(once(c).map((event) => event.type)).toEqual(["BytesMessage"]);
      expect(budget.used).toBe(0);
    });

    it(`${role}: a compressed message that inflates beyond the budget is CloseConnection(1013); beyond maxMessageSize within it, 1009`, () => {
      const inflated = new Uint8Array(2 * MiB).fill(0x41);
      const message = peerFrame(role, { opcode: OP.BINARY, rsv: RSV1, payload: deflate(inflated) });
      const overBudget = new MemoryBudget(MiB);
      const a = opened(role, { memoryBudget: overBudget, assembleMessages: true, maxMessageSize: 4 * MiB }, true);
      a.receiveData(message.slice());
      expect(closeCodes(once(a))).toEqual([1013]);
      expect(overBudget.used).toBe(0);

      const withinBudget = new MemoryBudget(8 * MiB);
      const b = opened(role, { memoryBudget: withinBudget, assembleMessages: true, maxMessageSize: MiB }, true);
      b.receiveData(message.slice());
      expect(closeCodes(once(b))).toEqual([1009]);
      expect(withinBudget.used).toBe(0);

      const both = new MemoryBudget(8 * MiB);
      const c = opened(role, { memoryBudget: both, assembleMessages: true, maxMessageSize: 4 * MiB }, true);
      c.receiveData(message.slice());
      const [received] = once(c);
      expect((received as BytesMessage).data).toHaveLength(inflated.length);
      expect(both.used).toBe(0);
    });

    it(`${role}: a budget refusal while the handshake's trailing frames enter the decoder is a CloseConnection(1013) too`, () => {
      const budget = new MemoryBudget(1000);
      const trailing = peerFrame(role, { opcode: OP.BINARY, payload: new Uint8Array(2000) });
      if (role === "server") {
        const conn = new WSConnection(ConnectionType.SERVER, { memoryBudget: budget });
        // The client's frames right behind its request: held until OPEN, then charged.
        conn.receiveData(concatAll([upgradeRequest(), trailing]));
        const [first] = once(conn);
        expect(first).toBeInstanceOf(Request);
        conn.send(new AcceptConnection());
        expect(closeCodes(once(conn))).toEqual([1013]);
      } else {
        const conn = new WSConnection(ConnectionType.CLIENT, { memoryBudget: budget });
        const head = conn.send(new Request({ host: "example.com", target: "/" }));
        const key = headerValue(head, "sec-websocket-key")!;
        conn.receiveData(concatAll([upgradeResponse(key), trailing]));
        const events = once(conn);
        expect(events[0]).toBeInstanceOf(AcceptConnection);
        expect(closeCodes(events)).toEqual([1013]);
      }
      expect(budget.used).toBe(0);
    });
  }
});

describe("WSConnection memoryBudget: everything is given back once CLOSED", () => {
  for (const role of ROLES) {
    for (const assembleMessages of [true, false]) {
      const mode = assembleMessages ? "assembled" : "piece by piece";

      it(`${role}, ${mode}: EOF in the middle of a frame: CloseConnection(1006), CLOSED, budget.used back to 0`, () => {
        const budget = new MemoryBudget(MiB);
        const conn = opened(role, { memoryBudget: budget, assembleMessages });
        const frame = peerFrame(role, { opcode: OP.BINARY, payload: new Uint8Array(50_000) });
        conn.receiveData(frame.slice(0, 100));
        once(conn);
        conn.receiveData(frame.slice(100, 30_000));
        once(conn);
        if (assembleMessages) expect(budget.used).toBeGreaterThanOrEqual(30_000 - 100);
        // The rest of the frame and one byte of the next: that byte is held in any mode.
        conn.receiveData(concatAll([frame.slice(30_000), peerFrame(role, { opcode: OP.PING }).slice(0, 1)]));
        expect(once(conn).map((event) => event.type)).toEqual(["BytesMessage"]);
        expect(budget.used).toBe(1 + 200);
        conn.receiveData(null);
        expect(closeCodes(once(conn))).toEqual([1006]);
        expect(conn.state).toBe(ConnectionState.CLOSED);
        expect(budget.used).toBe(0);
      });

      it(`${role}, ${mode}: our close, then a fragment of a message and the peer's close: CLOSED with nothing held`, () => {
        const budget = new MemoryBudget(MiB);
        const conn = opened(role, { memoryBudget: budget, assembleMessages });
        conn.send(new CloseConnection({ code: 1000 }));
        expect(conn.state).toBe(ConnectionState.LOCAL_CLOSING);
        conn.receiveData(peerFrame(role, { opcode: OP.TEXT, fin: false, payload: "x".repeat(3000) }));
        const before = once(conn);
        expect(closeCodes(before)).toEqual([]);
        if (assembleMessages) expect(budget.used).toBeGreaterThanOrEqual(3000);
        // The peer's close arrives while its message is unfinished.
        conn.receiveData(peerFrame(role, { opcode: OP.CLOSE, payload: closeBody(1000) }));
        expect(closeCodes(once(conn))).toEqual([1000]);
        expect(conn.state).toBe(ConnectionState.CLOSED);
        expect(budget.used).toBe(0);
      });
    }

    it(`${role}: a peer's close while a message is held (REMOTE_CLOSING) gives it back; so does the close handshake's end`, () => {
      const budget = new MemoryBudget(MiB);
      const conn = opened(role, { memoryBudget: budget, assembleMessages: true });
      conn.receiveData(peerFrame(role, { opcode: OP.BINARY, fin: false, payload: new Uint8Array(5000) }));
      conn.receiveData(peerFrame(role, { opcode: OP.CLOSE, payload: closeBody(1001) }));
      const events = once(conn);
      expect(closeCodes(events)).toEqual([1001]);
      expect(conn.state).toBe(ConnectionState.REMOTE_CLOSING);
      expect(budget.used).toBe(0);
      conn.send((events[0] as CloseConnection).response());
      expect(conn.state).toBe(ConnectionState.CLOSED);
      expect(budget.used).toBe(0);
    });
  }

  it("with an XState actor running the statechart (inspect given), CLOSED gives everything back too", () => {
    for (const role of ROLES) {
      const budget = new MemoryBudget(MiB);
      const inspected: unknown[] = [];
      const conn = opened(role, { memoryBudget: budget, assembleMessages: true, inspect: (event) => void inspected.push(event) });
      conn.receiveData(peerFrame(role, { opcode: OP.BINARY, fin: false, payload: new Uint8Array(5000) }));
      conn.receiveData(peerFrame(role, { opcode: OP.CONT, payload: new Uint8Array(5000) }).slice(0, 10));
      once(conn);
      expect(budget.used).toBeGreaterThan(5000);
      conn.receiveData(null);
      expect(closeCodes(once(conn))).toEqual([1006]);
      expect(conn.state).toBe(ConnectionState.CLOSED);
      expect(budget.used).toBe(0);
      expect(inspected.length).toBeGreaterThan(0);
    }
  });

  it("many connections, each closed in a different way, leave the budget at 0", () => {
    const budget = new MemoryBudget(16 * MiB);
    const options: ConnectionOptions = { memoryBudget: budget, assembleMessages: true };
    const conns = Array.from({ length: 6 }, (_, i) => opened(i % 2 === 0 ? "server" : "client", options));
    conns.forEach((conn, i) => {
      const role: Role = i % 2 === 0 ? "server" : "client";
      conn.receiveData(peerFrame(role, { opcode: OP.BINARY, fin: false, payload: new Uint8Array(10_000 * (i + 1)) }));
      once(conn);
    });
    expect(budget.used).toBeGreaterThan(6 * 10_000);
    conns.forEach((conn, i) => {
      const role: Role = i % 2 === 0 ? "server" : "client";
      if (i < 2) {
        conn.receiveData(null);
        once(conn);
      } else if (i < 4) {
        conn.send(new CloseConnection({ code: 1000 }));
        conn.receiveData(peerFrame(role, { opcode: OP.CLOSE, payload: closeBody(1000) }));
        once(conn);
      } else {
        // A protocol error (a new message inside the unfinished one): 1002.
        conn.receiveData(peerFrame(role, { opcode: OP.TEXT, payload: "x" }));
        const events = once(conn);
        expect(closeCodes(events)).toEqual([1002]);
        conn.send((events[0] as CloseConnection).response());
        conn.receiveData(null);
        once(conn);
      }
      expect(conn.state).toBe(ConnectionState.CLOSED);
    });
    expect(budget.used).toBe(0);
  });
});

// -- messageInProgress ---------------------------------------------------------------------------

describe("WSConnection messageInProgress", () => {
  for (const role of ROLES) {
    for (const assembleMessages of [true, false]) {
      const mode = assembleMessages ? "assembled" : "piece by piece";

      it(`${role}, ${mode}: true while a frame or message is partly received, false once it is complete`, () => {
        const conn = opened(role, { assembleMessages });
        expect(conn.messageInProgress).toBe(false);
        const frame = peerFrame(role, { opcode: OP.TEXT, payload: "héllo wörld" });
        // One byte of a header.
        conn.receiveData(frame.slice(0, 1));
        expect(conn.messageInProgress).toBe(true);
        expect(once(conn)).toEqual([]);
        expect(conn.messageInProgress).toBe(true);
        conn.receiveData(frame.slice(1, frame.length - 3));
        const events = once(conn);
        expect(conn.messageInProgress).toBe(true);
        conn.receiveData(frame.slice(frame.length - 3));
        events.push(...once(conn));
        expect(summarize(events)).toEqual([{ text: "héllo wörld" }]);
        expect(conn.messageInProgress).toBe(false);

        // A fragmented message: in progress between its frames (whole frames received), and
        // across a ping between them.
        conn.receiveData(peerFrame(role, { opcode: OP.BINARY, fin: false, payload: [1, 2, 3] }));
        const pieces = once(conn);
        expect(conn.messageInProgress).toBe(true);
        conn.receiveData(peerFrame(role, { opcode: OP.PING, payload: "p" }));
        expect(once(conn).map((event) => event.type)).toEqual(["Ping"]);
        expect(conn.messageInProgress).toBe(true);
        conn.receiveData(peerFrame(role, { opcode: OP.CONT, fin: false, payload: [4] }));
        pieces.push(...once(conn));
        expect(conn.messageInProgress).toBe(true);
        conn.receiveData(peerFrame(role, { opcode: OP.CONT, payload: [5] }));
        pieces.push(...once(conn));
        expect(summarize(pieces)).toEqual([{ binary: "0102030405" }]);
        expect(pieces.length).toBe(assembleMessages ? 1 : 3);
        expect(conn.messageInProgress).toBe(false);

        // A control frame partly received counts too (bytes of an incomplete frame are held).
        const ping = peerFrame(role, { opcode: OP.PING, payload: "abc" });
        conn.receiveData(ping.slice(0, 3));
        once(conn);
        expect(conn.messageInProgress).toBe(true);
        conn.receiveData(ping.slice(3));
        expect(once(conn).map((event) => event.type)).toEqual(["Ping"]);
        expect(conn.messageInProgress).toBe(false);
      });
    }

    it(`${role}: false before OPEN and after a failure`, () => {
      const fresh = new WSConnection(role === "server" ? ConnectionType.SERVER : ConnectionType.CLIENT);
      expect(fresh.messageInProgress).toBe(false);
      const conn = opened(role, {});
      conn.receiveData(peerFrame(role, { opcode: OP.TEXT, fin: false, payload: "abc" }));
      once(conn);
      expect(conn.messageInProgress).toBe(true);
      conn.receiveData(Uint8Array.of(0x83, 0x00)); // reserved opcode 3: 1002
      expect(closeCodes(once(conn))).toEqual([1002]);
      expect(conn.messageInProgress).toBe(false);
    });

    /*
     * Regression (found by these tests, fixed in bf544d2): once CLOSED with a message unfinished,
     * the decoder's bytes were released but `messageInProgress` stayed true ("False before OPEN
     * and once reading is over", codec/core/protocol-core.ts).
     */
    it(`${role}: false once CLOSED with a message unfinished`, () => {
      const conn = opened(role, { assembleMessages: true });
      conn.receiveData(peerFrame(role, { opcode: OP.BINARY, fin: false, payload: [1] }));
      once(conn);
      expect(conn.messageInProgress).toBe(true);
      conn.receiveData(null);
      expect(closeCodes(once(conn))).toEqual([1006]);
      expect(conn.state).toBe(ConnectionState.CLOSED);
      expect(conn.messageInProgress).toBe(false);
    });
  }
});

// -- work quantum --------------------------------------------------------------------------------

describe("WSConnection workQuantum: events() ends with workPending and resumes", () => {
  const big = new Uint8Array(8 * MiB);
  for (let i = 0; i < big.length; i += 1000) big[i] = i & 0xff;
  const compressed = deflate(big);

  for (const role of ROLES) {
    it(`${role}: an 8 MiB compressed message with workQuantum 256 KiB takes many events() calls, then comes whole`, () => {
      const budget = new MemoryBudget(64 * MiB);
      const conn = opened(role, { workQuantum: 256 * 1024, assembleMessages: true, memoryBudget: budget, maxMessageSize: 16 * MiB }, true);
      conn.receiveData(peerFrame(role, { opcode: OP.BINARY, rsv: RSV1, payload: compressed }));
      let calls = 0;
      let events: Event[] = [];
      for (;;) {
        events = once(conn);
        calls++;
        if (events.length > 0) break;
        expect(conn.workPending).toBe(true);
        expect(conn.messageInProgress).toBe(true);
      }
      expect(conn.workPending).toBe(false);
      expect(calls).toBeGreaterThanOrEqual(16);
      expect(events).toHaveLength(1);
      const data = (events[0] as BytesMessage).data;
      expect(Buffer.from(data).equals(Buffer.from(big))).toBe(true);
      expect(conn.messageInProgress).toBe(false);
      expect(budget.used).toBe(0);
    });

    it(`${role}: EOF received while work is pending: the message first, then CloseConnection(1006)`, () => {
      const conn = opened(role, { workQuantum: 256 * 1024, assembleMessages: true, maxMessageSize: 16 * MiB }, true);
      conn.receiveData(peerFrame(role, { opcode: OP.BINARY, rsv: RSV1, payload: compressed }));
      conn.receiveData(peerFrame(role, { opcode: OP.TEXT, payload: "after" }));
      conn.receiveData(null);
      const first = once(conn);
      expect(first.map((event) => event.type)).toEqual([]);
      expect(conn.workPending).toBe(true);
      expect(conn.state).toBe(ConnectionState.OPEN);
      const { events, calls } = drainAll(conn);
      expect(calls).toBeGreaterThan(1);
      expect(events.map((event) => event.type)).toEqual(["BytesMessage", "TextMessage", "CloseConnection"]);
      expect(closeCodes(events)).toEqual([1006]);
      expect(conn.state).toBe(ConnectionState.CLOSED);
      expect(conn.workPending).toBe(false);
    });

    it(`${role}: without a quantum the same input takes one events() call`, () => {
      const conn = opened(role, { assembleMessages: true, maxMessageSize: 16 * MiB }, true);
      conn.receiveData(peerFrame(role, { opcode: OP.BINARY, rsv: RSV1, payload: compressed }));
      const events = once(conn);
      expect(events).toHaveLength(1);
      expect(conn.workPending).toBe(false);
    });
  }
});

// -- the property: any chunking, any quantum, any budget -----------------------------------------

interface Drive {
  /** Every event, in order. */
  events: Event[];
  /** events() calls that ended with work pending. */
  stops: number;
}

/**
 * Runs a scenario's wire bytes through a fresh connection, answering the handshake, closes and
 * failures as an application does. `eager`: after each chunk, events() is called until no work
 * is pending; otherwise once per chunk (the rest is resumed after later chunks and at the end).
 */
function drive(s: Scenario, chunking: number[] | { chop: number }, options: ConnectionOptions, eager: boolean): Drive {
  const deflate = s.setup === "handshake+deflate";
  const type = s.role === "server" ? ConnectionType.SERVER : ConnectionType.CLIENT;
  const conn = new WSConnection(type, options);
  let key: string | undefined;
  if (s.role === "client") {
    const head = conn.send(new Request({ host: "example.com", target: "/", extensions: deflate ? [new PerMessageDeflate()] : [] }));
    key = headerValue(head, "sec-websocket-key") ?? undefined;
  }
  const events: Event[] = [];
  let stops = 0;
  const react = (event: Event): void => {
    events.push(event);
    if (event instanceof Request) {
      conn.send(new AcceptConnection({ extensions: deflate ? [new PerMessageDeflate()] : [] }));
    } else if (event instanceof CloseConnection) {
      const value = JSON.stringify(conn.actor.getSnapshot().value);
      if (conn.state === ConnectionState.REMOTE_CLOSING || value === '{"OPEN":"failed"}') conn.send(event.response());
    }
  };
  const pump = (all: boolean): void => {
    do {
      for (const event of conn.events()) react(event);
      if (conn.workPending) stops++;
    } while (all && conn.workPending);
  };
  for (const chunk of cut(build(s, key).wire, chunking)) {
    if (conn.state === ConnectionState.CLOSED) break;
    conn.receiveData(chunk);
    pump(eager);
  }
  if (conn.state !== ConnectionState.CLOSED) conn.receiveData(null);
  pump(true);
  expect(conn.state).toBe(ConnectionState.CLOSED);
  expect(conn.workPending).toBe(false);
  expect(conn.messageInProgress).toBe(false);
  return { events, stops };
}

/** An event as comparable data. */
function shape(event: Event): unknown {
  if (event instanceof TextMessage) return ["text", event.data, event.frameFinished, event.messageFinished];
  if (event instanceof BytesMessage) return ["binary", toHex(event.data), event.frameFinished, event.messageFinished];
  if (event instanceof CloseConnection) return ["close", event.code, event.reason];
  if (event instanceof Ping || event instanceof Pong) return [event.type, toHex(event.payload)];
  return [event.type];
}

function withoutPartials(log: readonly Summary[]): Summary[] {
  return log.filter((s) => !("partialText" in s) && !("partialBinary" in s));
}

const SETUPS: readonly Setup[] = ["handshake", "handshake+deflate"];
/** The fuzzer's valid peer streams, their messages cut into more fragments (kept messages make events() stop). */
const scenario = fc
  .tuple(
    fc.record({ role: fc.constantFrom<Role>(...ROLES), setup: fc.constantFrom(...SETUPS) }).chain(({ role, setup }) => scenarioArb(role, setup)),
    fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
  )
  .map(([s, extra]): Scenario => ({
    ...s,
    items: s.items.map((item) =>
      item.kind === "message" ? { ...item, cuts: [...item.cuts, ...extra.map((f) => Math.floor(f * (item.data.length + 1)))] } : item,
    ),
  }));
/** Mostly tiny quanta, so that events() stops often (a stop needs a message kept over several pieces). */
const quantumArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 64 }) },
  { weight: 2, arbitrary: fc.integer({ min: 65, max: 70_000 }) },
  { weight: 1, arbitrary: fc.constantFrom(256 * 1024, 1024 * 1024) },
);

describe("WSConnection workQuantum and memoryBudget: properties", () => {
  it("any chunking and any quantum yield exactly the events of no quantum (assembled); the same messages piece by piece", () => {
    fc.assert(
      fc.property(scenario, chunkingArb, quantumArb, fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }), fc.boolean(), (s, chunking, workQuantum, assembleMessages, eager) => {
        const plain = drive(s, chunking, { assembleMessages }, true);
        expect(plain.stops).toBe(0);
        const budget = new MemoryBudget(Infinity);
        const bounded = drive(s, chunking, { assembleMessages, workQuantum, memoryBudget: budget }, eager);
        expect(budget.used).toBe(0);
        if (assembleMessages || (eager && s.setup === "handshake")) {
          expect(bounded.events.map(shape)).toEqual(plain.events.map(shape));
        }
        expect(summarize(bounded.events)).toEqual(summarize(plain.events));
        // And both are what the peer sent.
        const want = build(s).expected;
        const log = summarize(plain.events);
        expect(log.slice(0, want.length)).toEqual(want);
      }),
      { numRuns: 50 },
    );
  });

  it("any budget only ever ends the events early with CloseConnection(1013), and gives everything back", () => {
    fc.assert(
      fc.property(
        scenario,
        chunkingArb,
        fc.integer({ min: 0, max: 200_000 }),
        fc.boolean(),
        fc.option(quantumArb, { nil: undefined }),
        (s, chunking, limit, assembleMessages, workQuantum) => {
          const free = withoutPartials(summarize(drive(s, chunking, { assembleMessages }, true).events));
          const budget = new MemoryBudget(limit);
          const options: ConnectionOptions = { assembleMessages, memoryBudget: budget, ...(workQuantum === undefined ? {} : { workQuantum }) };
          const bounded = withoutPartials(summarize(drive(s, chunking, options, false).events));
          expect(budget.used).toBe(0);
          const last = bounded[bounded.length - 1];
          if (last !== undefined && "close" in last && last.close === 1013 && JSON.stringify(bounded) !== JSON.stringify(free)) {
            expect(bounded.slice(0, -1)).toEqual(free.slice(0, bounded.length - 1));
          } else {
            expect(bounded).toEqual(free);
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});
