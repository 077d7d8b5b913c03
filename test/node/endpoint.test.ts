/**
 * The Node glue end to end: our client ↔ our server over loopback (ws:// and wss://), the
 * handshake options, lifecycle events, the closing rules and timers, backpressure, and what
 * happens when a peer misbehaves.
 */
import { readFileSync } from "node:fs";
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runEchoBattery } from "../../examples/echo-battery.js";
import {
  AcceptConnection,
  ConnectionState,
  ConnectionType,
  LocalProtocolError,
  Request,
  TextMessage,
  WSConnection,
} from "../../src/index.js";
import {
  ConnectionClosedError,
  HandshakeRejectedError,
  PeerProtocolError,
  TimeoutError,
  connect,
  createWebSocketServer,
  type WebSocketEndpoint,
  type WebSocketServer,
  type WebSocketServerOptions,
} from "../../src/node/index.js";
import { eventually, inbox, within } from "./helpers.js";

/** Self-signed, for these tests only: CN=localhost, SAN localhost and 127.0.0.1, valid 100 years. */
const certificate = readFileSync(new URL("./fixtures/localhost-cert.pem", import.meta.url));
const privateKey = readFileSync(new URL("./fixtures/localhost-key.pem", import.meta.url));

/** Servers and raw sockets opened by a test, closed after the file. */
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function startServer(options: WebSocketServerOptions, onConnection?: (endpoint: WebSocketEndpoint) => void): Promise<WebSocketServer> {
  const server = createWebSocketServer(options, onConnection);
  server.on("clientError", () => {});
  await server.listen(0, "127.0.0.1");
  cleanups.push(() => server.close());
  return server;
}

async function startEchoServer(options: WebSocketServerOptions = {}): Promise<WebSocketServer> {
  return startServer(options, (endpoint) => {
    endpoint.on("message", (data) => endpoint.send(data));
    endpoint.on("error", () => {});
  });
}

/** A raw TCP server whose connections `onSocket` handles by hand. */
async function startRawServer(onSocket: (socket: net.Socket) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

/** A raw client socket, destroyed after the file. */
function rawClient(port: number): net.Socket {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  cleanups.push(() => {
    socket.destroy();
  });
  return socket;
}

describe("our client ↔ our server", () => {
  let plainServer: WebSocketServer;
  let deflateServer: WebSocketServer;

  beforeAll(async () => {
    plainServer = await startEchoServer();
    deflateServer = await startEchoServer({ perMessageDeflate: true });
  });

  for (const deflate of [false, true]) {
    it(`passes the echo battery ${deflate ? "with" : "without"} permessage-deflate`, async () => {
      const results = await runEchoBattery((deflate ? deflateServer : plainServer).url, { deflate });
      expect(results.filter((result) => !result.ok).map((result) => `${result.name}: ${result.detail}`)).toEqual([]);
      expect(results.length).toBe(18);
    });
  }

  it("fails the deflate check of the battery against a server without permessage-deflate", async () => {
    const results = await runEchoBattery(plainServer.url, { deflate: true });
    expect(results[0]).toMatchObject({ name: "opening handshake [permessage-deflate]", ok: false });
    expect(results.slice(1).every((result) => result.ok)).toBe(true);
  });

  it("works over wss:// (node:tls both ends), and refuses a certificate it cannot verify", async () => {
    const server = await startEchoServer({ tls: { key: privateKey, cert: certificate }, perMessageDeflate: true });
    expect(server.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/$/);
    const client = await connect(server.url.replace("127.0.0.1", "localhost"), { tls: { ca: certificate } });
    expect(client.extensions.map((extension) => extension.name)).toEqual(["permessage-deflate"]);
    const messages = inbox(client);
    client.send("secure ✓");
    expect((await messages.next()).data).toBe("secure ✓");
    client.close(1000, "tls done");
    expect(await client.closed).toEqual({ code: 1000, reason: "tls done", wasClean: true });

    const untrusted = await connect(server.url).catch((error: Error) => error);
    expect(untrusted).toBeInstanceOf(Error);
    expect((untrusted as NodeJS.ErrnoException).code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/);
  });

  it("reports lifecycle transitions on both sides, in order, with 'close' last", async () => {
    const serverLog: string[] = [];
    const server = await startServer({}, (endpoint) => {
      endpoint.on("closing", (code) => serverLog.push(`closing ${code}`));
      endpoint.on("close", (code, _reason, wasClean) => serverLog.push(`close ${code} ${wasClean}`));
    });
    server.on("handshake", (endpoint) => endpoint.on("state", (state, previous) => serverLog.push(`${previous}→${state}`)));
    const clientLog: string[] = [];
    const client = await connect(server.url, {
      onEndpoint: (endpoint) => {
        endpoint.on("state", (state, previous) => clientLog.push(`${previous}→${state}`));
        endpoint.on("open", () => clientLog.push("open"));
      },
    });
    client.on("closing", (code) => clientLog.push(`closing ${code}`));
    client.on("close", (code, _reason, wasClean) => clientLog.push(`close ${code} ${wasClean}`));
    client.close(1000);
    await client.closed;
    await eventually(() => serverLog.length === 5, "the server's close");
    expect(clientLog).toEqual(["CONNECTING→OPEN", "open", "OPEN→LOCAL_CLOSING", "LOCAL_CLOSING→CLOSED", "closing 1000", "close 1000 true"]);
    expect(serverLog).toEqual(["CONNECTING→OPEN", "OPEN→REMOTE_CLOSING", "closing 1000", "REMOTE_CLOSING→CLOSED", "close 1000 true"]);
  });

  it("negotiates subprotocols by server preference and passes extra headers and the target", async () => {
    let seen: Request | null = null;
    const server = await startServer({ subprotocols: ["chat.v2", "chat.v1"] }, (endpoint) => {
      seen = endpoint.request;
    });
    const client = await connect(`${server.url}room/42?x=1`, {
      subprotocols: ["chat.v1", "chat.v2"],
      headers: { "X-Token": "abc", Origin: "http://example.test" },
    });
    expect(client.protocol).toBe("chat.v2");
    expect(seen).not.toBeNull();
    const request = seen! as Request;
    expect(request.target).toBe("/room/42?x=1");
    expect(request.extraHeaders).toContainEqual(["x-token", "abc"]);
    expect(request.extraHeaders).toContainEqual(["origin", "http://example.test"]);
    client.close();
    await client.closed;
  });

  it("rejects with the handler's status, headers and body; an asynchronous decision is awaited", async () => {
    const server = await startServer({
      handleRequest: async (request) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (request.target === "/private") return { statusCode: 403, headers: [["x-why", "no token"]], body: "go away ✓" };
        return new AcceptConnection();
      },
    });
    const refused = await connect(`${server.url}private`).catch((error: Error) => error);
    expect(refused).toBeInstanceOf(HandshakeRejectedError);
    const rejection = refused as HandshakeRejectedError;
    expect(rejection.statusCode).toBe(403);
    expect(rejection.headers).toContainEqual(["x-why", "no token"]);
    expect(new TextDecoder().decode(rejection.body)).toBe("go away ✓");

    const accepted = await connect(`${server.url}public`);
    expect(accepted.state).toBe(ConnectionState.OPEN);
    accepted.close();
    await accepted.closed;
  });

  it("answers a request that is not a WebSocket upgrade with the core's rejection", async () => {
    const server = await startServer({});
    const clientErrors: Error[] = [];
    server.on("clientError", (error) => clientErrors.push(error));
    const socket = rawClient(server.address()!.port);
    const answer = within(
      new Promise<string>((resolve) => {
        const chunks: Buffer[] = [];
        socket.on("data", (chunk: Buffer) => chunks.push(chunk));
        socket.on("end", () => resolve(Buffer.concat(chunks).toString("latin1")));
      }),
      5_000,
      "the rejection",
    );
    socket.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    expect(await answer).toMatch(/^HTTP\/1\.1 (400|426) /);
    await eventually(() => clientErrors.length > 0, "clientError");
    expect(clientErrors[0]!.name).toBe("RemoteProtocolError");
  });

  it("delivers messages that arrived with the 101 response to listeners attached after `await connect()`", async () => {
    // A server that writes its 101 and a message in one packet.
    const port = await startRawServer((socket) => {
      const connection = new WSConnection(ConnectionType.SERVER);
      socket.on("data", (chunk: Buffer) => {
        connection.receiveData(new Uint8Array(chunk));
        for (const event of connection.events()) {
          if (event instanceof Request) {
            const accept = connection.send(new AcceptConnection());
            const message = connection.send(new TextMessage({ data: "first, in the same packet" }));
            socket.write(Buffer.concat([accept, message]));
          }
        }
      });
    });
    const client = await connect(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
    const messages = inbox(client);
    expect((await messages.next()).data).toBe("first, in the same packet");
    client.terminate();
  });
});

describe("closing, timers and failures", () => {
  it("a peer that breaks the protocol gets 1002 and its TCP connection ended", async () => {
    const closes: Array<[number, boolean]> = [];
    const errors: Error[] = [];
    const server = await startServer({}, (endpoint) => {
      endpoint.on("error", (error) => errors.push(error));
      endpoint.on("close", (code, _reason, wasClean) => closes.push([code, wasClean]));
    });
    // Handshake by hand, then an unmasked client frame (RFC 6455 §5.1: the server must fail).
    const client = new WSConnection(ConnectionType.CLIENT);
    const socket = rawClient(server.address()!.port);
    const received: Buffer[] = [];
    const ended = new Promise<void>((resolve) => socket.on("end", () => resolve()));
    let opened = false;
    socket.on("data", (chunk: Buffer) => {
      received.push(chunk);
      if (!opened) {
        client.receiveData(new Uint8Array(chunk));
        if (client.state === ConnectionState.OPEN) {
          opened = true;
          socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
        }
      }
    });
    socket.write(client.send(new Request({ host: "127.0.0.1", target: "/" })));
    await within(ended, 5_000, "the server ending TCP");
    const all = Buffer.concat(received);
    const close = all.subarray(all.indexOf("\r\n\r\n") + 4);
    expect(close[0]).toBe(0x88);
    expect(close.readUInt16BE(2)).toBe(1002);
    socket.end();
    await eventually(() => closes.length === 1, "the server's close event");
    expect(closes[0]).toEqual([1002, false]);
    expect(errors.some((error) => error instanceof PeerProtocolError && error.code === 1002)).toBe(true);
  });

  it("a message over maxMessageSize closes with 1009 (the core's limit, enforced through the glue)", async () => {
    const server = await startServer({ maxMessageSize: 1000 }, (endpoint) => endpoint.on("error", () => {}));
    const client = await connect(server.url, { perMessageDeflate: false });
    client.send("x".repeat(1000));
    client.send("x".repeat(1001));
    const info = await within(client.closed, 5_000, "close");
    expect(info.code).toBe(1009);
  });

  it("EOF without a closing handshake is 1006 and not clean", async () => {
    let serverEndpoint: WebSocketEndpoint | null = null;
    const server = await startServer({}, (endpoint) => {
      serverEndpoint = endpoint;
    });
    const client = await connect(server.url);
    await eventually(() => serverEndpoint !== null, "the server's connection");
    client.socket.end();
    expect(await within(serverEndpoint!.closed, 5_000, "server close")).toEqual({ code: 1006, reason: "", wasClean: false });
    expect((await client.closed).code).toBe(1006);
  });

  it("gives up on a peer that never answers its close after closeTimeout", async () => {
    // autoCloseReply off and no close(): the server never answers, so the client's timer ends it.
    const server = await startServer({ autoCloseReply: false, closeTimeout: 60_000 });
    const client = await connect(server.url, { closeTimeout: 150 });
    const started = Date.now();
    client.close(1000, "anyone?");
    const info = await within(client.closed, 5_000, "close after the timeout");
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(info.wasClean).toBe(false);
    expect(info.code).toBe(1006);
  });

  it("with autoCloseReply off, the application answers the close itself", async () => {
    const server = await startServer({ autoCloseReply: false }, (endpoint) => {
      endpoint.on("closing", (code, reason) => setTimeout(() => endpoint.close(code, `re: ${reason}`), 10));
    });
    const client = await connect(server.url);
    client.close(4010, "bye");
    expect(await within(client.closed, 5_000, "close")).toEqual({ code: 4010, reason: "re: bye", wasClean: true });
  });

  it("times out a handshake the server never answers", async () => {
    const port = await startRawServer(() => {});
    const started = Date.now();
    const error = await connect(`ws://127.0.0.1:${port}/`, { handshakeTimeout: 150 }).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("rejects when the server hangs up during the handshake, or nobody listens", async () => {
    const port = await startRawServer((socket) => socket.once("data", () => socket.end()));
    expect(await connect(`ws://127.0.0.1:${port}/`).catch((error: Error) => error)).toBeInstanceOf(ConnectionClosedError);
    const closed = await startRawServer(() => {});
    cleanups.pop()!(); // close that server now: nothing listens on its port any more
    await new Promise((resolve) => setTimeout(resolve, 10));
    const refused = await connect(`ws://127.0.0.1:${closed}/`).catch((error: Error) => error);
    expect((refused as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
  });

  it("server.close() says 1001 to every client and resolves when all are closed", async () => {
    const server = createWebSocketServer({});
    await server.listen(0, "127.0.0.1");
    const clients = await Promise.all([connect(server.url), connect(server.url)]);
    await eventually(() => server.clients.size === 2, "both connections");
    await within(server.close(), 5_000, "server.close()");
    for (const client of clients) expect(await client.closed).toEqual({ code: 1001, reason: "", wasClean: true });
    expect(server.clients.size).toBe(0);
  });

  it("an empty close frame is reported as 1005 and answered with an empty close", async () => {
    let serverEndpoint: WebSocketEndpoint | null = null;
    const server = await startServer({}, (endpoint) => {
      serverEndpoint = endpoint;
      endpoint.on("message", () => endpoint.close(1005));
    });
    const client = await connect(server.url);
    client.send("close, but say nothing");
    expect(await within(client.closed, 5_000, "close")).toEqual({ code: 1005, reason: "", wasClean: true });
    expect(await serverEndpoint!.closed).toEqual({ code: 1005, reason: "", wasClean: true });
  });
});

describe("pings and backpressure", () => {
  it("autoPong off: 'ping' is emitted and the application pongs when it likes", async () => {
    const server = await startServer({ autoPong: false }, (endpoint) => {
      endpoint.on("ping", (payload) => setTimeout(() => endpoint.pong(Uint8Array.from([...payload, 33])), 30));
    });
    const client = await connect(server.url);
    const pongs: string[] = [];
    client.on("pong", (payload) => pongs.push(Buffer.from(payload).toString()));
    client.ping("hi");
    await new Promise((resolve) => setTimeout(resolve, 15));
    expect(pongs).toEqual([]); // no automatic pong
    await eventually(() => pongs.length === 1, "the application's pong");
    expect(pongs).toEqual(["hi!"]);
    client.close();
    await client.closed;
  });

  it("stops reading while a message listener's promise is pending, and delivers in order after", async () => {
    const delivered: string[] = [];
    let release: () => void = () => {};
    let serverEndpoint: WebSocketEndpoint | null = null;
    const server = await startServer({}, (endpoint) => {
      serverEndpoint = endpoint;
      endpoint.on("message", async (data) => {
        delivered.push(data as string);
        if (data === "slow") await new Promise<void>((resolve) => (release = resolve));
        endpoint.send(`done ${String(data)}`);
      });
    });
    const client = await connect(server.url);
    const replies = inbox(client);
    client.send("slow");
    client.send("second");
    client.send("third");
    await eventually(() => delivered.length === 1, "the first message");
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(delivered).toEqual(["slow"]); // the others wait in the socket or the core
    expect(serverEndpoint!.socket.isPaused()).toBe(true);
    release();
    expect((await replies.next()).data).toBe("done slow");
    expect((await replies.next()).data).toBe("done second");
    expect((await replies.next()).data).toBe("done third");
    expect(delivered).toEqual(["slow", "second", "third"]);
    expect(serverEndpoint!.socket.isPaused()).toBe(false);
    client.close();
    await client.closed;
  });

  it("a listener that closes and awaits `closed` does not wait for itself", async () => {
    const server = await startEchoServer();
    const client = await connect(server.url);
    const finished = new Promise<string>((resolve) => {
      client.on("message", async (data) => {
        client.close(1000, "from a listener");
        const info = await client.closed;
        resolve(`${String(data)} ${info.code} ${info.wasClean}`);
      });
    });
    client.send("echo");
    expect(await within(finished, 5_000, "the listener finishing")).toBe("echo 1000 true");
  });

  it("close() while a listener's promise is pending still completes the closing handshake", async () => {
    const server = await startEchoServer();
    const client = await connect(server.url);
    let delivered = 0;
    client.on("message", () => {
      delivered++;
      return new Promise<void>(() => {}); // never settles
    });
    client.send("one");
    client.send("two");
    await eventually(() => delivered === 1 && client.isPaused, "the first message and the pause");
    client.close(1000, "while blocked");
    expect(await within(client.closed, 5_000, "close")).toEqual({ code: 1000, reason: "while blocked", wasClean: true });
    expect(delivered).toBe(2); // what was left is delivered once the close frame is out
  });

  it("awaitMessageListeners: false keeps reading while listeners' promises are pending", async () => {
    const server = await startEchoServer();
    const client = await connect(server.url, { awaitMessageListeners: false });
    const got: string[] = [];
    let second: () => void = () => {};
    const secondArrived = new Promise<void>((resolve) => (second = resolve));
    client.on("message", async (data) => {
      got.push(data as string);
      // The first listener waits for the next message: only possible when not awaited.
      if (data === "one") await secondArrived;
      else second();
    });
    client.send("one");
    client.send("two");
    await within(secondArrived, 5_000, "the second message");
    expect(got).toEqual(["one", "two"]);
    client.close();
    await client.closed;
  });

  it("a listener's rejected promise is reported as 'error' and reading resumes", async () => {
    const errors: Error[] = [];
    const server = await startServer({}, (endpoint) => {
      endpoint.on("error", (error) => errors.push(error));
      endpoint.on("message", async (data) => {
        if (data === "fail") throw new Error("handler failed");
        endpoint.send(data);
      });
    });
    const client = await connect(server.url);
    const replies = inbox(client);
    client.send("fail");
    client.send("after");
    expect((await replies.next()).data).toBe("after");
    expect(errors.map((error) => error.message)).toEqual(["handler failed"]);
    client.close();
    await client.closed;
  });

  it("stops reading while its write buffer is over highWaterMark (a peer that does not read), and catches up", async () => {
    let serverEndpoint: WebSocketEndpoint | null = null;
    let echoed = 0;
    const server = await startServer({ highWaterMark: 256 * 1024 }, (endpoint) => {
      serverEndpoint = endpoint;
      endpoint.on("message", (data) => {
        echoed++;
        endpoint.send(data);
      });
    });
    // The client does not pause for its own write buffer (Infinity); the test pauses it by hand.
    const client = await connect(server.url, { perMessageDeflate: false, highWaterMark: Infinity });
    await eventually(() => serverEndpoint !== null, "the server's connection");
    const received = inbox(client);
    client.pause();
    expect(client.isPaused).toBe(true);
    const chunk = new Uint8Array(64 * 1024);
    // Send until the kernel's buffers (sized by the machine) are full and the server stops reading.
    let sent = 0;
    while (!serverEndpoint!.isPaused && sent < 1024) {
      for (let i = 0; i < 16; i++, sent++) client.send(chunk);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await eventually(() => serverEndpoint!.isPaused && serverEndpoint!.socket.isPaused(), "the server pausing its reads");
    expect(serverEndpoint!.bufferedAmount).toBeGreaterThan(256 * 1024);
    // More input waits for the server now; none of it is read while the peer does not read.
    for (let i = 0; i < 16; i++, sent++) client.send(chunk);
    const stalledAt = echoed;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(echoed).toBe(stalledAt);
    expect(stalledAt).toBeLessThan(sent);
    client.resume();
    await eventually(() => received.all.length === sent, "every echo", 10_000);
    expect(echoed).toBe(sent);
    client.close();
    await client.closed;
  });

  it("send(), ping(), pong() and close() before open or after close return false and do nothing; a wrong argument still throws", async () => {
    const server = await startEchoServer();
    let early: WebSocketEndpoint | null = null;
    const tooEarly: boolean[] = [];
    const client = await connect(server.url, {
      onEndpoint: (endpoint) => {
        early = endpoint;
        tooEarly.push(endpoint.send("too early"), endpoint.ping("p"), endpoint.pong());
      },
    });
    expect(early).toBe(client);
    expect(tooEarly).toEqual([false, false, false]);
    const written = (client.socket as net.Socket).bytesWritten;
    expect(client.close()).toBe(true);
    expect(client.state).toBe("LOCAL_CLOSING");
    expect([client.send("too late"), client.ping(), client.pong(), client.close(1000)]).toEqual([false, false, false, false]);
    await client.closed;
    expect([client.send("far too late"), client.sendFragment("x", false), client.ping(), client.close()]).toEqual([false, false, false, false]);
    // Only the close frame went out after the handshake bytes counted above.
    expect((client.socket as net.Socket).bytesWritten - written).toBe(6 + 2);
    // The caller's mistakes are still loud, whatever the state.
    expect(() => client.send(42 as unknown as string)).toThrow(TypeError);
    expect(() => client.close(1006)).toThrow(LocalProtocolError);
  });
});
