import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { HttpHeadParser, type HttpRequestHead, type HttpResponseHead } from "../../../codec/handshake/http-head.js";
import { concatBytes, dec, enc, remoteError, splitAt } from "./helpers.js";

const REQUEST =
  "GET /chat?x=1 HTTP/1.1\r\n" +
  "Host: server.example.com\r\n" +
  "Upgrade: websocket\r\n" +
  "Connection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
  "Origin: http://example.com\r\n" +
  "Sec-WebSocket-Protocol: chat, superchat\r\n" +
  "Sec-WebSocket-Version: 13\r\n" +
  "\r\n";

function parseRequest(text: string | Uint8Array, opts: { maxHeadSize?: number; maxHeaders?: number } = {}): HttpRequestHead {
  const p = new HttpHeadParser({ kind: "request", ...opts });
  const head = p.push(typeof text === "string" ? enc(text) : text);
  if (head === null) throw new Error("incomplete");
  return head;
}

function parseResponse(text: string): { head: HttpResponseHead | null; parser: HttpHeadParser<"response"> } {
  const parser = new HttpHeadParser({ kind: "response" });
  return { head: parser.push(enc(text)), parser };
}

describe("HttpHeadParser: requests", () => {
  it("parses the RFC 6455 §1.2 request", () => {
    const head = parseRequest(REQUEST);
    expect(head.kind).toBe("request");
    expect(head.method).toBe("GET");
    expect(head.target).toBe("/chat?x=1");
    expect([head.versionMajor, head.versionMinor]).toEqual([1, 1]);
    expect(head.byteLength).toBe(REQUEST.length);
    expect(head.headers).toEqual([
      ["host", "server.example.com"],
      ["upgrade", "websocket"],
      ["connection", "Upgrade"],
      ["sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="],
      ["origin", "http://example.com"],
      ["sec-websocket-protocol", "chat, superchat"],
      ["sec-websocket-version", "13"],
    ]);
  });

  it("lower-cases names, trims values, keeps latin1 bytes exactly (0x80-0xFF)", () => {
    const bytes = concatBytes(enc("GET / HTTP/1.1\r\nX-WEIRD-Name:  \t v\u00e9 x\t \r\nX-Bin: "), Uint8Array.from([0x80, 0x9f, 0xa0, 0xff]), enc("\r\nE:\r\n\r\n"));
    const head = parseRequest(bytes);
    expect(head.headers).toEqual([
      ["x-weird-name", "v\u00e9 x"],
      ["x-bin", "\u0080\u009f\u00a0\u00ff"],
      ["e", ""],
    ]);
  });

  it("ignores empty lines before the request line (RFC 9112 §2.2)", () => {
    const p = new HttpHeadParser({ kind: "request" });
    const head = p.push(enc("\r\n\r\n" + REQUEST));
    expect(head?.method).toBe("GET");
    expect(head?.byteLength).toBe(REQUEST.length);
  });

  it("hands back the bytes after the head untouched (README, Differences from wsproto #4)", () => {
    const frames = Uint8Array.from([0x81, 0x85, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0x0d, 0x0a, 0x0d, 0x0a]);
    const p = new HttpHeadParser({ kind: "request" });
    const head = p.push(concatBytes(enc(REQUEST), frames));
    expect(head).not.toBeNull();
    expect(p.complete).toBe(true);
    expect(p.takeRest()).toEqual(frames);
    expect(p.takeRest()).toEqual(new Uint8Array(0));
    expect(() => p.push(enc("x"))).toThrow(Error);
  });

  it("gives the same result for any chunking, byte by byte included", () => {
    const frames = enc("\x81\x02hi\x88\x00");
    const all = concatBytes(enc(REQUEST), frames);
    const expected = parseRequest(REQUEST);
    const check = (chunks: Uint8Array[]): void => {
      const p = new HttpHeadParser({ kind: "request" });
      let head: HttpRequestHead | null = null;
      const rest: Uint8Array[] = [];
      for (const chunk of chunks) {
        if (head === null) {
          head = p.push(chunk);
          if (head !== null) rest.push(p.takeRest());
        } else {
          rest.push(chunk);
        }
      }
      expect(head).toEqual(expected);
      expect(concatBytes(...rest)).toEqual(frames);
    };
    check(splitAt(all, Array.from({ length: all.length }, (_, i) => i)));
    fc.assert(
      fc.property(fc.array(fc.nat(all.length), { maxLength: 30 }), (cuts) => {
        check(splitAt(all, cuts));
      }),
    );
  });

  it("never buffers more than maxHeadSize bytes and refuses an oversized head with 431", () => {
    const p = new HttpHeadParser({ kind: "request", maxHeadSize: 64 });
    expect(p.push(enc("GET / HTTP/1.1\r\nX: " + "a".repeat(30)))).toBeNull();
    const e = remoteError(() => p.push(enc("b".repeat(1000))));
    expect(e.eventHint?.statusCode).toBe(431);
    // Exactly at the limit is fine; one byte more is not.
    const exact = "GET / HTTP/1.1\r\nX: " + "a".repeat(64 - 23) + "\r\n\r\n";
    expect(exact.length).toBe(64);
    expect(parseRequest(exact, { maxHeadSize: 64 }).headers[0]![1]).toHaveLength(41);
    expect(remoteError(() => parseRequest(exact.replace("X:", "XY:"), { maxHeadSize: 64 })).eventHint?.statusCode).toBe(431);
    // A single huge chunk fails without scanning past the limit.
    const huge = new Uint8Array(10_000_000).fill(0x61);
    expect(remoteError(() => new HttpHeadParser({ kind: "request" }).push(huge)).eventHint?.statusCode).toBe(431);
  });

  it("fails at the limit when fed byte by byte", () => {
    const p = new HttpHeadParser({ kind: "request", maxHeadSize: 100 });
    const bytes = enc("GET / HTTP/1.1\r\nX: " + "a".repeat(200));
    let error: unknown = null;
    let fed = 0;
    try {
      for (const b of bytes) {
        fed++;
        p.push(Uint8Array.of(b));
      }
    } catch (e) {
      error = e;
    }
    expect(fed).toBe(100);
    expect((error as { eventHint: { statusCode: number } }).eventHint.statusCode).toBe(431);
  });

  it("bounds the number of header fields (431)", () => {
    const many = "GET / HTTP/1.1\r\n" + "A: b\r\n".repeat(5) + "\r\n";
    expect(parseRequest(many, { maxHeaders: 5 }).headers).toHaveLength(5);
    expect(remoteError(() => parseRequest(many, { maxHeaders: 4 })).eventHint?.statusCode).toBe(431);
  });

  it.each([
    ["bare LF", "GET / HTTP/1.1\nHost: a\r\n\r\n"],
    ["bare LF ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\n"],
    ["bare LF first", "\nGET / HTTP/1.1\r\n\r\n"],
    ["bare CR in a value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"],
    ["bare CR in the request line", "GET /\r HTTP/1.1\r\n\r\n"],
    ["bare CR before the head", "\rGET / HTTP/1.1\r\n\r\n"],
    ["obs-fold", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"],
    ["obs-fold with tab", "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n"],
    ["whitespace before the first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n"],
    ["space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n"],
    ["no colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n"],
    ["empty name", "GET / HTTP/1.1\r\n: a\r\n\r\n"],
    ["bad name char", "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n"],
    ["non-ASCII name", "GET / HTTP/1.1\r\nH\u00e9: a\r\n\r\n"],
    ["NUL in value", "GET / HTTP/1.1\r\nX: a\u0000b\r\n\r\n"],
    ["DEL in value", "GET / HTTP/1.1\r\nX: a\u007fb\r\n\r\n"],
    ["control in value", "GET / HTTP/1.1\r\nX: a\u0001\r\n\r\n"],
    ["lower-case version", "GET / http/1.1\r\n\r\n"],
    ["long version", "GET / HTTP/1.10\r\n\r\n"],
    ["missing version", "GET /\r\n\r\n"],
    ["two spaces", "GET  / HTTP/1.1\r\n\r\n"],
    ["space in target", "GET /a b HTTP/1.1\r\n\r\n"],
    ["non-ASCII target", "GET /\u00e9 HTTP/1.1\r\n\r\n"],
    ["bad method", "G(T / HTTP/1.1\r\n\r\n"],
    ["trailing space", "GET / HTTP/1.1 \r\n\r\n"],
    ["leading space", " GET / HTTP/1.1\r\n\r\n"],
  ])("refuses %s with a 400 hint", (_, text) => {
    const e = remoteError(() => {
      const p = new HttpHeadParser({ kind: "request" });
      if (p.push(enc(text)) === null) throw new Error("incomplete");
    });
    expect(e.eventHint?.statusCode).toBe(400);
  });

  it("refuses a bare LF as soon as it arrives", () => {
    const p = new HttpHeadParser({ kind: "request" });
    expect(p.push(enc("GET / HTTP/1.1\r"))).toBeNull();
    remoteError(() => p.push(enc("Host\n")));
  });

  it("is linear on many tiny header lines", () => {
    const text = "GET / HTTP/1.1\r\n" + "a:\r\n".repeat(4000) + "\r\n";
    const t = performance.now();
    const head = parseRequest(text, { maxHeadSize: 1 << 20, maxHeaders: 10_000 });
    expect(head.headers).toHaveLength(4000);
    expect(performance.now() - t).toBeLessThan(500);
  });
});

describe("HttpHeadParser: responses", () => {
  it("parses a status line with and without a reason phrase", () => {
    const { head } = parseResponse("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
    expect(head).toMatchObject({ kind: "response", statusCode: 101, reason: "Switching Protocols", versionMajor: 1, versionMinor: 1 });
    expect(parseResponse("HTTP/1.1 404 \r\n\r\n").head).toMatchObject({ statusCode: 404, reason: "" });
    expect(parseResponse("HTTP/1.1 404\r\n\r\n").head).toMatchObject({ statusCode: 404, reason: "" });
    expect(parseResponse("HTTP/1.0 400 Bad \u00e9 Request\r\n\r\n").head).toMatchObject({ versionMinor: 0, reason: "Bad \u00e9 Request" });
  });

  it("skips 1xx informational responses other than 101 (README, Differences from wsproto #5)", () => {
    const text =
      "HTTP/1.1 100 Continue\r\n\r\n" +
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" +
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
    const frames = enc("\x81\x00");
    const all = concatBytes(enc(text), frames);
    fc.assert(
      fc.property(fc.array(fc.nat(all.length), { maxLength: 12 }), (cuts) => {
        const parser = new HttpHeadParser({ kind: "response" });
        let head: HttpResponseHead | null = null;
        const rest: Uint8Array[] = [];
        for (const chunk of splitAt(all, cuts)) {
          if (head !== null) rest.push(chunk);
          else if ((head = parser.push(chunk)) !== null) rest.push(parser.takeRest());
        }
        expect(head?.statusCode).toBe(101);
        expect(head?.headers).toEqual([["upgrade", "websocket"]]);
        expect(parser.informationalSkipped).toBe(2);
        expect(concatBytes(...rest)).toEqual(frames);
      }),
    );
  });

  it("a 1xx on its own needs more data", () => {
    const { head, parser } = parseResponse("HTTP/1.1 100 Continue\r\n\r\n");
    expect(head).toBeNull();
    expect(parser.complete).toBe(false);
    expect(parser.push(enc("HTTP/1.1 403 Forbidden\r\n\r\nbody"))?.statusCode).toBe(403);
    expect(dec(parser.takeRest())).toBe("body");
  });

  it.each([
    ["bad status", "HTTP/1.1 1x1 No\r\n\r\n"],
    ["short status", "HTTP/1.1 99 No\r\n\r\n"],
    ["4-digit status", "HTTP/1.1 1010 No\r\n\r\n"],
    ["status below 100", "HTTP/1.1 099 No\r\n\r\n"],
    ["bad version", "HTTP/x.1 101 No\r\n\r\n"],
    ["control char in reason", "HTTP/1.1 400 B\u0001ad\r\n\r\n"],
    ["obs-fold", "HTTP/1.1 400 Bad\r\nA: b\r\n c\r\n\r\n"],
  ])("refuses %s, without an event hint", (_, text) => {
    const e = remoteError(() => parseResponse(text));
    expect(e.eventHint).toBeNull();
  });
});
