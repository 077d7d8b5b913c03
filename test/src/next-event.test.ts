/**
 * `nextEvent()` is `events()` one event at a time, without a generator: the same events, the
 * same state changes at the same moments, however the input is chunked and however reads and
 * receives interleave.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BytesMessage, CloseConnection, Ping, TextMessage, WSConnection, type Event } from "../../src/index.js";
import { copy, openPair } from "../helpers/pair.js";

/** What a client sends: a mix of messages, fragments, pings and finally a close. */
function clientStream(texts: string[], fragmentAt: number): Uint8Array {
  const { client } = openPair();
  const parts: Uint8Array[] = [];
  texts.forEach((text, index) => {
    if (index === fragmentAt && text.length > 1) {
      parts.push(client.send(new TextMessage({ data: text.slice(0, 1), messageFinished: false })));
      parts.push(client.send(new Ping({ payload: "between" })));
      parts.push(client.send(new TextMessage({ data: text.slice(1), messageFinished: true })));
    } else {
      parts.push(index % 2 === 0 ? client.send(new TextMessage({ data: text })) : client.send(new BytesMessage({ data: new TextEncoder().encode(text) })));
    }
  });
  parts.push(client.send(new CloseConnection({ code: 1000, reason: "done" })));
  // A plain Uint8Array: Buffer.slice would give views, and a server unmasks what it receives in place.
  return new Uint8Array(Buffer.concat(parts));
}

function describeEvents(events: Event[]): string[] {
  return events.map((event) => `${event.type}:${JSON.stringify((event as { data?: unknown }).data ?? (event as { code?: number }).code ?? "")}`);
}

/** Feed `stream` in the given chunks; after each, read with `read`; states seen after each chunk. */
function run(server: WSConnection, stream: Uint8Array, cuts: number[], read: (connection: WSConnection) => Event[]): { events: string[]; states: string[] } {
  const events: Event[] = [];
  const states: string[] = [];
  let start = 0;
  for (const cut of [...cuts, stream.length]) {
    server.receiveData(copy(stream.subarray(start, cut)));
    start = cut;
    events.push(...read(server));
    states.push(server.state);
  }
  return { events: describeEvents(events), states };
}

describe("nextEvent()", () => {
  it("yields what events() yields, with the same states, in any chunking (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 6 }), fc.nat(6), fc.uniqueArray(fc.nat(400), { maxLength: 6 }), (texts, fragmentAt, rawCuts) => {
        const stream = clientStream(texts, fragmentAt);
        const cuts = rawCuts.filter((cut) => cut > 0 && cut < stream.length).sort((a, b) => a - b);
        const viaGenerator = run(openPair().server, stream, cuts, (connection) => [...connection.events()]);
        const viaNext = run(openPair().server, stream, cuts, (connection) => {
          const events: Event[] = [];
          for (let event = connection.nextEvent(); event !== null; event = connection.nextEvent()) events.push(event);
          return events;
        });
        expect(viaNext).toEqual(viaGenerator);
        expect(viaNext.states.at(-1)).toBe("REMOTE_CLOSING");
      }),
      { numRuns: 150 },
    );
  });

  it("returns null when nothing is pending, and reads lazily: what is not asked for stays buffered", () => {
    const { client, server } = openPair();
    expect(server.nextEvent()).toBeNull();
    server.receiveData(new Uint8Array(Buffer.concat([client.send(new TextMessage({ data: "one" })), client.send(new CloseConnection({ code: 1000 }))])));
    expect((server.nextEvent() as TextMessage).data).toBe("one");
    // The close frame is not read until asked for: the state has not moved yet.
    expect(server.state).toBe("OPEN");
    expect(server.nextEvent()?.type).toBe("CloseConnection");
    expect(server.state).toBe("REMOTE_CLOSING");
    expect(server.nextEvent()).toBeNull();
  });
});
