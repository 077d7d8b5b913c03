/** The RFC 8441 handshake's validation and headers (codec/handshake/http2.ts). */
import { describe, expect, it } from "vitest";
import {
  buildExtendedConnect,
  buildExtendedConnectResponse,
  validateExtendedConnect,
  validateExtendedConnectResponse,
} from "../../../codec/handshake/http2.js";
import type { Headers } from "../../../codec/events.js";
import { LocalProtocolError, RemoteProtocolError } from "../../../codec/errors.js";
import { AcceptConnection, RejectConnection, Request } from "../../../codec/events.js";
import { PerMessageDeflate } from "../../../src/extensions/permessage-deflate.js";

const VALID: Headers = [
  [":method", "CONNECT"],
  [":protocol", "websocket"],
  [":scheme", "https"],
  [":path", "/chat?room=1"],
  [":authority", "example.com"],
  ["sec-websocket-version", "13"],
  ["sec-websocket-protocol", "chat, superchat"],
  ["sec-websocket-extensions", "permessage-deflate; client_max_window_bits"],
  ["origin", "https://example.com"],
];

function without(name: string, headers: Headers = VALID): Headers {
  return headers.filter(([header]) => header !== name);
}

function replaced(name: string, value: string): Headers {
  return VALID.map(([header, old]) => [header, header === name ? value : old]);
}

function rejection(headers: Headers): { status: number; message: string } {
  try {
    validateExtendedConnect(headers);
  } catch (error) {
    expect(error).toBeInstanceOf(RemoteProtocolError);
    const hint = (error as RemoteProtocolError).eventHint as RejectConnection;
    return { status: hint.statusCode, message: (error as Error).message };
  }
  throw new Error("the request was accepted");
}

describe("validateExtendedConnect (server, RFC 8441 §4–5)", () => {
  it("reads a valid request: :authority as host, :path as target, the offers, the other headers", () => {
    const request = validateExtendedConnect(VALID);
    expect(request.host).toBe("example.com");
    expect(request.target).toBe("/chat?room=1");
    expect(request.subprotocols).toEqual(["chat", "superchat"]);
    expect(request.extensions).toEqual(["permessage-deflate; client_max_window_bits"]);
    expect(request.extraHeaders).toEqual([["origin", "https://example.com"]]);
  });

  it.each([
    ["a GET", replaced(":method", "GET"), 400, /CONNECT.*RFC 8441 §4/],
    ["a CONNECT without :protocol", without(":protocol"), 400, /without :protocol.*RFC 8441 §4/],
    ["another :protocol", replaced(":protocol", "h2c"), 400, /"websocket".*RFC 8441 §5/],
    ["no :scheme", without(":scheme"), 400, /:scheme.*RFC 8441 §4/],
    ["no :path", without(":path"), 400, /:path.*RFC 8441 §4/],
    ["no :authority", without(":authority"), 400, /:authority/],
    ["no Sec-WebSocket-Version", without("sec-websocket-version"), 426, /Missing header, 'Sec-WebSocket-Version'/],
    ["version 8", replaced("sec-websocket-version", "8"), 426, /Unsupported Sec-WebSocket-Version.*RFC 6455 §4.4/],
    ["a Connection header", [...VALID, ["connection", "upgrade"]] as Headers, 400, /connection-specific.*RFC 9113 §8.2.2/],
    ["an invalid subprotocol", replaced("sec-websocket-protocol", "a b"), 400, /malformed Sec-WebSocket-Protocol|invalid subprotocol/],
    ["a repeated pseudo-header", [...VALID, [":path", "/other"]] as Headers, 400, /repeated pseudo-header/],
  ])("refuses %s", (_name, headers, status, message) => {
    const refused = rejection(headers);
    expect(refused.status).toBe(status);
    expect(refused.message).toMatch(message);
  });

  it("tells a client that sent the wrong version which one to use (RFC 6455 §4.4)", () => {
    let hint: RejectConnection | null = null;
    try {
      validateExtendedConnect(replaced("sec-websocket-version", "8"));
    } catch (error) {
      hint = (error as RemoteProtocolError).eventHint as RejectConnection;
    }
    expect(hint?.headers).toEqual([["sec-websocket-version", "13"]]);
  });
});

describe("the accepting response and the client's side", () => {
  it("answers 200 without Sec-WebSocket-Accept, with the chosen subprotocol and the negotiated extension; the client finalizes it", () => {
    const clientDeflate = new PerMessageDeflate();
    const sent = buildExtendedConnect(new Request({ host: "example.com", target: "/chat", subprotocols: ["chat"], extensions: [clientDeflate] }), "https");
    expect(sent.headers.slice(0, 6)).toEqual([
      [":method", "CONNECT"],
      [":protocol", "websocket"],
      [":scheme", "https"],
      [":path", "/chat"],
      [":authority", "example.com"],
      ["sec-websocket-version", "13"],
    ]);
    expect(sent.headers.some(([name]) => name === "sec-websocket-key")).toBe(false);
    const request = validateExtendedConnect(sent.headers);
    const response = buildExtendedConnectResponse(request, new AcceptConnection({ subprotocol: "chat", extensions: [new PerMessageDeflate()] }));
    expect(response.headers[0]).toEqual([":status", "200"]);
    expect(response.headers.some(([name]) => name === "sec-websocket-accept")).toBe(false);
    expect(response.extensions.map((extension) => extension.name)).toEqual(["permessage-deflate"]);
    const answer = validateExtendedConnectResponse(200, response.headers, sent);
    expect(answer).toBeInstanceOf(AcceptConnection);
    expect((answer as AcceptConnection).subprotocol).toBe("chat");
    expect((answer as AcceptConnection).extensions).toEqual([clientDeflate]);
  });

  it("a non-2xx is a rejection; a subprotocol or extension that was not offered is a protocol error", () => {
    const sent = buildExtendedConnect(new Request({ host: "h", target: "/", subprotocols: ["chat"] }), "http");
    expect(validateExtendedConnectResponse(403, [["x-why", "no"]], sent)).toMatchObject({ statusCode: 403, headers: [["x-why", "no"]] });
    expect(() => validateExtendedConnectResponse(200, [["sec-websocket-protocol", "other"]], sent)).toThrow(/not offered/);
    expect(() => validateExtendedConnectResponse(200, [["sec-websocket-extensions", "permessage-deflate"]], sent)).toThrow(/not offered.*RFC 6455 §9.1/);
  });

  it("refuses, as the caller's mistake, a subprotocol the client did not offer and headers HTTP/2 forbids", () => {
    const request = validateExtendedConnect(VALID);
    expect(() => buildExtendedConnectResponse(request, new AcceptConnection({ subprotocol: "other" }))).toThrow(LocalProtocolError);
    expect(() => buildExtendedConnectResponse(request, new AcceptConnection({ extraHeaders: [["Connection", "close"]] }))).toThrow(/RFC 9113 §8.2.2/);
    expect(() => buildExtendedConnect(new Request({ host: "h", target: "/", extraHeaders: [["Upgrade", "websocket"]] }), "http")).toThrow(LocalProtocolError);
  });
});
