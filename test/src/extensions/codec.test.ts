/**
 * permessage-deflate through the real frame codec (codec/frame-encoder.ts → frame-decoder.ts),
 * and through two WSConnections that negotiate it in their handshake.
 */
import { constants as zlibConstants, deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { FrameDecoder } from "../../../codec/frame-decoder.js";
import { FrameEncoder } from "../../../codec/frame-encoder.js";
import { Opcode, ParseFailed, type ClosePayload } from "../../../codec/frame.js";
import { PerMessageDeflate } from "../../../src/extensions/permessage-deflate.js";
import { AcceptConnection, BytesMessage, Request, TextMessage, CloseConnection, type Event } from "../../../src/index.js";
import { openPair } from "../../helpers/pair.js";
import { compressibleText, concat, equalBytes, negotiate, randomBytes, td } from "./helpers.js";

interface Message {
  opcode: number;
  data: string | Uint8Array;
}

/** Decode everything in `bytes`, fed in pieces of `chunk` bytes; whole messages and control frames out. */
function decodeAll(decoder: FrameDecoder, bytes: Uint8Array[], chunk = Number.POSITIVE_INFINITY): Message[] {
  const out: Message[] = [];
  let text = "";
  let binary: Uint8Array[] = [];
  for (const frameBytes of bytes) {
    for (let at = 0; at < frameBytes.length; at += chunk) {
      decoder.receiveBytes(frameBytes.slice(at, Math.min(frameBytes.length, at + chunk)));
      for (let frame = decoder.nextFrame(); frame !== null; frame = decoder.nextFrame()) {
        if (frame.opcode >= 0x8) {
          out.push({ opcode: frame.opcode, data: frame.opcode === Opcode.CLOSE ? (frame.payload as ClosePayload).reason : (frame.payload as Uint8Array) });
          continue;
        }
        if (frame.opcode === Opcode.TEXT) text += frame.payload as string;
        else binary.push(frame.payload as Uint8Array);
        if (frame.messageFinished) {
          out.push({ opcode: frame.opcode, data: frame.opcode === Opcode.TEXT ? text : concat(binary) });
          text = "";
          binary = [];
        }
      }
    }
  }
  return out;
}

function codecPair(maxMessageSize = 1 << 26, threshold = 0): { clientEncoder: FrameEncoder; serverDecoder: FrameDecoder; serverEncoder: FrameEncoder; clientDecoder: FrameDecoder } {
  const { client, server } = negotiate({ threshold }, { threshold });
  return {
    clientEncoder: new FrameEncoder({ client: true, extensions: [client] }),
    serverDecoder: new FrameDecoder({ client: false, maxMessageSize, extensions: [server] }),
    serverEncoder: new FrameEncoder({ client: false, extensions: [server] }),
    clientDecoder: new FrameDecoder({ client: true, maxMessageSize, extensions: [client] }),
  };
}

function expectParseFailed(fn: () => unknown, code: number): ParseFailed {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ParseFailed);
  expect((error as ParseFailed).code).toBe(code);
  return error as ParseFailed;
}

describe("through FrameEncoder and FrameDecoder", () => {
  const text = td.decode(compressibleText(30_000, 9, 20_000)).replace(/\uFFFD/g, "?") + " ünïcødé ✓ 🎉";
  const binary = randomBytes(5000, 2);

  it.each([Number.POSITIVE_INFINITY, 1000, 7])("messages both ways, fragmented with pings between, fed in %s-byte chunks", (chunk) => {
    const p = codecPair();
    for (const [encoder, decoder] of [
      [p.clientEncoder, p.serverDecoder],
      [p.serverEncoder, p.clientDecoder],
    ] as const) {
      const frames = [
        encoder.text(text),
        encoder.binary(binary),
        encoder.text(text.slice(0, 10_000), false),
        encoder.ping(Uint8Array.of(1, 2)),
        encoder.text(text.slice(10_000, 20_000), false),
        encoder.pong(),
        encoder.text(text.slice(20_000), true),
        encoder.text(""),
        encoder.binary(new Uint8Array(0)),
        encoder.text("short"),
        encoder.text(text),
        encoder.close(1000, "bye"),
      ];
      // RSV1 is set on compressed messages' first frames only
      expect(frames.map((f) => (f[0]! & 0x40) !== 0)).toEqual([true, true, true, false, false, false, false, true, true, true, true, false]);
      const got = decodeAll(decoder, frames, chunk);
      expect(got.map((m) => m.opcode)).toEqual([Opcode.TEXT, Opcode.BINARY, Opcode.PING, Opcode.PONG, Opcode.TEXT, Opcode.TEXT, Opcode.BINARY, Opcode.TEXT, Opcode.TEXT, Opcode.CLOSE]);
      expect(got[0]!.data).toBe(text);
      expect(equalBytes(got[1]!.data as Uint8Array, binary)).toBe(true);
      expect(got[4]!.data).toBe(text);
      expect(got[5]!.data).toBe("");
      expect((got[6]!.data as Uint8Array).length).toBe(0);
      expect(got[7]!.data).toBe("short");
      expect(got[8]!.data).toBe(text);
      expect(got[9]!.data).toBe("bye");
    }
  });

  it("compression actually happens on the wire", () => {
    const p = codecPair();
    const frame = p.clientEncoder.text(text);
    expect(frame.length).toBeLessThan(new TextEncoder().encode(text).length / 2);
  });

  it("a control frame with RSV1 fails with 1002", () => {
    const p = codecPair();
    // unmasked server → client ping with RSV1: 0xc9 = FIN | RSV1 | PING
    expectParseFailed(() => decodeAll(p.clientDecoder, [Uint8Array.of(0xc9, 0x00)]), 1002);
  });

  it("a continuation frame with RSV1 fails with 1002", () => {
    const p = codecPair();
    // 0x41: RSV1 | TEXT, not final, "Hel" compressed prefix; then 0xc0: FIN | RSV1 | CONTINUATION
    expectParseFailed(() => decodeAll(p.clientDecoder, [Uint8Array.of(0x41, 0x03, 0xf2, 0x48, 0xcd, 0xc0, 0x04, 0xc9, 0xc9, 0x07, 0x00)]), 1002);
  });

  it("the RFC 7692 examples through the decoder, including BFINAL then more", () => {
    const p = codecPair();
    const got = decodeAll(p.clientDecoder, [
      Uint8Array.of(0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00),
      Uint8Array.of(0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00),
      Uint8Array.of(0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00),
      Uint8Array.of(0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00),
    ]);
    expect(got.map((m) => m.data)).toEqual(["Hello", "Hello", "Hello", "Hello"]);
  });

  it("corrupt compressed data fails with 1007", () => {
    const p = codecPair();
    expectParseFailed(() => decodeAll(p.clientDecoder, [Uint8Array.of(0xc2, 0x03, 0xff, 0xff, 0xff)]), 1007);
  });

  it("a message inflating past maxMessageSize fails with 1009, across fragments too", () => {
    const p = codecPair(100_000);
    const big = new Uint8Array(150_000).fill(7);
    const frame = p.serverEncoder.binary(big);
    expect(frame.length).toBeLessThan(1000);
    expectParseFailed(() => decodeAll(p.clientDecoder, [frame]), 1009);
    const q = codecPair(100_000);
    const parts = [q.serverEncoder.binary(big.subarray(0, 60_000), false), q.serverEncoder.binary(big.subarray(60_000), true)];
    expectParseFailed(() => decodeAll(q.clientDecoder, parts, 100), 1009);
  });
});

describe("through WSConnection (handshake negotiates permessage-deflate)", () => {
  function messagesOf(events: Event[]): Array<string | Uint8Array> {
    return events.filter((e): e is TextMessage | BytesMessage => e instanceof TextMessage || e instanceof BytesMessage).map((e) => e.data);
  }

  it("a client offer accepted by the server compresses both ways", () => {
    const clientExt = new PerMessageDeflate({ threshold: 0 });
    const serverExt = new PerMessageDeflate({ threshold: 0, serverMaxWindowBits: 10 });
    const pair = openPair({
      request: new Request({ host: "example.com", target: "/", extensions: [clientExt] }),
      accept: new AcceptConnection({ extensions: [serverExt] }),
    });
    expect(clientExt.enabled()).toBe(true);
    expect(serverExt.enabled()).toBe(true);
    expect(clientExt.negotiated).toEqual(serverExt.negotiated);
    expect(clientExt.negotiated!.serverMaxWindowBits).toBe(10);
    const long = "hello ".repeat(2000);
    const wire = pair.client.send(new TextMessage({ data: long }));
    expect(wire.length).toBeLessThan(200);
    pair.server.receiveData(wire.slice());
    expect(messagesOf([...pair.server.events()])).toEqual([long]);
    expect(messagesOf(pair.serverSends(new TextMessage({ data: long })))).toEqual([long]);
    expect(messagesOf(pair.serverSends(new BytesMessage({ data: Uint8Array.of(1, 2, 3) })))).toEqual([Uint8Array.of(1, 2, 3)]);
  });

  it("a bomb ends the connection with a CloseConnection(1009)", () => {
    const clientExt = new PerMessageDeflate({ threshold: 0 });
    const pair = openPair({
      client: { maxMessageSize: 10_000 },
      request: new Request({ host: "example.com", target: "/", extensions: [clientExt] }),
      accept: new AcceptConnection({ extensions: [new PerMessageDeflate({ threshold: 0 })] }),
    });
    const events = pair.serverSends(new BytesMessage({ data: new Uint8Array(1_000_000) }));
    const close = events.find((e): e is CloseConnection => e instanceof CloseConnection);
    expect(close?.code).toBe(1009);
  });
});

describe("a failure part-way through inflating a text message: the first problem in stream order wins", () => {
  // Before: with the message in one chunk the inflater's failure was reported and the output it
  // had produced was dropped unchecked; in small chunks that output was checked first. So the
  // close depended on the chunking. Now that output is checked first in every case.
  const ascii = (n: number) => new Uint8Array(n).fill(0x61);
  const invalidUtf8 = Uint8Array.of(0xc3, 0x28); // RFC 3629: a lead byte without its continuation

  /** An unmasked server frame (FIN, RSV1, text) carrying `payload`, for a client's decoder. */
  function compressedTextFrame(payload: Uint8Array): Uint8Array {
    const header = payload.length < 126 ? [0xc1, payload.length] : [0xc1, 126, payload.length >> 8, payload.length & 0xff];
    return concat([Uint8Array.from(header), payload]);
  }

  /** Raw deflate of `data`, sync-flushed, without the 00 00 ff ff tail (RFC 7692 §7.2.1). */
  function deflated(data: Uint8Array): Uint8Array {
    const out = deflateRawSync(data, { flush: zlibConstants.Z_SYNC_FLUSH });
    return out.subarray(0, out.length - 4);
  }

  const chunkings = [Number.POSITIVE_INFINITY, 1000, 64, 7, 1];

  it.each(chunkings)("invalid UTF-8 before corrupt data: 1007 for the UTF-8, in %s-byte chunks", (chunk) => {
    const payload = concat([deflated(concat([ascii(300), invalidUtf8, ascii(300)])), Uint8Array.of(0xff, 0xff, 0xff)]);
    const error = expectParseFailed(() => decodeAll(codecPair().clientDecoder, [compressedTextFrame(payload)], chunk), 1007);
    expect(error.message).toMatch(/UTF-8/);
  });

  it.each(chunkings)("valid text before corrupt data: 1007 for the corrupt stream, in %s-byte chunks", (chunk) => {
    const payload = concat([deflated(ascii(600)), Uint8Array.of(0xff, 0xff, 0xff)]);
    const error = expectParseFailed(() => decodeAll(codecPair().clientDecoder, [compressedTextFrame(payload)], chunk), 1007);
    expect(error.message).toMatch(/permessage-deflate: invalid compressed data/);
  });

  it.each(chunkings)("invalid UTF-8 within maxMessageSize, output past it: 1007, in %s-byte chunks", (chunk) => {
    const payload = deflated(concat([ascii(300), invalidUtf8, ascii(20_000)]));
    const error = expectParseFailed(() => decodeAll(codecPair(1000).clientDecoder, [compressedTextFrame(payload)], chunk), 1007);
    expect(error.message).toMatch(/UTF-8/);
  });

  it.each(chunkings)("invalid UTF-8 only past maxMessageSize: 1009, in %s-byte chunks", (chunk) => {
    const payload = deflated(concat([ascii(2000), invalidUtf8, ascii(20_000)]));
    const error = expectParseFailed(() => decodeAll(codecPair(1000).clientDecoder, [compressedTextFrame(payload)], chunk), 1009);
    expect(error.message).toMatch(/size limit/);
  });
});
