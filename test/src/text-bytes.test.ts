/**
 * Text as bytes through WSConnection: `textAs: "bytes"` yields TextBytesMessage, a
 * TextBytesMessage is sent as a text frame once its UTF-8 is validated (a refused one changes
 * nothing), and the option survives persistence.
 */
import { describe, expect, it } from "vitest";
import {
  AcceptConnection,
  BytesMessage,
  ConnectionType,
  LocalProtocolError,
  PerMessageDeflate,
  Request,
  TextBytesMessage,
  TextMessage,
  WSConnection,
  type ConnectionOptions,
  type Event,
} from "../../src/index.js";

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

function openPair(options: ConnectionOptions = {}, deflate = false): { client: WSConnection; server: WSConnection } {
  const client = new WSConnection(ConnectionType.CLIENT, options);
  const server = new WSConnection(ConnectionType.SERVER, options);
  server.receiveData(client.send(new Request({ host: "example.com", target: "/", extensions: deflate ? [new PerMessageDeflate()] : [] })));
  [...server.events()];
  client.receiveData(server.send(new AcceptConnection({ extensions: deflate ? [new PerMessageDeflate()] : [] })));
  [...client.events()];
  return { client, server };
}

function received(peer: WSConnection, bytes: Uint8Array): Event[] {
  peer.receiveData(bytes);
  return [...peer.events()];
}

describe("text as bytes in WSConnection", () => {
  for (const deflate of [false, true]) {
    it(`textAs "bytes" yields TextBytesMessage whose bytes are the sent text's UTF-8${deflate ? " (permessage-deflate)" : ""}`, () => {
      const { client, server } = openPair({ textAs: "bytes" }, deflate);
      const [event] = received(server, client.send(new TextMessage({ data: "héllo €" })));
      expect(event).toBeInstanceOf(TextBytesMessage);
      expect(event!.type).toBe("TextBytesMessage");
      expect((event as TextBytesMessage).data).toEqual(utf8("héllo €"));
      // Sent back as TextBytesMessage, a peer in the default mode reads it as text.
      const [echo] = received(client, server.send(new TextBytesMessage({ data: (event as TextBytesMessage).data })));
      expect(echo).toBeInstanceOf(TextBytesMessage);
      const plain = openPair({}, deflate);
      const [text] = received(plain.server, plain.client.send(new TextBytesMessage({ data: utf8("ça") })));
      expect(text).toBeInstanceOf(TextMessage);
      expect((text as TextMessage).data).toBe("ça");
    });
  }

  it("fragments of a TextBytesMessage may split a code point; the receiver joins it", () => {
    const { client, server } = openPair();
    const euro = utf8("€");
    const wire = [
      client.send(new TextBytesMessage({ data: euro.subarray(0, 1), messageFinished: false })),
      client.send(new TextBytesMessage({ data: euro.subarray(1), messageFinished: true })),
    ];
    const texts = wire.flatMap((bytes) => received(server, bytes)).map((event) => (event as TextMessage).data);
    expect(texts.join("")).toBe("€");
  });

  it("refuses bytes that are not UTF-8 with LocalProtocolError citing RFC 6455 §8.1, and changes nothing", () => {
    const { client, server } = openPair();
    expect(() => client.send(new TextBytesMessage({ data: new Uint8Array([0x41, 0xff]) }))).toThrow(LocalProtocolError);
    expect(() => client.send(new TextBytesMessage({ data: new Uint8Array([0xe2, 0x82]) }))).toThrow(/RFC 6455 §8\.1/);
    // A fragment ending inside a code point is fine; a string cannot then continue the message.
    const first = received(server, client.send(new TextBytesMessage({ data: new Uint8Array([0xe2, 0x82]), messageFinished: false })));
    // The frame's text so far is empty: the server's decoder holds the unfinished code point.
    expect(first).toMatchObject([{ type: "TextMessage", data: "", messageFinished: false }]);
    expect(() => client.send(new TextMessage({ data: "x" }))).toThrow(/inside a UTF-8 code point/);
    expect(() => client.send(new TextBytesMessage({ data: new Uint8Array([0x41]) }))).toThrow(LocalProtocolError);
    const [event] = received(server, client.send(new TextBytesMessage({ data: new Uint8Array([0xac, 0x21]) })));
    expect(event).toMatchObject({ type: "TextMessage", data: "€!", messageFinished: true });
    expect(client.send(new BytesMessage({ data: new Uint8Array([0xff]) }))).toBeInstanceOf(Uint8Array);
  });

  it("keeps textAs across persistence", () => {
    const { client } = openPair({ textAs: "bytes" });
    const snapshot = JSON.parse(JSON.stringify(client.actor.getPersistedSnapshot())) as ConnectionOptions["snapshot"];
    const restored = new WSConnection(ConnectionType.CLIENT, { snapshot });
    const server = openPair().server;
    const [event] = received(restored, server.send(new TextMessage({ data: "back" })));
    expect(event).toBeInstanceOf(TextBytesMessage);
  });
});
