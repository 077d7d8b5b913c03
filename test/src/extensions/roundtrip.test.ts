/**
 * permessage-deflate through its hooks, as the frame encoder and decoder drive them: round trips
 * for every parameter combination, the RSV1 rules, fragmentation with control frames in between,
 * empty messages, the RFC 7692 §7.2.3 examples, peers that end messages with a final block,
 * corrupt data (1007) and the size budget (1009).
 */
import {
  ZStream,
  zlibDeflate,
  zlibDeflateInit2,
  zlibDeflateResetKeep,
  Z_DEFAULT_STRATEGY,
  Z_FINISH,
  Z_SYNC_FLUSH,
} from "pako";
import * as zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { NO_RSV_BITS, Opcode, ParseFailed } from "../../../codec/frame.js";
import { PerMessageDeflate, type PerMessageDeflateOptions } from "../../../src/extensions/permessage-deflate.js";
import {
  compressibleText,
  concat,
  HookDecoder,
  negotiate,
  ping,
  randomBytes,
  sameBytes,
  sendMessage,
  split,
  strictInflate,
  te,
  td,
  type WireFrame,
} from "./helpers.js";

const RSV1 = { rsv1: true, rsv2: false, rsv3: false };

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.trim().split(/\s+/).map((h) => Number.parseInt(h, 16)));
}

/** A peer's compressed frame (first frame of a message, RSV1 set). */
function compressedFrame(payload: Uint8Array, fin = true, opcode: Opcode = Opcode.TEXT): WireFrame {
  return { opcode, rsv: RSV1, payload, fin };
}

function receiver(options: PerMessageDeflateOptions = {}, maxMessageSize?: number, pieceSize?: number): { pmd: PerMessageDeflate; dec: HookDecoder } {
  // A client that accepted a plain response: server_max_window_bits 15, context takeover.
  const pmd = new PerMessageDeflate(options);
  pmd.finalize("permessage-deflate");
  return { pmd, dec: new HookDecoder(pmd, maxMessageSize, pieceSize) };
}

function expectBytes(actual: Uint8Array | Uint8Array[], expected: Uint8Array | Uint8Array[]): void {
  if (!sameBytes(actual, expected)) expect(actual).toEqual(expected);
}

function expectParseFailed(fn: () => unknown, code: number, message?: string): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ParseFailed);
  expect((error as ParseFailed).code).toBe(code);
  if (message !== undefined) expect((error as ParseFailed).message).toContain(message);
}

/** The messages one side sends in the round trips: compressed (threshold 0) unless noted. */
function workload(seed: number): Array<{ opcode: typeof Opcode.TEXT | typeof Opcode.BINARY; fragments: Uint8Array[]; pings: boolean }> {
  const text = compressibleText(5000, seed, 4000);
  const json = te.encode(JSON.stringify({ seq: seed, items: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `item-${i}`, ok: i % 3 === 0 })) }));
  return [
    { opcode: Opcode.TEXT, fragments: [text], pings: false },
    { opcode: Opcode.TEXT, fragments: [json], pings: false },
    { opcode: Opcode.BINARY, fragments: [new Uint8Array(0)], pings: false },
    { opcode: Opcode.TEXT, fragments: split(text, 1500, 1, 0, 2000), pings: true },
    { opcode: Opcode.BINARY, fragments: [randomBytes(2000, seed)], pings: false },
    { opcode: Opcode.TEXT, fragments: [json], pings: false },
    { opcode: Opcode.BINARY, fragments: split(json, 100, 0), pings: true },
  ];
}

function roundTrip(
  sender: PerMessageDeflate,
  receiverExt: PerMessageDeflate,
  windowBits: number,
  noContextTakeover: boolean,
  seed: number,
): void {
  const dec = new HookDecoder(receiverExt, 1 << 20, 777, seed % 2 === 0);
  const payloads: Uint8Array[] = [];
  const messages = workload(seed);
  for (const message of messages) {
    const frames = sendMessage(sender, message.opcode, message.fragments, message.pings ? () => [ping()] : undefined);
    const data = frames.filter((f) => f.opcode < 0x8);
    // RSV1 on the first frame only (RFC 7692 §6.1); never on control frames.
    expect(data[0]!.rsv.rsv1).toBe(true);
    for (const f of data.slice(1)) expect(f.rsv.rsv1).toBe(false);
    for (const f of frames.filter((f) => f.opcode >= 0x8)) expect(f.rsv).toEqual(NO_RSV_BITS);
    payloads.push(concat(data.map((f) => f.payload)));
    dec.receive(frames);
  }
  expect(dec.messages.map((m) => m.opcode)).toEqual(messages.map((m) => m.opcode));
  dec.messages.forEach((m, i) => expectBytes(m.data, concat(messages[i]!.fragments)));
  // Windows honoured: every message inflates through a strict inflater with the negotiated
  // window; with no context takeover, every message inflates on its own.
  const strict = strictInflate(payloads, windowBits, noContextTakeover);
  strict.forEach((m, i) => expectBytes(m, concat(messages[i]!.fragments)));
}

describe("round trips for every parameter combination (both directions)", () => {
  const combos: Array<[boolean, boolean, number, number]> = [];
  for (const clientNoContextTakeover of [false, true])
    for (const serverNoContextTakeover of [false, true])
      for (let clientBits = 8; clientBits <= 15; clientBits++)
        for (let serverBits = 8; serverBits <= 15; serverBits++) combos.push([clientNoContextTakeover, serverNoContextTakeover, clientBits, serverBits]);

  it.each(combos)("client_no_context_takeover=%s server_no_context_takeover=%s client_max_window_bits=%i server_max_window_bits=%i", (cnc, snc, cb, sb) => {
    const { client, server } = negotiate(
      { clientNoContextTakeover: cnc, serverNoContextTakeover: snc, clientMaxWindowBits: cb, serverMaxWindowBits: sb, threshold: 0 },
      { threshold: 0 },
    );
    expect(client.negotiated).toEqual({ clientNoContextTakeover: cnc, serverNoContextTakeover: snc, clientMaxWindowBits: cb, serverMaxWindowBits: sb });
    roundTrip(client, server, cb, cnc, cb * 16 + sb);
    roundTrip(server, client, sb, snc, sb * 16 + cb + 1);
  });
});

describe("large windows are used, and only as negotiated", () => {
  it.each([12, 13, 14, 15])("%i bits, with back-references up to 30000 bytes", (bits) => {
    const { client, server } = negotiate({ threshold: 0, clientMaxWindowBits: bits, serverMaxWindowBits: bits }, { threshold: 0 });
    const big = compressibleText(60_000, bits, 30_000);
    for (const [from, to] of [[client, server], [server, client]] as const) {
      const frames = [...sendMessage(from, Opcode.BINARY, [big]), ...sendMessage(from, Opcode.BINARY, split(big, 20_000))];
      const dec = new HookDecoder(to, 1 << 20, 4096).receive(frames);
      expectBytes(dec.messages.map((m) => m.data), [big, big]);
      const payloads = [frames[0]!.payload, concat([frames[1]!.payload, frames[2]!.payload])];
      expectBytes(strictInflate(payloads, bits, false), [big, big]);
      if (bits < 15) expect(() => strictInflate(payloads, bits - 1, false)).toThrow("too far back");
    }
  });
});

describe("context takeover", () => {
  it("with context takeover a repeated message compresses to a few bytes; without, it does not", () => {
    const message = compressibleText(3000, 3);
    const sizes = (options: PerMessageDeflateOptions): number[] => {
      const { client } = negotiate({ ...options, threshold: 0 }, {});
      return [0, 1, 2].map(() => sendMessage(client, Opcode.BINARY, [message])[0]!.payload.length);
    };
    const takeover = sizes({});
    expect(takeover[1]).toBeLessThan(takeover[0]! / 10);
    expect(takeover[2]).toBeLessThan(takeover[0]! / 10);
    const none = sizes({ clientNoContextTakeover: true });
    expect(none[1]).toBe(none[0]);
    expect(none[2]).toBe(none[0]);
  });

  it("a server forgets between messages when the client asked (server_no_context_takeover)", () => {
    const { client, server } = negotiate({ serverNoContextTakeover: true, threshold: 0 }, { threshold: 0 });
    const message = compressibleText(3000, 4);
    const a = sendMessage(server, Opcode.BINARY, [message]);
    const b = sendMessage(server, Opcode.BINARY, [message]);
    expectBytes(b[0]!.payload, a[0]!.payload);
    const dec = new HookDecoder(client).receive([...a, ...b]);
    expectBytes(dec.messages.map((m) => m.data), [message, message]);
  });

  it("uncompressed messages between compressed ones leave the compression state alone", () => {
    const { client, server } = negotiate({ threshold: 100 }, {});
    const big = compressibleText(3000, 5);
    const small = te.encode("tiny");
    const frames = [big, small, big, small, big].flatMap((m) => sendMessage(client, Opcode.TEXT, [m]));
    expect(frames.map((f) => f.rsv.rsv1)).toEqual([true, false, true, false, true]);
    expect(frames[1]!.payload).toEqual(small);
    const dec = new HookDecoder(server).receive(frames);
    expect(dec.messages.map((m) => td.decode(m.data))).toEqual([big, small, big, small, big].map((m) => td.decode(m)));
  });
});

describe("RSV1 and the threshold (RFC 7692 §6)", () => {
  it("messages below the threshold go uncompressed, at or above it compressed", () => {
    const { client } = negotiate({ threshold: 10 }, {});
    const below = te.encode("123456789");
    const at = te.encode("1234567890");
    const r1 = client.frameOutbound(Opcode.TEXT, NO_RSV_BITS, below, true);
    expect(r1).toEqual({ rsv: NO_RSV_BITS, data: below });
    const r2 = client.frameOutbound(Opcode.TEXT, NO_RSV_BITS, at, true);
    expect(r2.rsv.rsv1).toBe(true);
  });

  it("the default threshold is 1024 bytes", () => {
    const { client } = negotiate({}, {});
    expect(client.frameOutbound(Opcode.BINARY, NO_RSV_BITS, new Uint8Array(1023), true).rsv.rsv1).toBe(false);
    expect(client.frameOutbound(Opcode.BINARY, NO_RSV_BITS, new Uint8Array(1024), true).rsv.rsv1).toBe(true);
  });

  it("a streamed message (first frame without fin) is compressed whatever its first frame's size", () => {
    const { client, server } = negotiate({}, {});
    const frames = sendMessage(client, Opcode.TEXT, [te.encode("a"), te.encode("b"), te.encode("c")]);
    expect(frames.map((f) => [f.opcode, f.rsv.rsv1, f.fin])).toEqual([
      [Opcode.TEXT, true, false],
      [Opcode.CONTINUATION, false, false],
      [Opcode.CONTINUATION, false, true],
    ]);
    expect(td.decode(new HookDecoder(server).receive(frames).messages[0]!.data)).toBe("abc");
  });

  it("an uncompressed streamed message stays uncompressed in its continuation frames", () => {
    const { client } = negotiate({ threshold: 1 << 30 }, {});
    // threshold never reached, but streamed messages are compressed: check the whole-message path
    const r = client.frameOutbound(Opcode.TEXT, NO_RSV_BITS, te.encode("x"), true);
    expect(r.rsv.rsv1).toBe(false);
  });

  it("control frames are never compressed", () => {
    const { client } = negotiate({ threshold: 0 }, {});
    const payload = te.encode("ping!");
    for (const opcode of [Opcode.PING, Opcode.PONG, Opcode.CLOSE]) {
      expect(client.frameOutbound(opcode, NO_RSV_BITS, payload, true)).toEqual({ rsv: NO_RSV_BITS, data: payload });
    }
  });

  it("fails (1002) an inbound control frame with RSV1", () => {
    const { pmd } = receiver();
    for (const opcode of [Opcode.PING, Opcode.PONG, Opcode.CLOSE]) {
      expectParseFailed(() => pmd.frameInboundHeader(opcode, RSV1, 0), 1002, "control frame");
    }
  });

  it("fails (1002) an inbound continuation frame with RSV1", () => {
    const { pmd } = receiver();
    pmd.frameInboundHeader(Opcode.TEXT, RSV1, 3);
    expectParseFailed(() => pmd.frameInboundHeader(Opcode.CONTINUATION, RSV1, 3), 1002, "continuation frame");
  });

  it("claims RSV1 only when it is set on a data frame", () => {
    const { pmd } = receiver();
    expect(pmd.frameInboundHeader(Opcode.TEXT, RSV1, 1)).toEqual(RSV1);
    expect(pmd.frameInboundHeader(Opcode.TEXT, NO_RSV_BITS, 1)).toEqual(NO_RSV_BITS);
    expect(pmd.frameInboundHeader(Opcode.PING, NO_RSV_BITS, 1)).toEqual(NO_RSV_BITS);
  });

  it("a message whose first frame has RSV1 clear passes through unchanged", () => {
    const { dec } = receiver();
    const data = te.encode("plain text, not deflate");
    dec.receive([{ opcode: Opcode.TEXT, rsv: NO_RSV_BITS, payload: data, fin: false }, { opcode: Opcode.CONTINUATION, rsv: NO_RSV_BITS, payload: data, fin: true }]);
    expect(dec.messages[0]!.data).toEqual(concat([data, data]));
  });

  it("does nothing before negotiation", () => {
    const pmd = new PerMessageDeflate({ threshold: 0 });
    const data = te.encode("hello hello hello");
    expect(pmd.frameOutbound(Opcode.TEXT, NO_RSV_BITS, data, true)).toEqual({ rsv: NO_RSV_BITS, data });
    expect(pmd.frameInboundHeader(Opcode.TEXT, RSV1, 3)).toEqual(NO_RSV_BITS);
    expect(pmd.frameInboundPayloadData(data, 100)).toBe(data);
  });
});

describe("fragments and control frames (README, Differences from wsproto #11)", () => {
  it.each([false, true])("a control frame between fragments does not change the message's compression (control payload through hooks: %s)", (controlThroughHooks) => {
    const { client, server } = negotiate({ threshold: 0 }, {});
    const text = compressibleText(5000, 11);
    const frames = sendMessage(client, Opcode.TEXT, split(text, 1000, 2000), () => [ping(te.encode("between"))]);
    expect(frames.map((f) => f.opcode)).toEqual([Opcode.TEXT, Opcode.PING, Opcode.CONTINUATION, Opcode.PING, Opcode.CONTINUATION]);
    const dec = new HookDecoder(server, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, controlThroughHooks).receive(frames);
    expectBytes(dec.messages[0]!.data, text);
    expect(dec.controls.map((c) => td.decode(c.payload))).toEqual(["between", "between"]);
    // and the next message still decodes
    dec.receive(sendMessage(client, Opcode.TEXT, [text]));
    expectBytes(dec.messages[1]!.data, text);
  });

  it("an uncompressed fragmented message with pings between stays uncompressed", () => {
    const { dec } = receiver();
    const a = te.encode("abc");
    dec.receive([
      { opcode: Opcode.BINARY, rsv: NO_RSV_BITS, payload: a, fin: false },
      ping(),
      { opcode: Opcode.CONTINUATION, rsv: NO_RSV_BITS, payload: a, fin: true },
    ]);
    expect(dec.messages[0]!.data).toEqual(concat([a, a]));
  });

  it("each fragment inflates as it arrives (fragments are sync-flushed)", () => {
    const { client, server } = negotiate({ threshold: 0 }, {});
    const first = te.encode("first part of the message; ");
    const [f1] = sendMessage(client, Opcode.TEXT, [first, te.encode("rest")]);
    server.frameInboundHeader(Opcode.TEXT, f1!.rsv, f1!.payload.length);
    expect(td.decode(server.frameInboundPayloadData(f1!.payload, 1000))).toBe(td.decode(first));
  });

  it("empty fragments, and an empty last fragment, are fine", () => {
    const { client, server } = negotiate({ threshold: 0 }, {});
    const frames = sendMessage(client, Opcode.TEXT, [new Uint8Array(0), te.encode("x"), new Uint8Array(0), new Uint8Array(0)]);
    const dec = new HookDecoder(server).receive(frames);
    expect(td.decode(dec.messages[0]!.data)).toBe("x");
    dec.receive(sendMessage(client, Opcode.TEXT, [te.encode("next")]));
    expect(td.decode(dec.messages[1]!.data)).toBe("next");
  });

  it("payload fed one byte at a time", () => {
    const { client, server } = negotiate({ threshold: 0 }, {});
    const text = compressibleText(4000, 12);
    const dec = new HookDecoder(server, Number.POSITIVE_INFINITY, 1);
    dec.receive(sendMessage(client, Opcode.TEXT, [text]));
    dec.receive(sendMessage(client, Opcode.TEXT, split(text, 10, 10)));
    expectBytes(dec.messages.map((m) => m.data), [text, text]);
  });
});

describe("empty messages", () => {
  it("an empty compressed message is the single octet 00 (RFC 7692 §7.2.3.6), again and again", () => {
    const { client, server } = negotiate({ threshold: 0 }, {});
    const frames = [0, 1, 2].flatMap(() => sendMessage(client, Opcode.BINARY, [new Uint8Array(0)]));
    for (const f of frames) {
      expect(f.rsv.rsv1).toBe(true);
      expect(f.payload).toEqual(Uint8Array.of(0));
    }
    const dec = new HookDecoder(server).receive(frames);
    dec.receive(sendMessage(client, Opcode.TEXT, [te.encode("after")]));
    expect(dec.messages.map((m) => m.data.length)).toEqual([0, 0, 0, 5]);
  });

  it("an empty compressed message between others, with and without context takeover", () => {
    for (const clientNoContextTakeover of [false, true]) {
      const { client, server } = negotiate({ threshold: 0, clientNoContextTakeover }, {});
      const m = te.encode("some message some message");
      const frames = [m, new Uint8Array(0), m, new Uint8Array(0), m].flatMap((x) => sendMessage(client, Opcode.TEXT, [x]));
      const dec = new HookDecoder(server).receive(frames);
      expect(dec.messages.map((x) => td.decode(x.data))).toEqual(["some message some message", "", "some message some message", "", "some message some message"]);
    }
  });

  it("accepts a compressed message with an entirely empty payload (some peers send it) as empty", () => {
    const { dec } = receiver();
    dec.receive([compressedFrame(hex("f2 48 cd c9 c9 07 00")), compressedFrame(new Uint8Array(0)), compressedFrame(hex("f2 00 11 00 00"))]);
    expect(dec.messages.map((m) => td.decode(m.data))).toEqual(["Hello", "", "Hello"]);
  });
});

describe("RFC 7692 §7.2.3 examples", () => {
  it("§7.2.3.1 a message compressed in one frame", () => {
    const { dec } = receiver();
    dec.receive([compressedFrame(hex("f2 48 cd c9 c9 07 00"))]);
    expect(td.decode(dec.messages[0]!.data)).toBe("Hello");
  });

  it("§7.2.3.1 the same message fragmented", () => {
    const { dec } = receiver();
    dec.receive([
      compressedFrame(hex("f2 48 cd"), false),
      { opcode: Opcode.CONTINUATION, rsv: NO_RSV_BITS, payload: hex("c9 c9 07 00"), fin: true },
    ]);
    expect(td.decode(dec.messages[0]!.data)).toBe("Hello");
  });

  it("§7.2.3.2 sharing the LZ77 window between messages", () => {
    const { dec } = receiver();
    dec.receive([compressedFrame(hex("f2 48 cd c9 c9 07 00")), compressedFrame(hex("f2 00 11 00 00"))]);
    expect(dec.messages.map((m) => td.decode(m.data))).toEqual(["Hello", "Hello"]);
  });

  it("§7.2.3.3 a DEFLATE block with no compression", () => {
    const { dec } = receiver();
    dec.receive([compressedFrame(hex("00 05 00 fa ff 48 65 6c 6c 6f 00"))]);
    expect(td.decode(dec.messages[0]!.data)).toBe("Hello");
  });

  it("§7.2.3.4 a DEFLATE block with BFINAL set to 1, then more messages (README, Differences from wsproto #11)", () => {
    const { dec } = receiver();
    dec.receive([
      compressedFrame(hex("f3 48 cd c9 c9 07 00 00")),
      compressedFrame(hex("f2 48 cd c9 c9 07 00")),
      compressedFrame(hex("f3 48 cd c9 c9 07 00 00")),
      compressedFrame(hex("f2 00 11 00 00")),
    ]);
    expect(dec.messages.map((m) => td.decode(m.data))).toEqual(["Hello", "Hello", "Hello", "Hello"]);
  });

  it("§7.2.3.5 two DEFLATE blocks in one message", () => {
    const { dec } = receiver();
    dec.receive([compressedFrame(hex("f2 48 05 00 00 00 ff ff ca c9 c9 07 00"))]);
    expect(td.decode(dec.messages[0]!.data)).toBe("Hello");
  });
});

/** A peer that ends every message with a final block (Z_FINISH) and keeps its window (resetKeep). */
function bfinalPeer(messages: Uint8Array[], withPadOctet: boolean): Uint8Array[] {
  const strm = new ZStream();
  zlibDeflateInit2(strm, 6, 8, -15, 8, Z_DEFAULT_STRATEGY);
  return messages.map((m) => {
    const out = new Uint8Array(m.length + 1024);
    strm.input = m;
    strm.next_in = 0;
    strm.avail_in = m.length;
    strm.output = out;
    strm.next_out = 0;
    strm.avail_out = out.length;
    zlibDeflate(strm, Z_FINISH);
    const payload = out.slice(0, strm.next_out);
    zlibDeflateResetKeep(strm);
    return withPadOctet ? concat([payload, Uint8Array.of(0)]) : payload;
  });
}

describe("peers that end messages with a final block (README, Differences from wsproto #11)", () => {
  it.each([false, true])("later messages still decode, and may refer to earlier ones (pad octet: %s)", (pad) => {
    const m1 = compressibleText(5000, 21);
    const m2 = concat([m1.subarray(100, 3000), te.encode("fresh"), m1.subarray(0, 2000)]);
    const m3 = te.encode("a short one");
    const payloads = bfinalPeer([m1, m2, m3, m1], pad);
    // m2 and the second m1 refer back into m1: much smaller than they would be on their own
    expect(payloads[3]!.length).toBeLessThan(payloads[0]!.length / 4);
    for (const pieceSize of [Number.POSITIVE_INFINITY, 7]) {
      const { dec } = receiver({}, undefined, pieceSize);
      dec.receive(payloads.map((p) => compressedFrame(p)));
      expectBytes(dec.messages.map((m) => m.data), [m1, m2, m3, m1]);
    }
  });

  it("a final block followed by more blocks within one message", () => {
    const strm = new ZStream();
    zlibDeflateInit2(strm, 6, 8, -15, 8, Z_DEFAULT_STRATEGY);
    const out = new Uint8Array(4096);
    strm.output = out;
    strm.next_out = 0;
    strm.avail_out = out.length;
    const a = te.encode("first stream, ");
    strm.input = a;
    strm.next_in = 0;
    strm.avail_in = a.length;
    zlibDeflate(strm, Z_FINISH);
    zlibDeflateResetKeep(strm);
    const b = te.encode("second stream refers to the first stream");
    strm.input = b;
    strm.next_in = 0;
    strm.avail_in = b.length;
    zlibDeflate(strm, Z_SYNC_FLUSH);
    const payload = out.slice(0, strm.next_out - 4);
    const { dec } = receiver();
    dec.receive([compressedFrame(payload)]);
    expect(td.decode(dec.messages[0]!.data)).toBe("first stream, second stream refers to the first stream");
  });
});

describe("corrupt data fails the connection with 1007", () => {
  it("an invalid block type", () => {
    const { dec } = receiver();
    expectParseFailed(() => dec.receive([compressedFrame(hex("ff ff ff ff"))]), 1007, "invalid block type");
  });

  it("invalid stored block lengths", () => {
    const { dec } = receiver();
    expectParseFailed(() => dec.receive([compressedFrame(hex("00 05 00 00 00 48 65 6c 6c 6f"))]), 1007);
  });

  it("a message that does not end on a block boundary", () => {
    const { dec } = receiver();
    // "Hello" cut short in the middle of its block
    expectParseFailed(() => dec.receive([compressedFrame(hex("f2 48 cd c9"))]), 1007);
  });

  it("a block cut short by the next message is still refused, whatever its tail", () => {
    const { dec } = receiver();
    // "Hello" cut short in its block, then the 00 00 ff ff that a stripped tail would need.
    expectParseFailed(() => dec.receive([compressedFrame(hex("f2 48 cd c9 00 00 ff ff"))]), 1007);
  });

  it("a peer that refers beyond the negotiated window", () => {
    // We (client) limited the server to 9 bits; the peer deflates with 15 and refers 1000 bytes back.
    const pmd = new PerMessageDeflate({ serverMaxWindowBits: 9 });
    pmd.finalize("permessage-deflate; server_max_window_bits=9");
    const filler = randomBytes(1000, 5);
    const payloads = bfinalPeer([filler, filler], false); // message 2 = a match 1000 bytes back
    const dec = new HookDecoder(pmd);
    expectParseFailed(() => dec.receive(payloads.map((p) => compressedFrame(p))), 1007, "too far back");
  });
});

describe("the size budget (maxMessageSize) fails with 1009", () => {
  const message = compressibleText(50_000, 31);

  it("a message of exactly maxMessageSize passes; one byte more fails", () => {
    for (const pieceSize of [Number.POSITIVE_INFINITY, 100]) {
      const { client, server } = negotiate({ threshold: 0 }, {});
      new HookDecoder(server, message.length, pieceSize).receive(sendMessage(client, Opcode.BINARY, [message]));
      const other = negotiate({ threshold: 0 }, {});
      const dec = new HookDecoder(other.server, message.length - 1, pieceSize);
      expectParseFailed(() => dec.receive(sendMessage(other.client, Opcode.BINARY, [message])), 1009, "size limit");
    }
  });

  it("counted across fragments", () => {
    const { client, server } = negotiate({ threshold: 0 }, {});
    const dec = new HookDecoder(server, 60_000);
    expectParseFailed(() => dec.receive(sendMessage(client, Opcode.BINARY, [message, message])), 1009);
  });

  it("a budget of 0 accepts only empty messages", () => {
    const { client, server } = negotiate({ threshold: 0 }, {});
    new HookDecoder(server, 0).receive(sendMessage(client, Opcode.BINARY, [new Uint8Array(0)]));
    const other = negotiate({ threshold: 0 }, {});
    expectParseFailed(() => new HookDecoder(other.server, 0).receive(sendMessage(other.client, Opcode.BINARY, [Uint8Array.of(1)])), 1009);
  });
});

describe("a peer that keeps the 00 00 ff ff tail (zlib, ws and wsproto decode it)", () => {
  // The frame from a server that does not strip the sync-flush octets (RFC 7692 §7.2.1).
  const keptTail = hex("f2 48 cd c9 c9 d7 51 f0 40 a1 52 52 d3 72 12 4b 52 15 01 00 00 00 ff ff");

  it("decodes the message, in any piece size, and the messages after it", () => {
    for (const pieceSize of [Number.POSITIVE_INFINITY, 1, 3, 7]) {
      const { client, server } = negotiate({}, {});
      const dec = new HookDecoder(client, Number.POSITIVE_INFINITY, pieceSize);
      dec.receive([compressedFrame(keptTail), ...sendMessage(server, Opcode.TEXT, [new TextEncoder().encode("after, with context")])]);
      expect(dec.messages.map((message) => new TextDecoder().decode(message.data))).toEqual(["Hello, Hello, Hello, deflate!", "after, with context"]);
    }
  });

  it("matches node:zlib's own decoding of it", () => {
    expect(zlib.inflateRawSync(keptTail, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString()).toBe("Hello, Hello, Hello, deflate!");
  });
});
