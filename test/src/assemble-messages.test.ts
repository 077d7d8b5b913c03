/** WSConnection's assembleMessages option: whole messages, with and without permessage-deflate. */
import { describe, expect, it } from "vitest";
import { AcceptConnection, BytesMessage, CloseConnection, PerMessageDeflate, Request, TextMessage, type Event } from "../../src/index.js";
import { openPair } from "../helpers/pair.js";

function pair(deflate: boolean, maxMessageSize?: number) {
  return openPair({
    client: { maxMessageSize },
    server: { assembleMessages: true, maxMessageSize },
    request: new Request({ host: "example.com", target: "/", extensions: deflate ? [new PerMessageDeflate()] : [] }),
    accept: new AcceptConnection({ extensions: deflate ? [new PerMessageDeflate()] : [] }),
  });
}

/** Everything `wire` makes the server yield when it arrives in chunks of `size` bytes. */
function receiveInChunks(server: ReturnType<typeof pair>["server"], wire: Uint8Array[], size: number): Event[] {
  const joined = Buffer.concat(wire);
  const received: Event[] = [];
  for (let start = 0; start < joined.length; start += size) {
    server.receiveData(joined.slice(start, start + size));
    received.push(...server.events());
  }
  return received;
}

describe("WSConnection: assembleMessages", () => {
  for (const deflate of [false, true]) {
    const label = deflate ? "with permessage-deflate" : "without extensions";

    it(`yields each fragmented message, received in small chunks, as one event (${label})`, () => {
      const { client, server } = pair(deflate);
      const payload = new Uint8Array(200_000).map((_, i) => (i * 31 + (i >>> 9)) & 0xff);
      const wire = [
        client.send(new BytesMessage({ data: payload.subarray(0, 70_000), messageFinished: false })),
        client.send(new BytesMessage({ data: payload.subarray(70_000), messageFinished: true })),
        client.send(new TextMessage({ data: "héllo ", messageFinished: false })),
        client.send(new TextMessage({ data: "wörld", messageFinished: true })),
      ];
      for (const size of [1000, 65_536]) {
        const messages = receiveInChunks(server, wire.map((bytes) => bytes.slice()), size);
        expect(messages).toHaveLength(2);
        expect(messages[0]).toBeInstanceOf(BytesMessage);
        expect(Buffer.from((messages[0] as BytesMessage).data).equals(Buffer.from(payload))).toBe(true);
        expect(messages[1]).toBeInstanceOf(TextMessage);
        expect(messages[1]).toMatchObject({ data: "héllo wörld", frameFinished: true, messageFinished: true });
        expect((messages[0] as BytesMessage).messageFinished).toBe(true);
        if (deflate) break; // the compressor's context moved on: the same bytes cannot be read twice
      }
    });

    it(`ends a message over maxMessageSize with 1009 (${label})`, () => {
      const { client, server } = pair(deflate, 100_000);
      const payload = new Uint8Array(150_000).map((_, i) => (i * 7) & 0xff);
      const events = receiveInChunks(server, [client.send(new BytesMessage({ data: payload }))], 4096);
      expect(events.filter((event) => event instanceof BytesMessage)).toHaveLength(0);
      expect(events.at(-1)).toBeInstanceOf(CloseConnection);
      expect((events.at(-1) as CloseConnection).code).toBe(1009);
    });
  }
});
