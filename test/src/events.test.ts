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
} from "../../src/index.js";

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

  it("build responses for close and ping", () => {
    const close = new CloseConnection({ code: 1001, reason: "bye" }).response();
    expect(close).toBeInstanceOf(CloseConnection);
    expect([close.code, close.reason]).toEqual([1001, "bye"]);
    const pong = new Ping({ payload: new Uint8Array([7, 8]) }).response();
    expect(pong).toBeInstanceOf(Pong);
    expect(pong.payload).toEqual(new Uint8Array([7, 8]));
  });
});
