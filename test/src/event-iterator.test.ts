/**
 * `events()` without a recorder returns an EventIterator, not a generator object (a driver calls
 * it after every read): it must behave as the generator did — each pending event once, then done
 * (until `events()` hands it out again); `return()` and `throw()` end it; an error from the
 * connection ends it too. An ended one is reused, an unfinished one never is.
 */
import { describe, expect, it } from "vitest";
import { BytesMessage, TextMessage } from "../../src/index.js";
import { EventIterator } from "../../src/event-iterator.js";
import { copy, openPair } from "../helpers/pair.js";

describe("events() iterator", () => {
  it("yields the pending events once, then stays done until events() is called again", () => {
    const { client, server } = openPair();
    server.receiveData(copy(client.send(new TextMessage({ data: "one" }))));
    server.receiveData(copy(client.send(new TextMessage({ data: "two" }))));
    const iterator = server.events();
    expect(iterator[Symbol.iterator]() === iterator).toBe(true);
    expect((iterator.next().value as TextMessage).data).toBe("one");
    expect((iterator.next().value as TextMessage).data).toBe("two");
    expect(iterator.next()).toEqual({ value: undefined, done: true });
    server.receiveData(copy(client.send(new TextMessage({ data: "three" }))));
    expect(iterator.next().done).toBe(true);
    // A new call sees it; the ended iterator is what it hands out again.
    const again = server.events();
    expect(again === iterator).toBe(true);
    expect([...again].map((event) => (event as TextMessage).data)).toEqual(["three"]);
  });

  it("never hands out an iterator that has not ended", () => {
    const { client, server } = openPair();
    for (const data of ["a", "b", "c"]) server.receiveData(copy(client.send(new TextMessage({ data }))));
    const outer = server.events();
    expect((outer.next().value as TextMessage).data).toBe("a");
    const inner = server.events();
    expect(inner === outer).toBe(false);
    expect((inner.next().value as TextMessage).data).toBe("b");
    expect((outer.next().value as TextMessage).data).toBe("c");
    expect(outer.next().done).toBe(true);
    expect(inner.next().done).toBe(true);
  });

  it("return() and throw() end it; nothing is consumed after", () => {
    const { client, server } = openPair();
    for (const data of ["a", "b", "c"]) server.receiveData(copy(client.send(new TextMessage({ data }))));
    const first = server.events();
    for (const event of first) {
      expect((event as TextMessage).data).toBe("a");
      break; // calls return()
    }
    expect(first.next().done).toBe(true);
    const second = server.events();
    expect(() => second.throw(new Error("stop"))).toThrow("stop");
    expect(second.next().done).toBe(true);
    expect([...server.events()].map((event) => (event as TextMessage).data)).toEqual(["b", "c"]);
  });

  it("an error thrown while reading ends it", () => {
    let calls = 0;
    const iterator = new EventIterator<number>({
      nextEvent: () => {
        calls++;
        throw new Error("broken");
      },
    });
    expect(() => iterator.next()).toThrow("broken");
    expect(iterator.next().done).toBe(true);
    expect(calls).toBe(1);
  });

  it("inherits from %IteratorPrototype%, as a generator does", () => {
    const { server } = openPair();
    const iteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));
    expect(Object.getPrototypeOf(Object.getPrototypeOf(server.events()))).toBe(iteratorPrototype);
  });

  it("does not change what a message-per-read driver sees for large binary messages", () => {
    const { client, server } = openPair({ server: { assembleMessages: true } });
    const payload = new Uint8Array(300_000).map((_, index) => index * 7);
    const wire = copy(client.send(new BytesMessage({ data: payload })));
    const seen: Uint8Array[] = [];
    for (let start = 0; start < wire.length; start += 4096) {
      server.receiveData(wire.slice(start, start + 4096));
      for (const event of server.events()) seen.push((event as BytesMessage).data);
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]).toEqual(payload);
  });
});
