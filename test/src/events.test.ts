import { describe, expect, it } from "vitest";
import {
  AcceptConnection,
  BytesMessage,
  CloseConnection,
  Event,
  Message,
  Ping,
  Pong,
  RejectConnection,
  RejectData,
  Request,
  TextMessage,
  type WebSocketEvent,
} from "../../src/index.js";
import { describeValue } from "../../codec/events.js";

/**
 * Type-checked by `npm test` (tsc): each case reads a field only its class has, which compiles
 * only if `switch (event.type)` narrows the union. Run below on one event of each class.
 */
function summarize(event: WebSocketEvent): string {
  switch (event.type) {
    case "Request":
      return `${event.host}${event.target}`;
    case "AcceptConnection":
      return `subprotocol ${event.subprotocol}`;
    case "RejectConnection":
      return `status ${event.statusCode}`;
    case "RejectData":
      return `${event.data.length} body bytes`;
    case "CloseConnection":
      return `close ${event.code}`;
    case "TextMessage":
      return `text ${event.data.toUpperCase()}`;
    case "BytesMessage":
      return `bytes ${event.data.byteLength}`;
    case "TextBytesMessage":
      return `text bytes ${event.data.byteLength}`;
    case "Ping":
    case "Pong":
      return `${event.type} ${event.payload.length}`;
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

describe("events", () => {
  it("carry a type equal to their class name and are instances of Event", () => {
    const events: Array<[Event, string]> = [
      [new Request({ host: "h", target: "/" }), "Request"],
      [new AcceptConnection(), "AcceptConnection"],
      [new RejectConnection(), "RejectConnection"],
      [new RejectData({ data: new Uint8Array(1) }), "RejectData"],
      [new CloseConnection({ code: 1000 }), "CloseConnection"],
      [new TextMessage({ data: "x" }), "TextMessage"],
      [new BytesMessage({ data: new Uint8Array(0) }), "BytesMessage"],
      [new Ping(), "Ping"],
      [new Pong(), "Pong"],
    ];
    for (const [event, name] of events) {
      expect(event).toBeInstanceOf(Event);
      expect(event.type).toBe(name);
      expect(event.constructor.name).toBe(name);
    }
    expect(new TextMessage({ data: "x" })).toBeInstanceOf(Message);
  });

  it("apply wsproto's defaults", () => {
    const request = new Request({ host: "example.com", target: "/chat" });
    expect(request.extensions).toEqual([]);
    expect(request.extraHeaders).toEqual([]);
    expect(request.subprotocols).toEqual([]);
    expect(new AcceptConnection().subprotocol).toBeNull();
    const reject = new RejectConnection();
    expect([reject.statusCode, reject.hasBody, reject.headers]).toEqual([400, false, []]);
    expect(new RejectData({ data: new Uint8Array(0) }).bodyFinished).toBe(true);
    const message = new BytesMessage({ data: new Uint8Array([1]) });
    expect([message.frameFinished, message.messageFinished]).toEqual([true, true]);
    expect(new CloseConnection({ code: 1000 }).reason).toBeNull();
    expect(new Ping().payload).toEqual(new Uint8Array(0));
  });

  it("narrow as a discriminated union on type", () => {
    const events: WebSocketEvent[] = [
      new Request({ host: "h", target: "/t" }),
      new AcceptConnection({ subprotocol: "chat" }),
      new RejectConnection({ statusCode: 403 }),
      new RejectData({ data: new Uint8Array(3) }),
      new CloseConnection({ code: 1001 }),
      new TextMessage({ data: "hi" }),
      new BytesMessage({ data: new Uint8Array(2) }),
      new Ping({ payload: "abc" }),
      new Pong(),
    ];
    expect(events.map(summarize)).toEqual([
      "h/t",
      "subprotocol chat",
      "status 403",
      "3 body bytes",
      "close 1001",
      "text HI",
      "bytes 2",
      "Ping 3",
      "Pong 0",
    ]);
  });

  it("take a ping or pong payload as a string, sent as its UTF-8 bytes", () => {
    expect(new Ping({ payload: "héllo" }).payload).toEqual(new TextEncoder().encode("héllo"));
    expect(new Pong({ payload: "✓" }).payload).toEqual(new Uint8Array([0xe2, 0x9c, 0x93]));
    expect(new Ping({ payload: "héllo" }).response().payload).toEqual(new TextEncoder().encode("héllo"));
  });

  it("name what is not an event: the Fetch API's Request, a class, anything else", () => {
    expect(describeValue(new globalThis.Request("http://example.com/"))).toBe(
      "the Fetch API's Request, not wsmachine's (a missing import: `import { Request } from \"wsmachine\"`)",
    );
    expect(describeValue(Request)).toBe("the class Request itself, not an event (create one: `new Request({ … })`)");
    expect(describeValue({ type: "TextMessage" })).toBe("[object Object] (not a wsmachine Event)");
  });

  it("build responses for close and ping", () => {
    const close = new CloseConnection({ code: 1001, reason: "bye" }).response();
    expect(close).toBeInstanceOf(CloseConnection);
    expect([close.code, close.reason]).toEqual([1001, "bye"]);
    const pong = new Ping({ payload: new Uint8Array([7, 8]) }).response();
    expect(pong).toBeInstanceOf(Pong);
    expect(pong.payload).toEqual(new Uint8Array([7, 8]));
  });

  it("cut the reason a close response echoes to the 123 bytes a close frame carries", () => {
    const failure = new CloseConnection({ code: 1007, reason: "é".repeat(70) });
    expect(failure.response().reason).toBe("é".repeat(61));
    expect(new CloseConnection({ code: 1005 }).response().reason).toBeNull();
  });
});
