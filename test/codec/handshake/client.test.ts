import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { buildUpgradeRequest, validateUpgradeResponse, type UpgradeRequest } from "../../../codec/handshake/client.js";
import { HttpHeadParser, type HttpResponseHead } from "../../../codec/handshake/http-head.js";
import { generateAcceptToken, generateNonce } from "../../../codec/handshake/tokens.js";
import type { Extension } from "../../../codec/extension.js";
import type { Headers } from "../../../codec/events.js";
import { AcceptConnection, RejectConnection, RejectData, Request } from "../../../codec/events.js";
import { LocalProtocolError } from "../../../codec/errors.js";
import { concatBytes, dec, enc, FakeExtension, remoteError, splitAt } from "./helpers.js";

const NONCE = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

describe("buildUpgradeRequest", () => {
  it("writes the request head", () => {
    const sent = buildUpgradeRequest(
      new Request({
        host: "server.example.com",
        target: "/chat",
        subprotocols: ["chat", "superchat"],
        extensions: [new FakeExtension({ name: "a", offer: "x=1; y" }), new FakeExtension({ name: "b" })],
        extraHeaders: [["Origin", "http://example.com"]],
      }),
      NONCE,
    );
    expect(dec(sent.bytes)).toBe(
      "GET /chat HTTP/1.1\r\n" +
        "Host: server.example.com\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        `Sec-WebSocket-Key: ${NONCE}\r\n` +
        "Sec-WebSocket-Version: 13\r\n" +
        "Sec-WebSocket-Protocol: chat, superchat\r\n" +
        "Sec-WebSocket-Extensions: a; x=1; y, b\r\n" +
        "Origin: http://example.com\r\n" +
        "\r\n",
    );
    expect(sent.nonce).toBe(NONCE);
    expect(sent.subprotocols).toEqual(["chat", "superchat"]);
    expect(sent.extensions.map((e) => e.name)).toEqual(["a", "b"]);
  });

  it("omits empty lists and extensions offering false; generates a nonce by default", () => {
    const sent = buildUpgradeRequest(
      new Request({ host: "h", target: "/", extensions: [new FakeExtension({ offer: false })] }),
    );
    const text = dec(sent.bytes);
    expect(text).not.toContain("Sec-WebSocket-Protocol");
    expect(text).not.toContain("Sec-WebSocket-Extensions");
    expect(sent.extensions).toEqual([]);
    expect(sent.nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(text).toContain(`Sec-WebSocket-Key: ${sent.nonce}\r\n`);
  });

  const ext = new FakeExtension();
  it.each<[string, ConstructorParameters<typeof Request>[0], string?]>([
    ["a host with CR/LF", { host: "a\r\nX: y", target: "/" }],
    ["an empty host", { host: "", target: "/" }],
    ["a non-ASCII host", { host: "b\u00fccher.example", target: "/" }],
    ["a target with a space", { host: "h", target: "/a b" }],
    ["a target with CR/LF", { host: "h", target: "/\r\n" }],
    ["an empty target", { host: "h", target: "" }],
    ["a non-token subprotocol", { host: "h", target: "/", subprotocols: ["a b"] }],
    ["an empty subprotocol", { host: "h", target: "/", subprotocols: [""] }],
    ["a header with CR/LF", { host: "h", target: "/", extraHeaders: [["X", "1\r\nY: 2"]] }],
    ["a bad header name", { host: "h", target: "/", extraHeaders: [["X Y", "1"]] }],
    ["a reserved header", { host: "h", target: "/", extraHeaders: [["sec-websocket-key", NONCE]] }],
    ["a Host header", { host: "h", target: "/", extraHeaders: [["Host", "other"]] }],
    ["a body header", { host: "h", target: "/", extraHeaders: [["Content-Length", "1"]] }],
    ["extension strings", { host: "h", target: "/", extensions: ["permessage-deflate"] }],
    ["the same extension twice", { host: "h", target: "/", extensions: [ext, new FakeExtension()] }],
    ["an extension with CR/LF parameters", { host: "h", target: "/", extensions: [new FakeExtension({ offer: "a\r\n" })] }],
    ["an invalid nonce", { host: "h", target: "/" }, "short=="],
  ])("refuses %s (LocalProtocolError)", (_, fields, nonce) => {
    expect(() => buildUpgradeRequest(new Request(fields), nonce)).toThrow(LocalProtocolError);
  });
});

function response(lines: string[], extra = ""): HttpResponseHead {
  const head = new HttpHeadParser({ kind: "response" }).push(enc(lines.join("\r\n") + "\r\n\r\n" + extra));
  if (head === null) throw new Error("incomplete");
  return head;
}

const OK = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Accept: ${ACCEPT}`];

function sentWith(fields: Partial<UpgradeRequest> = {}): UpgradeRequest {
  return { bytes: new Uint8Array(0), nonce: NONCE, subprotocols: [], extensions: [], ...fields };
}

describe("validateUpgradeResponse: 101", () => {
  it("yields AcceptConnection with the remaining headers lower-cased", () => {
    const r = validateUpgradeResponse(
      response([...OK, "Sec-WebSocket-Protocol: chat", "X-Server: x", "Date: today"]),
      sentWith({ subprotocols: ["chat"] }),
    );
    expect(r.kind).toBe("accept");
    if (r.kind !== "accept") return;
    expect(r.event).toBeInstanceOf(AcceptConnection);
    expect(r.event.subprotocol).toBe("chat");
    expect(r.event.extensions).toEqual([]);
    expect(r.event.extraHeaders).toEqual([
      ["x-server", "x"],
      ["date", "today"],
    ]);
  });

  it("accepts list-valued Upgrade / Connection in any case (README, Differences from wsproto #6)", () => {
    const r = validateUpgradeResponse(
      response([
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: foo, WebSocket",
        "Connection: keep-alive",
        "connection: UPGRADE",
        `Sec-WebSocket-Accept: ${ACCEPT}`,
      ]),
      sentWith(),
    );
    expect(r.kind).toBe("accept");
  });

  it.each<[string, string[], Partial<UpgradeRequest>?]>([
    ["a missing Connection", OK.filter((l) => !l.startsWith("Connection"))],
    ["Connection without upgrade", OK.map((l) => (l.startsWith("Connection") ? "Connection: close" : l))],
    ["a missing Upgrade", OK.filter((l) => !l.startsWith("Upgrade"))],
    ["Upgrade without websocket", OK.map((l) => (l.startsWith("Upgrade") ? "Upgrade: h2c" : l))],
    ["a missing accept token", OK.filter((l) => !l.startsWith("Sec-WebSocket-Accept"))],
    ["a wrong accept token", OK.map((l) => (l.startsWith("Sec-") ? `Sec-WebSocket-Accept: ${generateAcceptToken(generateNonce())}` : l))],
    ["two accept tokens", [...OK, `Sec-WebSocket-Accept: ${ACCEPT}`]],
    ["an HTTP/1.0 101", OK.map((l, i) => (i === 0 ? "HTTP/1.0 101 Switching Protocols" : l))],
    ["an unoffered subprotocol", [...OK, "Sec-WebSocket-Protocol: other"], { subprotocols: ["chat"] }],
    ["a subprotocol when none was offered", [...OK, "Sec-WebSocket-Protocol: chat"]],
    ["two subprotocol fields", [...OK, "Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: chat"], { subprotocols: ["chat"] }],
    ["a subprotocol list", [...OK, "Sec-WebSocket-Protocol: chat, v2"], { subprotocols: ["chat", "v2"] }],
  ])("refuses %s (RemoteProtocolError, no hint)", (_, lines, fields) => {
    const e = remoteError(() => validateUpgradeResponse(response(lines), sentWith(fields)));
    expect(e.eventHint).toBeNull();
  });
});

describe("client extension negotiation (wsproto client_extensions_handshake, README, Differences from wsproto #10)", () => {
  it("finalizes each accepted extension with its whole element, in response order", () => {
    const a = new FakeExtension({ name: "a" });
    const b = new FakeExtension({ name: "b" });
    const c = new FakeExtension({ name: "c" });
    const r = validateUpgradeResponse(
      response([...OK, 'Sec-WebSocket-Extensions: b; x="1,2" , a', "Sec-WebSocket-Extensions: ,"]),
      sentWith({ extensions: [a, b, c] }),
    );
    expect(r.kind === "accept" && r.event.extensions).toEqual([b, a]);
    expect(b.finalized).toEqual(['b; x="1,2"']);
    expect(a.finalized).toEqual(["a"]);
    expect(c.finalized).toEqual([]);
  });

  it.each<[string, string[], () => Extension[]]>([
    ["an unoffered extension", ["Sec-WebSocket-Extensions: zzz"], () => [new FakeExtension({ name: "a" })]],
    ["a duplicate in one field", ["Sec-WebSocket-Extensions: a, a"], () => [new FakeExtension({ name: "a" })]],
    ["a duplicate across fields", ["Sec-WebSocket-Extensions: a", "Sec-WebSocket-Extensions: a; x"], () => [new FakeExtension({ name: "a" })]],
    ["a malformed element", ["Sec-WebSocket-Extensions: a; =x"], () => [new FakeExtension({ name: "a" })]],
    ["an unterminated quote", ['Sec-WebSocket-Extensions: a; x="1'], () => [new FakeExtension({ name: "a" })]],
    ["finalize throwing", ["Sec-WebSocket-Extensions: a"], () => [new FakeExtension({ name: "a", finalizeError: "bad window" })]],
  ])("fails on %s", (_, lines, make) => {
    const exts = make();
    const e = remoteError(() => validateUpgradeResponse(response([...OK, ...lines]), sentWith({ extensions: exts })));
    expect(e.eventHint).toBeNull();
  });

  it("finalizes nothing when a later element is invalid", () => {
    const a = new FakeExtension({ name: "a" });
    remoteError(() =>
      validateUpgradeResponse(response([...OK, "Sec-WebSocket-Extensions: a, nope"]), sentWith({ extensions: [a] })),
    );
    expect(a.finalized).toEqual([]);
  });

  it("reports the extension's error message", () => {
    const a = new FakeExtension({ name: "a", finalizeError: "bad window" });
    const e = remoteError(() =>
      validateUpgradeResponse(response([...OK, "Sec-WebSocket-Extensions: a"]), sentWith({ extensions: [a] })),
    );
    expect(e.message).toContain("bad window");
  });
});

function readRejection(text: string | Uint8Array, cuts: number[] = [], eof = true) {
  const bytes = typeof text === "string" ? enc(text) : text;
  const parser = new HttpHeadParser({ kind: "response" });
  let result: ReturnType<typeof validateUpgradeResponse> | null = null;
  const events: RejectData[] = [];
  const feed = (chunk: Uint8Array | null): void => {
    if (result?.kind !== "reject" || result.body === null) return;
    const ev = result.body.push(chunk);
    if (ev !== null) events.push(ev);
  };
  for (const chunk of splitAt(bytes, cuts)) {
    if (result === null) {
      const head = parser.push(chunk);
      if (head !== null) {
        result = validateUpgradeResponse(head, sentWith());
        feed(parser.takeRest());
      }
    } else {
      feed(chunk);
    }
  }
  if (eof) feed(null);
  if (result?.kind !== "reject") throw new Error("expected a rejection");
  return { event: result.event, body: result.body, events, data: dec(concatBytes(...events.map((e) => e.data))) };
}

describe("validateUpgradeResponse: rejection (README, Differences from wsproto #13)", () => {
  it("no body: Content-Length 0", () => {
    const r = readRejection("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nX: y\r\n\r\n");
    expect(r.event).toBeInstanceOf(RejectConnection);
    expect(r.event.statusCode).toBe(400);
    expect(r.event.hasBody).toBe(false);
    expect(r.event.headers).toEqual([
      ["content-length", "0"],
      ["x", "y"],
    ]);
    expect(r.body).toBeNull();
    expect(r.events).toEqual([]);
  });

  it.each(["204 No Content", "304 Not Modified"])("no body: %s", (status) => {
    const r = readRejection(`HTTP/1.1 ${status}\r\nContent-Length: 10\r\n\r\n`);
    expect(r.event.hasBody).toBe(false);
  });

  it("Content-Length: body ends after that many bytes, extra bytes ignored", () => {
    const text = "HTTP/1.1 403 Forbidden\r\nContent-Length: 11\r\n\r\nHello World<garbage>";
    const r = readRejection(text);
    expect(r.event.hasBody).toBe(true);
    expect(r.data).toBe("Hello World");
    expect(r.events.at(-1)!.bodyFinished).toBe(true);
    expect(r.events.filter((e) => e.bodyFinished)).toHaveLength(1);
  });

  it("Content-Length: an early EOF is an error", () => {
    remoteError(() => readRejection("HTTP/1.1 403 Forbidden\r\nContent-Length: 11\r\n\r\nHello"));
  });

  it.each(["-1", "1x", "", "1, 2", "99999999999999999999"])("Content-Length %j is an error", (v) => {
    remoteError(() => readRejection(`HTTP/1.1 403 Forbidden\r\nContent-Length: ${v}\r\n\r\n`));
  });

  it("Content-Length repeated with one value is accepted", () => {
    expect(readRejection("HTTP/1.1 403 F\r\nContent-Length: 2, 2\r\ncontent-length: 2\r\n\r\nok").data).toBe("ok");
  });

  it("chunked, with extensions and trailers", () => {
    const text =
      "HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n" +
      "5;name=value;q=\"x;y\"\r\nHello\r\n" +
      "1 \t;ext\r\n,\r\n" +
      "6\r\n World\r\n" +
      "A\r\n0123456789\r\n" +
      "0;last\r\nTrailer-One: 1\r\nX: y z\r\n\r\n" +
      "ignored";
    const expected = "Hello, World0123456789";
    const r = readRejection(text);
    expect(r.event.hasBody).toBe(true);
    expect(r.data).toBe(expected);
    expect(r.events.at(-1)!.bodyFinished).toBe(true);
    const bytes = enc(text);
    fc.assert(
      fc.property(fc.array(fc.nat(bytes.length), { maxLength: 40 }), (cuts) => {
        const rr = readRejection(bytes, cuts);
        expect(rr.data).toBe(expected);
        expect(rr.events.filter((e) => e.bodyFinished)).toHaveLength(1);
        expect(rr.events.at(-1)!.bodyFinished).toBe(true);
      }),
    );
    const byteByByte = readRejection(bytes, Array.from({ length: bytes.length }, (_, i) => i));
    expect(byteByByte.data).toBe(expected);
  });

  it("chunked: upper-case hex, gzip then chunked", () => {
    const r = readRejection("HTTP/1.1 500 x\r\nTransfer-Encoding: gzip, Chunked\r\n\r\nB\r\nhello world\r\n0\r\n\r\n");
    expect(r.data).toBe("hello world");
  });

  it.each([
    ["a bad size", "zz\r\nhi\r\n0\r\n\r\n"],
    ["an empty size", "\r\nhi\r\n0\r\n\r\n"],
    ["a size too large", "FFFFFFFFFFFFFF\r\n"],
    ["missing CRLF after data", "2\r\nhiX\r\n0\r\n\r\n"],
    ["bare LF after size", "2\nhi\r\n0\r\n\r\n"],
    ["a bad trailer", "0\r\nBad Trailer\r\n\r\n"],
    ["an obs-folded trailer", "0\r\nA: b\r\n c\r\n\r\n"],
    ["a control char in an extension", "2;a\u0001\r\nhi\r\n0\r\n\r\n"],
    ["EOF mid-body", "2\r\nhi\r\n"],
  ])("chunked: refuses %s", (_, body) => {
    remoteError(() => readRejection("HTTP/1.1 500 x\r\nTransfer-Encoding: chunked\r\n\r\n" + body));
  });

  it("chunked before another coding is an error; another final coding reads to EOF", () => {
    remoteError(() => readRejection("HTTP/1.1 500 x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"));
    const r = readRejection("HTTP/1.1 500 x\r\nTransfer-Encoding: gzip\r\n\r\nraw bytes");
    expect(r.event.hasBody).toBe(true);
    expect(r.data).toBe("raw bytes");
  });

  it("until EOF: body ends at push(null)", () => {
    const r = readRejection("HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnot here", [30, 40, 50]);
    expect(r.event.hasBody).toBe(true);
    expect(r.data).toBe("not here");
    expect(r.events.at(-1)).toEqual(new RejectData({ data: new Uint8Array(0), bodyFinished: true }));
    expect(r.events.slice(0, -1).every((e) => !e.bodyFinished)).toBe(true);
  });

  it("until EOF with an empty body still reports hasBody (the length was unknown)", () => {
    const r = readRejection("HTTP/1.1 404 Not Found\r\n\r\n");
    expect(r.event.hasBody).toBe(true);
    expect(r.events).toEqual([new RejectData({ data: new Uint8Array(0), bodyFinished: true })]);
  });

  it("a 1xx before the rejection is skipped (README, Differences from wsproto #5)", () => {
    const r = readRejection("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\r\nno");
    expect(r.event.statusCode).toBe(401);
    expect(r.data).toBe("no");
  });
});

describe("client: bytes after the 101 are frames (README, Differences from wsproto #4)", () => {
  it("keeps them for any chunking", () => {
    const frames = Uint8Array.from([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x89, 0x00]);
    const all = concatBytes(enc(OK.join("\r\n") + "\r\n\r\n"), frames);
    fc.assert(
      fc.property(fc.array(fc.nat(all.length), { maxLength: 20 }), (cuts) => {
        const parser = new HttpHeadParser({ kind: "response" });
        const rest: Uint8Array[] = [];
        let accepted = false;
        for (const chunk of splitAt(all, cuts)) {
          if (accepted) {
            rest.push(chunk);
            continue;
          }
          const head = parser.push(chunk);
          if (head !== null) {
            accepted = validateUpgradeResponse(head, sentWith()).kind === "accept";
            rest.push(parser.takeRest());
          }
        }
        expect(accepted).toBe(true);
        expect(concatBytes(...rest)).toEqual(frames);
      }),
    );
  });
});

describe("headers are latin1 both ways", () => {
  it("a latin1 extra header survives request → server", () => {
    const headers: Headers = [["X-Name", "Jos\u00e9 \u00ff\u0080"]];
    const sent = buildUpgradeRequest(new Request({ host: "h", target: "/", extraHeaders: headers }), NONCE);
    const head = new HttpHeadParser({ kind: "request" }).push(sent.bytes)!;
    expect(head.headers.at(-1)).toEqual(["x-name", "Jos\u00e9 \u00ff\u0080"]);
    expect(sent.bytes.length).toBe(dec(sent.bytes).length);
  });
});
