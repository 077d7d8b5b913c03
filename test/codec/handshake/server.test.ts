import { describe, expect, it } from "vitest";
import { HttpHeadParser } from "../../../codec/handshake/http-head.js";
import {
  buildAcceptResponse,
  buildRejectResponse,
  validateUpgradeRequest,
  validateUpgradeRequestHeaders,
} from "../../../codec/handshake/server.js";
import { generateAcceptToken } from "../../../codec/handshake/tokens.js";
import type { Headers } from "../../../codec/events.js";
import { AcceptConnection, RejectConnection, RejectData, Request } from "../../../codec/events.js";
import { LocalProtocolError } from "../../../codec/errors.js";
import { dec, enc, FakeExtension, remoteError } from "./helpers.js";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

const BASE: Array<[string, string]> = [
  ["Host", "server.example.com"],
  ["Upgrade", "websocket"],
  ["Connection", "Upgrade"],
  ["Sec-WebSocket-Key", KEY],
  ["Sec-WebSocket-Version", "13"],
];

function wire(headers: Array<[string, string]>, requestLine = "GET /chat HTTP/1.1"): Uint8Array {
  return enc(requestLine + "\r\n" + headers.map(([n, v]) => `${n}: ${v}\r\n`).join("") + "\r\n");
}

function receive(headers: Array<[string, string]>, requestLine?: string): Request {
  const head = new HttpHeadParser({ kind: "request" }).push(wire(headers, requestLine));
  if (head === null) throw new Error("incomplete");
  return validateUpgradeRequest(head);
}

function without(name: string): Array<[string, string]> {
  return BASE.filter(([n]) => n.toLowerCase() !== name.toLowerCase());
}

function replaced(name: string, value: string): Array<[string, string]> {
  return BASE.map(([n, v]) => [n, n.toLowerCase() === name.toLowerCase() ? value : v]);
}

describe("validateUpgradeRequest", () => {
  it("yields the Request as wsproto does", () => {
    const request = receive([
      ...BASE,
      ["Origin", "http://example.com"],
      ["Sec-WebSocket-Protocol", "chat, superchat"],
      ["Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits, x-foo"],
    ]);
    expect(request).toBeInstanceOf(Request);
    expect(request.host).toBe("server.example.com");
    expect(request.target).toBe("/chat");
    expect(request.subprotocols).toEqual(["chat", "superchat"]);
    expect(request.extensions).toEqual(["permessage-deflate; client_max_window_bits", "x-foo"]);
    // Every other header, lower-cased, in order (Host, -Protocol and -Extensions excluded).
    expect(request.extraHeaders).toEqual([
      ["upgrade", "websocket"],
      ["connection", "Upgrade"],
      ["sec-websocket-key", KEY],
      ["sec-websocket-version", "13"],
      ["origin", "http://example.com"],
    ]);
  });

  it("keeps Host as sent, without IDNA decoding (README, Differences from wsproto #7)", () => {
    expect(receive(replaced("Host", "xn--bcher-kva.example:8080")).host).toBe("xn--bcher-kva.example:8080");
  });

  it("combines repeated Sec-WebSocket-Protocol / -Extensions fields and drops empty elements (row 14)", () => {
    const request = receive([
      ...BASE,
      ["Sec-WebSocket-Protocol", "a,, b"],
      ["Sec-WebSocket-Protocol", ", c"],
      ["Sec-WebSocket-Extensions", 'x; p="1,2"'],
      ["Sec-WebSocket-Extensions", "y"],
    ]);
    expect(request.subprotocols).toEqual(["a", "b", "c"]);
    expect(request.extensions).toEqual(['x; p="1,2"', "y"]);
  });

  it("accepts Upgrade and Connection as combined, case-insensitive lists (README, Differences from wsproto #6)", () => {
    const headers = BASE.filter(([n]) => n !== "Upgrade" && n !== "Connection");
    const request = receive([
      ...headers,
      ["Upgrade", "h2c, WebSocket"],
      ["connection", "keep-alive"],
      ["CONNECTION", "UPGRADE"],
    ]);
    expect(request.extraHeaders.filter(([n]) => n === "connection")).toHaveLength(2);
  });

  it("accepts HTTP/1.1 minor versions above 1 and Content-Length: 0", () => {
    expect(receive(BASE, "GET / HTTP/1.2").target).toBe("/");
    expect(receive([...BASE, ["Content-Length", "0"]]).target).toBe("/chat");
  });

  it.each<[string, Array<[string, string]>, string | undefined]>([
    ["method POST", BASE, "POST /chat HTTP/1.1"],
    ["lower-case method", BASE, "get /chat HTTP/1.1"],
    ["HTTP/1.0 (README, Differences from wsproto #7)", BASE, "GET /chat HTTP/1.0"],
    ["HTTP/2.0", BASE, "GET /chat HTTP/2.0"],
    ["missing Host", without("Host"), undefined],
    ["two Host fields", [...BASE, ["Host", "other"]], undefined],
    ["missing Upgrade", without("Upgrade"), undefined],
    ["Upgrade without websocket", replaced("Upgrade", "h2c"), undefined],
    ["Upgrade websocket/13", replaced("Upgrade", "websocket/13"), undefined],
    ["missing Connection", without("Connection"), undefined],
    ["Connection without upgrade", replaced("Connection", "keep-alive"), undefined],
    ["missing key", without("Sec-WebSocket-Key"), undefined],
    ["two keys (README, Differences from wsproto #6)", [...BASE, ["Sec-WebSocket-Key", KEY]], undefined],
    ["key of 15 bytes (README, Differences from wsproto #7)", replaced("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25j"), undefined],
    ["key of 17 bytes", replaced("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZXg="), undefined],
    ["key not base64", replaced("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZ!=="), undefined],
    ["request body (Content-Length)", [...BASE, ["Content-Length", "5"]], undefined],
    ["request body (chunked)", [...BASE, ["Transfer-Encoding", "chunked"]], undefined],
    ["non-token subprotocol", [...BASE, ["Sec-WebSocket-Protocol", "chat, a/b"]], undefined],
    ["unterminated quote in a list", [...BASE, ["Sec-WebSocket-Extensions", 'x; a="b']], undefined],
    ["malformed extension offer", [...BASE, ["Sec-WebSocket-Extensions", "x; =1"]], undefined],
  ])("refuses %s with RejectConnection(400)", (_, headers, requestLine) => {
    const e = remoteError(() => receive(headers, requestLine));
    expect(e.eventHint).toBeInstanceOf(RejectConnection);
    expect(e.eventHint?.statusCode).toBe(400);
    expect(e.eventHint?.hasBody).toBe(false);
  });

  it.each<[string, Array<[string, string]>]>([
    ["a missing version", without("Sec-WebSocket-Version")],
    ["version 8", replaced("Sec-WebSocket-Version", "8")],
    ["a version list", replaced("Sec-WebSocket-Version", "13, 8")],
    ["two version fields (README, Differences from wsproto #6)", [...BASE, ["Sec-WebSocket-Version", "13"]]],
  ])("answers %s with 426 and Sec-WebSocket-Version: 13", (_, headers) => {
    const e = remoteError(() => receive(headers));
    expect(e.eventHint?.statusCode).toBe(426);
    expect(e.eventHint?.headers).toEqual([["Sec-WebSocket-Version", "13"]]);
  });

  it("an oversized head is refused with 431 before validation", () => {
    const p = new HttpHeadParser({ kind: "request", maxHeadSize: 256 });
    const e = remoteError(() => p.push(wire([...BASE, ["Cookie", "x".repeat(300)]])));
    expect(e.eventHint?.statusCode).toBe(431);
  });
});

describe("validateUpgradeRequestHeaders (initiateUpgradeConnection)", () => {
  it("validates headers parsed elsewhere, any name case, values trimmed", () => {
    const request = validateUpgradeRequestHeaders(
      [
        ["host", "localhost:8080"],
        ["UPGRADE", "websocket"],
        ["Connection", "Upgrade"],
        ["sec-websocket-key", ` ${KEY}\t`],
        ["Sec-WebSocket-Version", "13"],
        ["Sec-WebSocket-Protocol", "chat"],
      ],
      "/ws?a=b",
    );
    expect(request.host).toBe("localhost:8080");
    expect(request.target).toBe("/ws?a=b");
    expect(request.subprotocols).toEqual(["chat"]);
    expect(request.extraHeaders).toEqual([
      ["upgrade", "websocket"],
      ["connection", "Upgrade"],
      ["sec-websocket-key", KEY],
      ["sec-websocket-version", "13"],
    ]);
  });

  it.each<[string, Headers, string]>([
    ["an invalid name", [...BASE, ["Bad Name", "x"]], "/"],
    ["CR/LF in a value", [...BASE, ["X", "a\r\nInjected: 1"]], "/"],
    ["a char above U+00FF", [...BASE, ["X", "\u20ac"]], "/"],
    ["an empty target", BASE, ""],
    ["a target with a space", BASE, "/a b"],
    ["a missing key", without("Sec-WebSocket-Key"), "/"],
  ])("refuses %s with 400", (_, headers, target) => {
    expect(remoteError(() => validateUpgradeRequestHeaders(headers, target)).eventHint?.statusCode).toBe(400);
  });
});

function acceptText(request: Request, accept: AcceptConnection): string {
  return dec(buildAcceptResponse(request, accept).bytes);
}

describe("buildAcceptResponse", () => {
  it("writes the 101 with the accept token (RFC 6455 §1.3 example)", () => {
    const request = receive([...BASE, ["Sec-WebSocket-Protocol", "chat, superchat"]]);
    const { bytes, extensions } = buildAcceptResponse(
      request,
      new AcceptConnection({ subprotocol: "chat", extraHeaders: [["X-Server", "wsmachine"]] }),
    );
    expect(dec(bytes)).toBe(
      "HTTP/1.1 101 Switching Protocols\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
        "Sec-WebSocket-Protocol: chat\r\n" +
        "X-Server: wsmachine\r\n" +
        "\r\n",
    );
    expect(extensions).toEqual([]);
  });

  it("refuses a subprotocol the client did not offer", () => {
    const request = receive([...BASE, ["Sec-WebSocket-Protocol", "chat"]]);
    expect(() => buildAcceptResponse(request, new AcceptConnection({ subprotocol: "other" }))).toThrow(LocalProtocolError);
    expect(() => buildAcceptResponse(receive(BASE), new AcceptConnection({ subprotocol: "chat" }))).toThrow(LocalProtocolError);
  });

  it.each<[string, Headers]>([
    ["CR/LF injection", [["X", "a\r\nSet-Cookie: evil"]]],
    ["a bad name", [["X Y", "a"]]],
    ["a reserved field", [["Sec-WebSocket-Accept", "x"]]],
    ["Upgrade", [["upgrade", "x"]]],
    ["Content-Length", [["Content-Length", "0"]]],
    ["a non-latin1 value", [["X", "\u20ac"]]],
    ["leading whitespace", [["X", " a"]]],
  ])("refuses extraHeaders with %s (LocalProtocolError)", (_, extraHeaders) => {
    expect(() => buildAcceptResponse(receive(BASE), new AcceptConnection({ extraHeaders }))).toThrow(LocalProtocolError);
  });

  it("refuses a Request without a key (not one the handshake validated)", () => {
    expect(() => buildAcceptResponse(new Request({ host: "a", target: "/" }), new AcceptConnection())).toThrow(
      LocalProtocolError,
    );
  });

  it("leaves the extension untouched when the call is refused", () => {
    const ext = new FakeExtension({ name: "x" });
    const request = receive([...BASE, ["Sec-WebSocket-Extensions", "x"]]);
    expect(() =>
      buildAcceptResponse(request, new AcceptConnection({ extensions: [ext], extraHeaders: [["Bad Name", "v"]] })),
    ).toThrow(LocalProtocolError);
    expect(ext.offers).toEqual([]);
  });
});

describe("server extension negotiation (wsproto server_extensions_handshake, README, Differences from wsproto #10)", () => {
  type Row = {
    name: string;
    offered: string[];
    exts: Array<{ name: string; accept: Array<string | boolean | null> }>;
    header: string | null;
    enabled: string[];
    calls: Record<string, string[]>;
  };
  const rows: Row[] = [
    {
      name: "accepts an offer with parameters",
      offered: ["fake; a=1"],
      exts: [{ name: "fake", accept: ["b=2"] }],
      header: "fake; b=2",
      enabled: ["fake"],
      calls: { fake: ["fake; a=1"] },
    },
    {
      name: "true and empty string answer with the bare name",
      offered: ["a", "b"],
      exts: [
        { name: "a", accept: [true] },
        { name: "b", accept: [""] },
      ],
      header: "a, b",
      enabled: ["a", "b"],
      calls: { a: ["a"], b: ["b"] },
    },
    {
      name: "tries the offers of one extension in order until one is accepted",
      offered: ["fake; x=1", "fake; x=2", "fake; x=3"],
      exts: [{ name: "fake", accept: [null, "x=2", "x=3"] }],
      header: "fake; x=2",
      enabled: ["fake"],
      calls: { fake: ["fake; x=1", "fake; x=2"] },
    },
    {
      name: "declines with null or false",
      offered: ["fake; x=1", "fake; x=2"],
      exts: [{ name: "fake", accept: [null, false] }],
      header: null,
      enabled: [],
      calls: { fake: ["fake; x=1", "fake; x=2"] },
    },
    {
      name: "ignores offers for unsupported extensions",
      offered: ["other; y", "fake"],
      exts: [{ name: "fake", accept: [true] }],
      header: "fake",
      enabled: ["fake"],
      calls: { fake: ["fake"] },
    },
    {
      name: "lists accepted extensions in offer order",
      offered: ["b", "a"],
      exts: [
        { name: "a", accept: [true] },
        { name: "b", accept: ["p"] },
      ],
      header: "b; p, a",
      enabled: ["b", "a"],
      calls: { a: ["a"], b: ["b"] },
    },
    {
      name: "no offers: nothing is called",
      offered: [],
      exts: [{ name: "fake", accept: [true] }],
      header: null,
      enabled: [],
      calls: { fake: [] },
    },
    {
      name: "names compare exactly",
      offered: ["FAKE"],
      exts: [{ name: "fake", accept: [true] }],
      header: null,
      enabled: [],
      calls: { fake: [] },
    },
  ];

  it.each(rows)("$name", (row) => {
    const request = receive(row.offered.length ? [...BASE, ["Sec-WebSocket-Extensions", row.offered.join(", ")]] : BASE);
    const exts = row.exts.map((e) => new FakeExtension({ name: e.name, accept: e.accept }));
    const { bytes, extensions } = buildAcceptResponse(request, new AcceptConnection({ extensions: exts }));
    const head = new HttpHeadParser({ kind: "response" }).push(bytes)!;
    const values = head.headers.filter(([n]) => n === "sec-websocket-extensions").map(([, v]) => v);
    expect(values).toEqual(row.header === null ? [] : [row.header]);
    expect(extensions.map((e) => e.name)).toEqual(row.enabled);
    for (const ext of exts) expect(ext.offers).toEqual(row.calls[ext.name]);
  });

  it("refuses two extensions of the same name, strings, and invalid answers", () => {
    const request = receive([...BASE, ["Sec-WebSocket-Extensions", "x"]]);
    const twice = [new FakeExtension({ name: "x" }), new FakeExtension({ name: "x" })];
    expect(() => buildAcceptResponse(request, new AcceptConnection({ extensions: twice }))).toThrow(LocalProtocolError);
    const strings = ["x"] as unknown as FakeExtension[];
    expect(() => buildAcceptResponse(request, new AcceptConnection({ extensions: strings }))).toThrow(LocalProtocolError);
    const bad = new FakeExtension({ name: "x", accept: ["a\r\nb"] });
    expect(() => buildAcceptResponse(request, new AcceptConnection({ extensions: [bad] }))).toThrow(LocalProtocolError);
  });
});

describe("buildRejectResponse", () => {
  it("without a body: adds Content-Length: 0 (as wsproto)", () => {
    const { bytes, body } = buildRejectResponse(new RejectConnection());
    expect(dec(bytes)).toBe("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    expect(body).toBeNull();
  });

  it("writes the hint of a version failure", () => {
    const e = remoteError(() => receive(replaced("Sec-WebSocket-Version", "8")));
    expect(dec(buildRejectResponse(e.eventHint!).bytes)).toBe(
      "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n",
    );
  });

  it("keeps the caller's Content-Length: 0 and unknown reason phrases empty", () => {
    const { bytes } = buildRejectResponse(new RejectConnection({ statusCode: 499, headers: [["content-length", "0"]] }));
    expect(dec(bytes)).toBe("HTTP/1.1 499 \r\ncontent-length: 0\r\n\r\n");
  });

  it("with a body and no framing header: chunked", () => {
    const { bytes, body } = buildRejectResponse(
      new RejectConnection({ statusCode: 403, headers: [["Content-Type", "text/plain"]], hasBody: true }),
    );
    expect(dec(bytes)).toBe("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n");
    expect(dec(body!.write(new RejectData({ data: enc("Hello, "), bodyFinished: false })))).toBe("7\r\nHello, \r\n");
    expect(dec(body!.write(new RejectData({ data: new Uint8Array(0), bodyFinished: false })))).toBe("");
    expect(dec(body!.write(new RejectData({ data: enc("world, this is long"), bodyFinished: false })))).toBe(
      "13\r\nworld, this is long\r\n",
    );
    expect(dec(body!.write(new RejectData({ data: enc("!") })))).toBe("1\r\n!\r\n0\r\n\r\n");
    expect(body!.finished).toBe(true);
    expect(() => body!.write(new RejectData({ data: enc("more") }))).toThrow(LocalProtocolError);
  });

  it("with the caller's Transfer-Encoding: chunked", () => {
    const { bytes, body } = buildRejectResponse(
      new RejectConnection({ statusCode: 500, headers: [["Transfer-Encoding", "Chunked"]], hasBody: true }),
    );
    expect(dec(bytes)).toBe("HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: Chunked\r\n\r\n");
    expect(dec(body!.write(new RejectData({ data: new Uint8Array(0) })))).toBe("0\r\n\r\n");
  });

  it("with the caller's Content-Length: the writer checks the byte count", () => {
    const make = () =>
      buildRejectResponse(new RejectConnection({ statusCode: 404, headers: [["Content-Length", "5"]], hasBody: true }));
    const { bytes, body } = make();
    expect(dec(bytes)).toBe("HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\n");
    expect(dec(body!.write(new RejectData({ data: enc("ab"), bodyFinished: false })))).toBe("ab");
    // Too much, or finished too early: refused, nothing changes.
    expect(() => body!.write(new RejectData({ data: enc("cdef"), bodyFinished: false }))).toThrow(LocalProtocolError);
    expect(() => body!.write(new RejectData({ data: enc("c"), bodyFinished: true }))).toThrow(LocalProtocolError);
    expect(dec(body!.write(new RejectData({ data: enc("cde"), bodyFinished: true })))).toBe("cde");
    expect(body!.finished).toBe(true);
  });

  it.each<[string, RejectConnection]>([
    ["status 101", new RejectConnection({ statusCode: 101 })],
    ["status 100", new RejectConnection({ statusCode: 100 })],
    ["status 600", new RejectConnection({ statusCode: 600 })],
    ["a fractional status", new RejectConnection({ statusCode: 400.5 })],
    ["CR/LF injection", new RejectConnection({ headers: [["X", "a\r\n\r\nbody"]] })],
    ["a bad name", new RejectConnection({ headers: [["X:", "a"]] })],
    ["no body but Content-Length 3", new RejectConnection({ headers: [["Content-Length", "3"]] })],
    ["no body but chunked", new RejectConnection({ headers: [["Transfer-Encoding", "chunked"]] })],
    ["both framings", new RejectConnection({ hasBody: true, headers: [["Content-Length", "3"], ["Transfer-Encoding", "chunked"]] })],
    ["a bad Content-Length", new RejectConnection({ hasBody: true, headers: [["Content-Length", "-3"]] })],
    ["two Content-Lengths", new RejectConnection({ hasBody: true, headers: [["Content-Length", "3"], ["content-length", "3"]] })],
    ["gzip transfer coding", new RejectConnection({ hasBody: true, headers: [["Transfer-Encoding", "gzip"]] })],
    ["a 204 with a body", new RejectConnection({ statusCode: 204, hasBody: true })],
  ])("refuses %s (LocalProtocolError)", (_, reject) => {
    expect(() => buildRejectResponse(reject)).toThrow(LocalProtocolError);
  });
});

describe("accept token", () => {
  it("matches RFC 6455 §1.3", () => {
    expect(generateAcceptToken(KEY)).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  });
});
