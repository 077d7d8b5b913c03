import { describe, expect, it } from "vitest";
import { HttpHeadParser, type HttpRequestHead } from "../../../codec/handshake/http-head.js";
import { packRequest, unpackRequest } from "../../../codec/handshake/packed-request.js";
import { validateUpgradeRequest } from "../../../codec/handshake/server.js";
import { Request } from "../../../codec/events.js";
import { FakeExtension, enc } from "./helpers.js";

function received(head: string): Request {
  const parsed = new HttpHeadParser({ kind: "request" }).push(enc(head));
  return validateUpgradeRequest(parsed as HttpRequestHead);
}

const HEAD =
  "GET /room/42?x=1 HTTP/1.1\r\nHost: server.example.com:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat.v2, chat.v1\r\n" +
  'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-test; a="1,2"\r\nX-Empty:\r\nCookie: a=b; c=d\r\n\r\n';

describe("packRequest / unpackRequest", () => {
  it("give back a Request equal to a received one, every field in order", () => {
    const request = received(HEAD);
    const packed = packRequest(request);
    expect(packed).not.toBeNull();
    const unpacked = unpackRequest(packed!);
    expect(unpacked).toBeInstanceOf(Request);
    expect(unpacked).not.toBe(request);
    expect(unpacked).toEqual(request);
    expect(unpacked.subprotocols).toEqual(["chat.v2", "chat.v1"]);
    expect(unpacked.extensions).toEqual(["permessage-deflate; client_max_window_bits", 'x-test; a="1,2"']);
    expect(unpacked.extraHeaders).toContainEqual(["x-empty", ""]);
  });

  it("round-trip a request without offers or extra headers", () => {
    const request = new Request({ host: "h", target: "/" });
    expect(unpackRequest(packRequest(request)!)).toEqual(request);
  });

  it("pack the same Request twice in a row to the same string, so that its holders share one copy", () => {
    const request = received(HEAD);
    const packed = packRequest(request);
    expect(packRequest(request)).toBe(packed);
    expect(packRequest(received(HEAD))).toBe(packed); // equal strings for an equal request
  });

  it("write a common header name as one character, and give any other name back as it was", () => {
    const common = new Request({ host: "h", target: "/", extraHeaders: [["user-agent", "u"], ["sec-websocket-key", "k"]] });
    expect(packRequest(common)).toBe("h\n/\n0\n0\n\x06\nu\n\x03\nk");
    const unusual = new Request({ host: "h", target: "/", extraHeaders: [["User-Agent", "u"], ["x", "1"], ["a\tb", ""]] });
    expect(unpackRequest(packRequest(unusual)!)).toEqual(unusual);
  });

  it("decline what they could not give back: a field holding LF, a name that reads as a code, an Extension object", () => {
    expect(packRequest(new Request({ host: "h", target: "/", extraHeaders: [["x-a", "1\n2"]] }))).toBeNull();
    expect(packRequest(new Request({ host: "h", target: "/", extraHeaders: [["\x01", "1"]] }))).toBeNull();
    expect(packRequest(new Request({ host: "h\n", target: "/" }))).toBeNull();
    expect(packRequest(new Request({ host: "h", target: "/", extensions: [new FakeExtension({ name: "x-fake" })] }))).toBeNull();
  });
});
