/**
 * Autobahn families 12 and 13 (permessage-deflate, RFC 7692), both roles, both directions:
 * - 12: the default offer, messages of 16 B – 128 KiB (auto-fragmented at 256 B – 32 KiB as
 *   Autobahn does), text and binary, many in a row so context takeover carries across them;
 * - 13: every pair of client offer and server configuration (Autobahn's seven and more),
 *   including 8-bit windows and no context takeover in each direction;
 * - the framing rules of RFC 7692 §6: RSV1 only on a message's first frame, never on control
 *   frames; corrupt data fails with 1007; uncompressed messages and control frames between
 *   compressed fragments are fine; a message ending in a BFINAL block does not break the next.
 * The peer is independent of pako: node's zlib compresses, and a reference inflater checks the
 * window and context rules of what we send (./inflate-reference.ts).
 */
import { describe, expect, it } from "vitest";
import { ConnectionType, PerMessageDeflate, RemoteProtocolError, Request, WSConnection, pakoEngine, type DeflateEngine, type PerMessageDeflateOptions } from "../../src/index.js";
import { ReferenceDeflater, deflateSession, peerSends, weSend, type TestMessage } from "./deflate-peer.js";
import { FAIL, PING, codes, deliver, summarize, T, B, CLOSE } from "./driver.js";
import { expectCleanClose, expectFailure } from "./closing.js";
import { OP, RSV1, RSV2, RSV3, ROLES, bytes, closeBody, concatAll, peerFrame, peerFrames, pseudoRandomBytes, upgradeResponse, headerValue, type Role } from "./wire.js";

// -- test data: slices of two corpora, taken in turn as Autobahn's case 12 does ----------------

const TEXT_CORPUS = bytes(
  JSON.stringify(
    Array.from({ length: 4000 }, (_, i) => ({
      id: i,
      name: `item-${(i * 7919) % 1000}`,
      tags: ["alpha", "beta", "gamma", "delta"].slice(0, (i % 4) + 1),
      score: ((i * 2654435761) % 100000) / 1000,
      active: i % 3 === 0,
    })),
  ),
);

/** Pseudo-random bytes with repeats 300–5000 bytes back (so a too-large window would show). */
const BINARY_CORPUS = (() => {
  const noise = pseudoRandomBytes(256 * 1024, 12345);
  const out = new Uint8Array(noise.length);
  for (let i = 0; i < out.length; i++) {
    const back = 300 + ((i >> 9) % 10) * 470;
    out[i] = i >= back && i % 7 !== 0 ? out[i - back]! : noise[i]!;
  }
  return out;
})();

function slices(corpus: Uint8Array, size: number, count: number, start = 0): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => {
    const at = (start + i * size) % (corpus.length - size);
    return corpus.slice(at, at + size);
  });
}

function messagesOf(binary: boolean, size: number, count: number, start = 0): TestMessage[] {
  return slices(binary ? BINARY_CORPUS : TEXT_CORPUS, size, count, start).map((data) => ({ binary, data }));
}

/** Autobahn 12.x: (payload size, auto-fragment size); counts are cut from 1000 to keep the suite fast. */
const MSG_SIZES: Array<[number, number]> = [
  [16, 0], [64, 0], [256, 0], [1024, 0], [4096, 0], [8192, 0], [16384, 0], [32768, 0], [65536, 0], [131072, 0],
  [8192, 256], [16384, 256], [32768, 256], [65536, 256], [131072, 256], [131072, 1024], [131072, 4096], [131072, 32768],
];

function countFor(size: number): number {
  return size >= 65536 ? 2 : size >= 8192 ? 4 : 8;
}

/** Both directions on one session: peer → us compares deliveries; us → peer checks the frames and the stream. */
function exchange(role: Role, ours: PerMessageDeflateOptions, peer: { offer?: string; response?: string }, messages: TestMessage[], fragment: number) {
  const session = deflateSession(role, ours, peer);
  const { got, want } = peerSends(session, messages, fragment);
  expect(got).toEqual(want);
  const sent = weSend(session, messages, fragment);
  expect(sent.filter((result) => !result.ok).map((result) => result.problem)).toEqual([]);
  return { session, sent };
}

describe.each(ROLES)("12 permessage-deflate, default offer, %s under test", (role) => {
  describe.each(MSG_SIZES)("payload %i bytes, auto-fragment %i", (size, fragment) => {
    it.each([
      ["text (JSON)", false],
      ["binary", true],
    ])("%s, both directions", (_name, binary) => {
      // The browsers' offer; our default client offer.
      const peer = role === "server" ? { offer: "permessage-deflate; client_max_window_bits" } : { response: "permessage-deflate" };
      exchange(role, {}, peer, messagesOf(binary as boolean, size, countFor(size), size), fragment);
    });
  });
});

// -- 13: parameter pairs --------------------------------------------------------------------

/** Autobahn 13.1–13.7's client offers, as header values. */
const AUTOBAHN_OFFERS = [
  "permessage-deflate; client_no_context_takeover; client_max_window_bits",
  "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover",
  "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=8",
  "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=15",
  "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=8",
  "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=15",
  "permessage-deflate; client_no_context_takeover; client_max_window_bits=8; server_no_context_takeover, permessage-deflate; client_no_context_takeover, permessage-deflate",
];
/** More offers: bare, context takeover kept, each window size. */
const MORE_OFFERS = [
  "permessage-deflate",
  "permessage-deflate; client_max_window_bits",
  "permessage-deflate; client_max_window_bits=8",
  "permessage-deflate; client_max_window_bits=9; server_max_window_bits=9",
  "permessage-deflate; server_max_window_bits=10; client_max_window_bits=12",
  "permessage-deflate; server_max_window_bits=12",
  "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
];
/** Autobahn's accept1–accept6 as server configurations, and a few more. */
const SERVER_CONFIGS: Array<[string, PerMessageDeflateOptions]> = [
  ["accept as offered", {}],
  ["require client_no_context_takeover", { clientNoContextTakeover: true }],
  ["client window 8", { clientMaxWindowBits: 8 }],
  ["client window 15", { clientMaxWindowBits: 15 }],
  ["client no context takeover, window 8", { clientNoContextTakeover: true, clientMaxWindowBits: 8 }],
  ["client no context takeover, window 15", { clientNoContextTakeover: true, clientMaxWindowBits: 15 }],
  ["server no context takeover, server window 8", { serverNoContextTakeover: true, serverMaxWindowBits: 8 }],
  ["server window 11", { serverMaxWindowBits: 11 }],
];

/** Data for the parameter cases: small and large messages, text and binary, in turn. */
function parameterMessages(): TestMessage[] {
  return [...messagesOf(false, 16, 2), ...messagesOf(true, 1024, 2, 7), ...messagesOf(false, 3000, 1, 99), ...messagesOf(true, 6000, 1, 5), ...messagesOf(false, 0, 1)];
}

describe("13 permessage-deflate parameter pairs, server under test", () => {
  describe.each([...AUTOBAHN_OFFERS, ...MORE_OFFERS].map((offer) => [offer] as const))("offer: %s", (offer) => {
    it.each(SERVER_CONFIGS)("server %s: both directions follow the negotiated parameters", (_name, config) => {
      const declines = config.clientMaxWindowBits === 8 && !/client_max_window_bits/.test(offer);
      if (declines) {
        // RFC 7692 §7.1.2.2: a server cannot limit a client that did not offer client_max_window_bits.
        const server = new PerMessageDeflate(config);
        expect(server.accept(offer.split(",").at(-1)!.trim())).toBeNull();
        return;
      }
      // Whole messages, and (every other configuration) messages auto-fragmented at 300 bytes.
      for (const fragment of SERVER_CONFIGS.findIndex(([, c]) => c === config) % 2 === 0 ? [0] : [0, 300]) {
        const { session } = exchange("server", config, { offer }, parameterMessages(), fragment);
        const n = session.negotiated;
        // What we answered is what we use: the server's window and context as configured or asked.
        if (config.serverMaxWindowBits !== undefined) expect(n.serverMaxWindowBits).toBeLessThanOrEqual(config.serverMaxWindowBits);
        if (config.clientNoContextTakeover || config.serverNoContextTakeover) {
          expect(n.clientNoContextTakeover || n.serverNoContextTakeover).toBe(true);
        }
        if (/server_no_context_takeover/.test(offer.split(",")[0]!)) expect(n.serverNoContextTakeover).toBe(true);
      }
    });
  });

  it("with an 8-bit server window no reference reaches back more than 256 bytes; with 15 they do", () => {
    const narrow = exchange("server", { serverMaxWindowBits: 8 }, { offer: "permessage-deflate" }, messagesOf(true, 20000, 2), 0);
    expect(Math.max(...narrow.sent.map((s) => s.maxDistance))).toBeLessThanOrEqual(256);
    const wide = exchange("server", {}, { offer: "permessage-deflate" }, messagesOf(true, 20000, 2), 0);
    expect(Math.max(...wide.sent.map((s) => s.maxDistance))).toBeGreaterThan(256);
  });
});

/** Valid responses a server may give to `offer` (RFC 7692 §7.1), as Autobahn's accept functions do. */
function responsesTo(offer: string): string[] {
  const params = offer.split(";").slice(1).map((p) => p.trim());
  const has = (name: string) => params.some((p) => p === name || p.startsWith(`${name}=`));
  const serverBits = params.find((p) => p.startsWith("server_max_window_bits="));
  const offeredServerBits = serverBits === undefined ? 15 : Number(serverBits.split("=")[1]);
  const base: string[] = [];
  if (has("server_no_context_takeover")) base.push("server_no_context_takeover");
  if (serverBits !== undefined) base.push(`server_max_window_bits=${offeredServerBits}`);
  const variants = [base];
  variants.push([...base, "client_no_context_takeover"]);
  if (!has("server_no_context_takeover")) variants.push([...base, "server_no_context_takeover"]);
  if (offeredServerBits > 9) variants.push([...base.filter((p) => !p.startsWith("server_max")), "server_max_window_bits=9"]);
  if (has("client_max_window_bits")) {
    variants.push([...base, "client_max_window_bits=8"]);
    variants.push([...base, "client_no_context_takeover", "client_max_window_bits=10"]);
  }
  return variants.map((v) => ["permessage-deflate", ...v].join("; "));
}

const CLIENT_CONFIGS: Array<[string, PerMessageDeflateOptions]> = [
  ["default", {}],
  ["client no context takeover", { clientNoContextTakeover: true }],
  ["asks server no context takeover", { serverNoContextTakeover: true }],
  ["client window 8", { clientMaxWindowBits: 8 }],
  ["asks server window 8", { serverMaxWindowBits: 8 }],
  ["windows 10/12, no client_max_window_bits offered", { clientMaxWindowBits: false, serverMaxWindowBits: 12 }],
  ["everything", { clientNoContextTakeover: true, serverNoContextTakeover: true, clientMaxWindowBits: 9, serverMaxWindowBits: 10 }],
];

describe("13 permessage-deflate parameter pairs, client under test", () => {
  describe.each(CLIENT_CONFIGS)("client %s", (_name, config) => {
    const offer = new PerMessageDeflate(config).offer();
    const element = offer === true ? "permessage-deflate" : `permessage-deflate; ${offer}`;
    it.each(responsesTo(element).map((response) => [response] as const))("response %s: both directions", (response) => {
      for (const fragment of [0, 300]) {
        const { session } = exchange("client", config, { response }, parameterMessages(), fragment);
        expect(session.written).toBe(element);
        // The client never compresses with more than it offered, whatever the server allowed.
        if (typeof config.clientMaxWindowBits === "number") {
          const narrow = weSend(session, messagesOf(true, 20000, 1), 0)[0]!;
          expect(narrow.ok).toBe(true);
          expect(narrow.maxDistance).toBeLessThanOrEqual(2 ** Math.min(config.clientMaxWindowBits, session.negotiated.clientMaxWindowBits));
        }
      }
    });
  });

  it.each([
    ["a window larger than offered", { serverMaxWindowBits: 10 }, "permessage-deflate; server_max_window_bits=12"],
    ["client_max_window_bits not offered", { clientMaxWindowBits: false }, "permessage-deflate; client_max_window_bits=10"],
    ["an unknown parameter", {}, "permessage-deflate; x_foo"],
    ["server_no_context_takeover asked and not granted", { serverNoContextTakeover: true }, "permessage-deflate"],
    ["a window out of range", {}, "permessage-deflate; client_max_window_bits=16"],
  ] as const)("an invalid response (%s) fails the handshake (RFC 7692 §5)", (_name, config, response) => {
    const conn = new WSConnection(ConnectionType.CLIENT);
    const head = conn.send(new Request({ host: "h", target: "/", extensions: [new PerMessageDeflate(config)] }));
    const key = headerValue(head, "sec-websocket-key")!;
    expect(() => conn.receiveData(upgradeResponse(key, [`Sec-WebSocket-Extensions: ${response}`]))).toThrow(RemoteProtocolError);
    expect(conn.state).toBe("CLOSED");
  });
});

// -- RFC 7692 §6 framing rules, both roles ---------------------------------------------------

describe.each(ROLES)("permessage-deflate framing rules, %s receiving", (role) => {
  const session = () => deflateSession(role, {}, role === "server" ? { offer: "permessage-deflate" } : { response: "permessage-deflate" });
  const text = (s: string): TestMessage => ({ binary: false, data: bytes(s) });

  it.each([
    ["ping", OP.PING],
    ["pong", OP.PONG],
    ["close", OP.CLOSE],
  ])("RSV1 on a %s frame: 1002", (_name, opcode) => {
    const { conn } = session();
    const events = deliver(conn, peerFrame(role, { opcode, rsv: RSV1, payload: opcode === OP.CLOSE ? closeBody(1000) : "x" }));
    expect(codes(summarize(events))).toEqual([FAIL(1002)]);
    expectFailure(role, conn, events, 1002);
  });

  it("RSV1 on a continuation frame: 1002", () => {
    const s = session();
    const payload = s.peerDeflater.message(bytes("Hello, deflate"));
    const events = deliver(s.conn, peerFrames(role, { opcode: OP.TEXT, rsv: RSV1, payload: payload.subarray(0, 3), fin: false }, { opcode: OP.CONT, rsv: RSV1, payload: payload.subarray(3) }));
    expect(codes(summarize(events)).at(-1)).toEqual(FAIL(1002));
    expectFailure(role, s.conn, events, 1002);
  });

  it.each([
    ["RSV2", RSV2],
    ["RSV3", RSV3],
    ["RSV1|RSV2", RSV1 | RSV2],
  ])("%s on a data frame (only RSV1 is negotiated): 1002", (_name, rsv) => {
    const s = session();
    const events = deliver(s.conn, peerFrame(role, { opcode: OP.TEXT, rsv, payload: s.peerDeflater.message(bytes("x")) }));
    expect(codes(summarize(events))).toEqual([FAIL(1002)]);
    expectFailure(role, s.conn, events, 1002);
  });

  it.each([
    ["reserved block type 3", Uint8Array.of(0x07, 0x00)],
    ["stored block whose LEN and NLEN disagree", Uint8Array.of(0x00, 0x05, 0x00, 0x00, 0x00, 0x61)],
    ["garbage", pseudoRandomBytes(64, 3)],
  ])("corrupt compressed data (%s): 1007", (_name, payload) => {
    const { conn } = session();
    const events = deliver(conn, peerFrame(role, { opcode: OP.BINARY, rsv: RSV1, payload }));
    expect(codes(summarize(events))).toEqual([FAIL(1007)]);
    expectFailure(role, conn, events, 1007);
  });

  it("uncompressed messages (RSV1 clear) between compressed ones are delivered as sent; context carries over them", () => {
    const s = session();
    const m1 = text("compressed one, compressed one");
    const m3 = text("compressed one again, compressed one again");
    const wire = concatAll([
      peerFrame(role, { opcode: OP.TEXT, rsv: RSV1, payload: s.peerDeflater.message(m1.data) }),
      peerFrame(role, { opcode: OP.BINARY, payload: [0x00, 0x00, 0xff, 0xff] }),
      peerFrame(role, { opcode: OP.TEXT, payload: "plain text" }),
      peerFrame(role, { opcode: OP.TEXT, rsv: RSV1, payload: s.peerDeflater.message(m3.data) }),
    ]);
    expect(summarize(deliver(s.conn, wire, 5))).toEqual([
      T("compressed one, compressed one"),
      B(Uint8Array.of(0, 0, 0xff, 0xff)),
      T("plain text"),
      T("compressed one again, compressed one again"),
    ]);
  });

  it("control frames between the fragments of a compressed message (RFC 7692 §6.1)", () => {
    const s = session();
    const payload = s.peerDeflater.message(bytes("fragmented and compressed ".repeat(20)));
    const third = Math.floor(payload.length / 3);
    const wire = peerFrames(
      role,
      { opcode: OP.TEXT, rsv: RSV1, payload: payload.subarray(0, third), fin: false },
      { opcode: OP.PING, payload: "p1" },
      { opcode: OP.CONT, payload: payload.subarray(third, 2 * third), fin: false },
      { opcode: OP.PONG, payload: "p2" },
      { opcode: OP.CONT, payload: payload.subarray(2 * third) },
      { opcode: OP.CLOSE, payload: closeBody(1000) },
    );
    const events = deliver(s.conn, wire, 7);
    expect(summarize(events)).toEqual([PING("p1"), { pong: "7032" }, T("fragmented and compressed ".repeat(20)), CLOSE(1000)]);
    expectCleanClose(role, s.conn, events, 1000);
  });

  it("a message that ends with a BFINAL block does not break the next one", () => {
    const s = session();
    const finishing = new ReferenceDeflater(15, false, true);
    const wire = concatAll([
      peerFrame(role, { opcode: OP.TEXT, rsv: RSV1, payload: finishing.message(bytes("first, finished with BFINAL")) }),
      peerFrame(role, { opcode: OP.TEXT, rsv: RSV1, payload: finishing.message(bytes("second, also finished")) }),
      peerFrame(role, { opcode: OP.TEXT, rsv: RSV1, payload: new ReferenceDeflater(15, false).message(bytes("third, sync-flushed")) }),
    ]);
    expect(summarize(deliver(s.conn, wire))).toEqual([T("first, finished with BFINAL"), T("second, also finished"), T("third, sync-flushed")]);
  });

  it("an empty compressed message (one empty stored block's first octet) is an empty message", () => {
    const { conn } = session();
    expect(summarize(deliver(conn, peerFrame(role, { opcode: OP.TEXT, rsv: RSV1, payload: [0x00] })))).toEqual([T("")]);
  });

  it("compressed text that inflates to invalid UTF-8: 1007", () => {
    const s = session();
    const events = deliver(s.conn, peerFrame(role, { opcode: OP.TEXT, rsv: RSV1, payload: s.peerDeflater.message(Uint8Array.of(0x48, 0x69, 0xed, 0xa0, 0x80)) }));
    expect(codes(summarize(events))).toEqual([FAIL(1007)]);
    expectFailure(role, s.conn, events, 1007);
  });

  it("compressed text split inside a code point across fragments is reassembled", () => {
    const s = session();
    const textValue = "é中😀".repeat(50);
    const payload = s.peerDeflater.message(bytes(textValue));
    const specs = Array.from({ length: payload.length }, (_, i) => ({ opcode: i === 0 ? OP.TEXT : OP.CONT, rsv: i === 0 ? RSV1 : 0, payload: payload.subarray(i, i + 1), fin: i === payload.length - 1 }));
    expect(summarize(deliver(s.conn, peerFrames(role, ...specs), 3))).toEqual([T(textValue)]);
  });

  it("our small messages under the threshold (default 1024 bytes) go uncompressed; larger ones compressed", () => {
    const s = deflateSession(role, { threshold: 1024 }, role === "server" ? { offer: "permessage-deflate" } : { response: "permessage-deflate" });
    const small = weSend({ ...s, peerInflater: { message: () => ({ data: new Uint8Array(0), maxDistance: 0, final: false }) } as never }, [text("tiny")], 0);
    expect(small[0]!.problem).toMatch(/RSV 0/);
    expect(weSend(s, messagesOf(false, 2048, 2), 0).every((r) => r.ok)).toBe(true);
  });
});

describe("the reference peer catches a compressor that breaks the negotiated parameters", () => {
  // These prove the checks above can fail: engines that ignore what was negotiated.
  const wideEngine: DeflateEngine = { ...pakoEngine, name: "wide", createDeflater: (_bits, memLevel, level) => pakoEngine.createDeflater(15, memLevel, level) };
  const stickyEngine: DeflateEngine = {
    ...pakoEngine,
    name: "sticky",
    createDeflater: (bits, memLevel, level) => {
      const deflater = pakoEngine.createDeflater(bits, memLevel, level);
      return { push: (data, flush) => deflater.push(data, flush), reset: () => {} };
    },
  };
  const repeated = (): TestMessage[] => [messagesOf(true, 6000, 1)[0]!, messagesOf(true, 6000, 1)[0]!];

  it.each(ROLES)("%s: a window wider than negotiated is refused by the reference inflater", (role) => {
    const peer = role === "server" ? { offer: "permessage-deflate; server_max_window_bits=8" } : { response: "permessage-deflate; client_max_window_bits=8" };
    const ours = role === "server" ? { engine: wideEngine } : { engine: wideEngine, clientMaxWindowBits: 8 };
    const session = deflateSession(role, ours, peer);
    const results = weSend(session, messagesOf(true, 20000, 1), 0);
    expect(results[0]!.problem).toMatch(/beyond the 256-byte window/);
  });

  it.each(ROLES)("%s: context kept across messages despite no_context_takeover is refused", (role) => {
    const peer = role === "server" ? { offer: "permessage-deflate; server_no_context_takeover" } : { response: "permessage-deflate; client_no_context_takeover" };
    const session = deflateSession(role, { engine: stickyEngine }, peer);
    const results = weSend(session, repeated(), 0);
    expect(results[0]!.ok).toBe(true);
    expect(results[1]!.problem).toMatch(/before the available history/);
  });
});

describe.each(ROLES)("which failure wins does not depend on chunking, %s receiving", (role) => {
  // With an extension negotiated the size is counted after the extension, piece by piece; the
  // first problem in stream order must be the one reported, however the bytes were chunked.
  const session = () => deflateSession(role, {}, role === "server" ? { offer: "permessage-deflate" } : { response: "permessage-deflate" }, { maxMessageSize: 8 });
  it.each([
    ["invalid UTF-8 within the limit, then too big: 1007", concatAll([Uint8Array.of(0x61, 0xff), new Uint8Array(20).fill(0x61)]), 1007],
    ["valid UTF-8 up to the limit, invalid after it: 1009", concatAll([new Uint8Array(8).fill(0x61), Uint8Array.of(0xff, 0x61)]), 1009],
  ] as const)("an uncompressed text message, %s", (_name, payload, code) => {
    for (const chunking of ["whole", "bytes", 5] as const) {
      const { conn } = session();
      const events = deliver(conn, peerFrame(role, { opcode: OP.TEXT, payload }), chunking);
      expect(codes(summarize(events)).filter((s) => !("partialText" in s)), `chunking ${chunking}`).toEqual([FAIL(code)]);
    }
  });
});
