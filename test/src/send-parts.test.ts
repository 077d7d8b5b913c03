import { describe, expect, it } from "vitest";
import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  ConnectionType,
  LocalProtocolError,
  Message,
  Ping,
  Request,
  TextMessage,
  WSConnection,
  type Event,
} from "../../src/index.js";

function openPair(): { client: WSConnection; server: WSConnection } {
  const client = new WSConnection(ConnectionType.CLIENT);
  const server = new WSConnection(ConnectionType.SERVER);
  server.receiveData(client.send(new Request({ host: "example.com", target: "/" })));
  [...server.events()];
  client.receiveData(server.send(new AcceptConnection()));
  [...client.events()];
  return { client, server };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

function received(peer: WSConnection, bytes: Uint8Array): Event[] {
  peer.receiveData(bytes);
  return [...peer.events()];
}

describe("WSConnection.sendParts", () => {
  it("server: a binary message's header, then the caller's payload array uncopied", () => {
    const { client, server } = openPair();
    for (const size of [0, 1, 125, 126, 65535, 65536, 70000]) {
      const payload = new Uint8Array(size).map((_, i) => i * 7);
      const parts = server.sendParts(new BytesMessage({ data: payload }));
      if (size === 0) expect(parts).toHaveLength(1);
      else {
        expect(parts).toHaveLength(2);
        expect(parts[1]).toBe(payload);
      }
      const single = server.send(new BytesMessage({ data: payload }));
      expect(concat(parts)).toEqual(single);
      const events = received(client, concat(parts));
      const data = concat(events.map((event) => (event as BytesMessage).data));
      expect(data).toEqual(payload);
    }
  });

  it("server: text, fragments and Message with either kind of data", () => {
    const { client, server } = openPair();
    const parts = [
      ...server.sendParts(new TextMessage({ data: "héllo ", messageFinished: false })),
      ...server.sendParts(new TextMessage({ data: "wörld" })),
      ...server.sendParts(new Message({ data: "plain" })),
      ...server.sendParts(new Message({ data: new Uint8Array([1, 2, 3]) })),
    ];
    const events = received(client, concat(parts));
    expect(events.map((event) => (event as Message).data)).toEqual(["héllo ", "wörld", "plain", new Uint8Array([1, 2, 3])]);
  });

  it("client: one masked chunk per frame, as send() produces", () => {
    const { client, server } = openPair();
    const payload = new Uint8Array(1000).fill(9);
    const parts = client.sendParts(new BytesMessage({ data: payload }));
    expect(parts).toHaveLength(1);
    expect(parts[0]![1]! & 0x80).toBe(0x80);
    const events = received(server, parts[0]!);
    expect((events[0] as BytesMessage).data).toEqual(payload);
  });

  it("other events come as one chunk, with send()'s checks and state changes", () => {
    const { client, server } = openPair();
    const ping = server.sendParts(new Ping({ payload: new Uint8Array([1]) }));
    expect(ping).toHaveLength(1);
    expect(received(client, ping[0]!)[0]).toBeInstanceOf(Ping);
    expect(() => server.sendParts(new Request({ host: "h", target: "/" }))).toThrow(LocalProtocolError);
    const close = server.sendParts(new CloseConnection({ code: 1000 }));
    expect(close).toHaveLength(1);
    expect(server.state).toBe("LOCAL_CLOSING");
  });
});
