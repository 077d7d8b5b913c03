/**
 * Text as validated bytes over loopback (`textAs: "bytes"`, `send(data, { binary })`): an echo
 * server that never decodes text passes the echo battery, invalid UTF-8 still fails with 1007,
 * and sending bytes as text validates them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runEchoBattery } from "../../examples/echo-battery.js";
import { LocalProtocolError } from "../../src/index.js";
import { connect, createWebSocketServer, type WebSocketEndpoint, type WebSocketServer } from "../../src/node/index.js";
import { eventually, inbox, openWsClient, within, wsInbox } from "./helpers.js";
import { openRawPeer } from "./raw-peer.js";

let server: WebSocketServer;
let url: string;
let port: number;
/** What the server's listener was handed, per message. */
const received: Array<{ data: string | Uint8Array; isBinary: boolean }> = [];

beforeAll(async () => {
  server = createWebSocketServer({ perMessageDeflate: true, textAs: "bytes" }, (endpoint: WebSocketEndpoint) => {
    endpoint.on("message", (data, isBinary) => {
      received.push({ data, isBinary });
      endpoint.send(data, { binary: isBinary });
    });
    endpoint.on("error", () => {});
  });
  const address = await server.listen(0, "127.0.0.1");
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  port = address.port;
  url = `ws://127.0.0.1:${port}/`;
});

afterAll(async () => {
  await server.close();
});

/** A masked client frame, by hand (the raw peer writes bytes the library would refuse to send). */
function maskedFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const key = [0x12, 0x34, 0x56, 0x78];
  const frame = new Uint8Array(2 + 4 + payload.length);
  frame[0] = 0x80 | opcode;
  frame[1] = 0x80 | payload.length;
  frame.set(key, 2);
  payload.forEach((byte, index) => (frame[6 + index] = byte ^ key[index % 4]!));
  return frame;
}

describe("textAs: \"bytes\" over loopback", () => {
  for (const deflate of [false, true]) {
    it(`an echo server that never decodes text passes the echo battery${deflate ? " with permessage-deflate" : ""}`, async () => {
      const results = await runEchoBattery(url, { deflate });
      expect(results.filter((result) => !result.ok).map((result) => `${result.name}: ${result.detail}`)).toEqual([]);
      expect(results.length).toBe(18);
    });
  }

  it("hands text to the listener as its UTF-8 bytes with isBinary false, and echoes it as text (a ws client sees text)", async () => {
    received.length = 0;
    const socket = await openWsClient(url);
    const messages = wsInbox(socket);
    socket.send("héllo 😀");
    expect(await messages.next()).toEqual({ data: "héllo 😀", isBinary: false });
    socket.send(new Uint8Array([1, 2, 3]));
    expect(await messages.next()).toEqual({ data: new Uint8Array([1, 2, 3]), isBinary: true });
    expect(received[0]!.isBinary).toBe(false);
    expect(received[0]!.data).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(received[0]!.data as Uint8Array)).toBe("héllo 😀");
    socket.close();
  });

  it("fails a peer's invalid UTF-8 with 1007 (RFC 6455 §8.1), as the string path does", async () => {
    const peer = await openRawPeer(port);
    peer.socket.write(maskedFrame(0x1, new Uint8Array([0x41, 0xff, 0x42])));
    await within(peer.closed, 5_000, "the server to close");
    const bytes = peer.received();
    // The server's close frame: 88, its length (the code and a reason), then 03 ef (1007).
    expect(bytes[0]).toBe(0x88);
    expect([...bytes.subarray(2, 4)]).toEqual([0x03, 0xef]);
  });

  it("a client with textAs \"bytes\" gets text as bytes; send(bytes, { binary: false }) validates them", async () => {
    const client = await connect(url, { textAs: "bytes" });
    const messages = inbox(client);
    expect(client.send(new TextEncoder().encode("ça va"), { binary: false })).toBe(true);
    const echo = await messages.next();
    expect(echo.isBinary).toBe(false);
    expect(new Uint8Array(echo.data as Uint8Array)).toEqual(new TextEncoder().encode("ça va"));
    // Not UTF-8: refused with LocalProtocolError, and nothing was sent (the connection goes on).
    expect(() => client.send(new Uint8Array([0xc0, 0x80]), { binary: false })).toThrow(LocalProtocolError);
    expect(() => client.send(new Uint8Array([0xc0, 0x80]), { binary: false })).toThrow(/RFC 6455 §8\.1/);
    // A string with binary: true goes out as its UTF-8 bytes in a binary message.
    expect(client.send("é", { binary: true })).toBe(true);
    const binary = await messages.next();
    expect(binary.isBinary).toBe(true);
    expect(new Uint8Array(binary.data as Uint8Array)).toEqual(new TextEncoder().encode("é"));
    expect(client.sendFragment(new Uint8Array([0xe2, 0x82]), false, { binary: false })).toBe(true);
    expect(client.sendFragment(new Uint8Array([0xac]), true, { binary: false })).toBe(true);
    const joined = await messages.next();
    expect(joined.isBinary).toBe(false);
    expect(new Uint8Array(joined.data as Uint8Array)).toEqual(new TextEncoder().encode("€"));
    client.close();
    await eventually(() => client.state === "CLOSED", "the client to close");
  });
});
