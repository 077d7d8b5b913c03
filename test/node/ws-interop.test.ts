/**
 * Interop with ws over real loopback sockets: our client ↔ ws server and ws client ↔ our server
 * (standalone on node:net, and through node:http's 'upgrade'), with and without
 * permessage-deflate: sizes at every length-encoding edge and 1 MiB, multi-byte text,
 * fragmented messages, pings both ways, close codes and reasons both ways.
 */
import * as http from "node:http";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { MESSAGE_SIZES, MULTI_BYTE_TEXT, bytesOfSize, runEchoBattery, textOfSize } from "../../examples/echo-battery.js";
import {
  acceptRequest,
  connect,
  createWebSocketServer,
  upgrade,
  type HandshakeRejectedError,
  type PeerProtocolError,
  type WebSocketEndpoint,
  type WebSocketServer,
} from "../../src/node/index.js";
import { eventually, inbox, openWsClient, sameBytes, startWsEchoServer, within, wsClosed, wsInbox, type WsEchoServer } from "./helpers.js";

for (const deflate of [false, true]) {
  const mode = deflate ? "with permessage-deflate" : "without permessage-deflate";

  describe(`our client ↔ ws server, ${mode}`, () => {
    let wsServer: WsEchoServer;
    /** Connections the ws server saw, for the server-initiated checks. */
    const serverSockets: WebSocket[] = [];

    beforeAll(async () => {
      wsServer = await startWsEchoServer(deflate, (socket, request) => {
        serverSockets.push(socket);
        if (request.url === "/close-from-server") {
          socket.on("message", () => socket.close(4001, "server says bye ✓"));
          return true;
        }
        if (request.url === "/bad-utf8") {
          socket.on("message", () => socket.send(Buffer.from([0x61, 0xc3, 0x28]), { binary: false }));
          return true;
        }
        if (request.url === "/big") {
          // 2 MiB of one letter: a few KiB on the wire with permessage-deflate.
          socket.on("message", () => socket.send("a".repeat(2 * 1024 * 1024)));
          return true;
        }
        if (request.url === "/ping-from-server") {
          socket.on("message", () => socket.ping(Buffer.from("server ping")));
          socket.on("pong", (payload) => socket.send(`pong:${payload.toString()}`));
          return true;
        }
        return false;
      });
    });
    afterAll(async () => {
      await wsServer.close();
    });

    it("passes the whole echo battery (sizes 0–1 MiB, multi-byte text, fragments, ping, close with code and reason)", async () => {
      const results = await runEchoBattery(wsServer.url, { deflate });
      const failures = results.filter((result) => !result.ok).map((result) => `${result.name}: ${result.detail}`);
      expect(failures).toEqual([]);
      expect(results.length).toBe(18);
    });

    it("negotiates permessage-deflate exactly when both sides want it", async () => {
      const client = await connect(wsServer.url, { perMessageDeflate: deflate });
      expect(client.extensions.map((extension) => extension.name)).toEqual(deflate ? ["permessage-deflate"] : []);
      client.close();
      await client.closed;
      // A client that does not offer it never gets it, whatever the server supports.
      const plain = await connect(wsServer.url, { perMessageDeflate: false });
      expect(plain.extensions).toEqual([]);
      plain.close();
      await plain.closed;
    });

    it("reports the server's close code and reason, and answers the closing handshake", async () => {
      const client = await connect(`${wsServer.url}close-from-server`, { perMessageDeflate: deflate });
      const closing = new Promise<[number, string]>((resolve) => client.once("closing", (code, reason) => resolve([code, reason])));
      client.send("close now");
      expect(await within(closing, 5_000, "closing")).toEqual([4001, "server says bye ✓"]);
      const info = await within(client.closed, 5_000, "close");
      expect(info).toEqual({ code: 4001, reason: "server says bye ✓", wasClean: true });
      expect(client.state).toBe("CLOSED");
    });

    it("fails invalid UTF-8 from the server with 1007, and a message over maxMessageSize with 1009", async () => {
      const client = await connect(`${wsServer.url}bad-utf8`, { perMessageDeflate: deflate });
      const errors: Error[] = [];
      client.on("error", (error) => errors.push(error));
      client.send("go");
      expect((await within(client.closed, 5_000, "close")).code).toBe(1007);
      expect(errors.map((error) => (error as PeerProtocolError).code)).toEqual([1007]);

      // With permessage-deflate this is the decompression bomb case: inflation stops at the limit.
      // The rest of the refused message is still on its way when we fail the connection: we stop
      // reading it (SECURITY.md), so TCP ends at closeTimeout rather than at the server's FIN.
      const small = await connect(`${wsServer.url}big`, { perMessageDeflate: deflate, maxMessageSize: 1024 * 1024, closeTimeout: 500 });
      small.on("error", () => {});
      let delivered = 0;
      small.on("message", () => delivered++);
      small.send("go");
      const info = await within(small.closed, 5_000, "close");
      expect(info.code).toBe(1009);
      expect(delivered).toBe(0);
    });

    it("answers the server's pings with pongs carrying the payload", async () => {
      const client = await connect(`${wsServer.url}ping-from-server`, { perMessageDeflate: deflate });
      const messages = inbox(client);
      const pinged = new Promise<Uint8Array>((resolve) => client.once("ping", resolve));
      client.send("ping me");
      expect(Buffer.from(await within(pinged, 5_000, "ping")).toString()).toBe("server ping");
      expect((await messages.next()).data).toBe("pong:server ping");
      client.close(1000);
      expect((await client.closed).wasClean).toBe(true);
    });
  });

  describe(`ws client ↔ our server, ${mode}`, () => {
    let server: WebSocketServer;
    let url: string;
    const serverEndpoints: WebSocketEndpoint[] = [];
    const closesSeenByServer: Array<{ code: number; reason: string; wasClean: boolean }> = [];

    beforeAll(async () => {
      server = createWebSocketServer({ perMessageDeflate: deflate, subprotocols: ["echo.v2", "echo.v1"] }, (endpoint, request) => {
        serverEndpoints.push(endpoint);
        endpoint.closed.then((info) => closesSeenByServer.push(info));
        if (request.target === "/close-from-server") {
          endpoint.on("message", () => endpoint.close(4002, "our server says bye ✓"));
          return;
        }
        endpoint.on("message", (data) => endpoint.send(data));
      });
      await server.listen(0, "127.0.0.1");
      url = server.url;
    });
    afterAll(async () => {
      await server.close();
    });

    it("echoes text and binary of every size and multi-byte text", async () => {
      const client = await openWsClient(url, { perMessageDeflate: deflate });
      expect(client.extensions).toBe(deflate ? "permessage-deflate" : "");
      const messages = wsInbox(client);
      for (const size of MESSAGE_SIZES) {
        const text = textOfSize(size);
        client.send(text);
        const echoed = await messages.next();
        expect(echoed.isBinary).toBe(false);
        expect(echoed.data).toBe(text);
        const bytes = bytesOfSize(size, size);
        client.send(bytes);
        const echoedBytes = await messages.next();
        expect(echoedBytes.isBinary).toBe(true);
        expect(sameBytes(echoedBytes.data as Uint8Array, bytes)).toBe(true);
      }
      client.send(MULTI_BYTE_TEXT);
      expect((await messages.next()).data).toBe(MULTI_BYTE_TEXT);
      const closed = wsClosed(client);
      client.close(1000, "done");
      expect(await closed).toEqual({ code: 1000, reason: "done" });
    });

    it("reassembles fragmented messages, with a ping between the fragments", async () => {
      const client = await openWsClient(url, { perMessageDeflate: deflate });
      const messages = wsInbox(client);
      client.send("frag", { fin: false });
      client.ping();
      client.send("mented ✓ ", { fin: false });
      client.send(MULTI_BYTE_TEXT, { fin: true });
      expect((await messages.next()).data).toBe(`fragmented ✓ ${MULTI_BYTE_TEXT}`);
      const parts = [bytesOfSize(10, 1), bytesOfSize(70_000, 2), bytesOfSize(0, 3), bytesOfSize(5, 4)];
      parts.forEach((part, index) => client.send(part, { binary: true, fin: index === parts.length - 1 }));
      const echoed = await messages.next();
      expect(echoed.isBinary).toBe(true);
      expect(sameBytes(echoed.data as Uint8Array, Buffer.concat(parts))).toBe(true);
      client.terminate();
    });

    it("decodes a character split across text frames, and fails invalid UTF-8 with 1007", async () => {
      const client = await openWsClient(url, { perMessageDeflate: deflate });
      const messages = wsInbox(client);
      // "€" is E2 82 AC: ws sends raw bytes as text frames when told binary: false.
      client.send(Buffer.from([0x61, 0xe2]), { binary: false, fin: false });
      client.send(Buffer.from([0x82, 0xac, 0x62]), { binary: false, fin: true });
      expect((await messages.next()).data).toBe("a€b");
      const closed = wsClosed(client);
      client.send(Buffer.from([0x61, 0xff, 0x62]), { binary: false });
      expect((await within(closed, 5_000, "ws close")).code).toBe(1007);
    });

    it("answers ws's pings (auto pong) and picks the subprotocol by the server's preference", async () => {
      const client = await openWsClient(url, { perMessageDeflate: deflate, protocols: ["echo.v1", "echo.v2"] });
      expect(client.protocol).toBe("echo.v2");
      const pong = new Promise<Buffer>((resolve) => client.once("pong", resolve));
      client.ping(Buffer.from("payload ✓"));
      expect((await within(pong, 5_000, "pong")).toString()).toBe("payload ✓");
      client.terminate();
    });

    it("reports a client's close code and reason, and completes the closing handshake", async () => {
      const client = await openWsClient(url, { perMessageDeflate: deflate });
      const before = closesSeenByServer.length;
      const closed = wsClosed(client);
      client.close(4003, "client says bye ✓");
      expect(await within(closed, 5_000, "ws close")).toEqual({ code: 4003, reason: "client says bye ✓" });
      await eventually(() => closesSeenByServer.length > before, "the server endpoint's close");
      expect(closesSeenByServer.at(-1)).toEqual({ code: 4003, reason: "client says bye ✓", wasClean: true });
    });

    it("sends its own close code and reason, and tears down TCP first", async () => {
      const client = await openWsClient(`${url}close-from-server`, { perMessageDeflate: deflate });
      const closed = wsClosed(client);
      client.send("bye?");
      expect(await within(closed, 5_000, "ws close")).toEqual({ code: 4002, reason: "our server says bye ✓" });
      const endpoint = serverEndpoints.at(-1)!;
      expect(await within(endpoint.closed, 5_000, "server close")).toEqual({ code: 4002, reason: "our server says bye ✓", wasClean: true });
    });
  });
}

describe("ws client ↔ our server through node:http 'upgrade'", () => {
  let httpServer: http.Server;
  let url: string;
  const upgradeErrors: Error[] = [];

  beforeAll(async () => {
    httpServer = http.createServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" }).end("plain HTTP still works");
    });
    httpServer.on("upgrade", (request: http.IncomingMessage, socket, head) => {
      upgrade(request, socket, head, {
        perMessageDeflate: true,
        handleRequest: (wsRequest) =>
          wsRequest.target === "/forbidden" ? { statusCode: 403, body: "not here" } : acceptRequest(wsRequest, { perMessageDeflate: true }),
      }).then(
        (endpoint) => endpoint.on("message", (data) => endpoint.send(typeof data === "string" ? data.toUpperCase() : data)),
        (error: Error) => upgradeErrors.push(error),
      );
    });
    await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
    url = `ws://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    httpServer.closeAllConnections();
    await new Promise<void>((resolve) => httpServer.close(() => resolve()));
  });

  it("upgrades, negotiates permessage-deflate and exchanges messages; plain HTTP is untouched", async () => {
    const plain = await new Promise<string>((resolve, reject) => {
      http.get(`http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/`, (response) => {
        let body = "";
        response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk)).on("end", () => resolve(body));
      }).on("error", reject);
    });
    expect(plain).toBe("plain HTTP still works");
    const client = await openWsClient(`${url}/chat?room=1`, { perMessageDeflate: true });
    expect(client.extensions).toBe("permessage-deflate");
    const messages = wsInbox(client);
    client.send("héllo");
    expect((await messages.next()).data).toBe("HÉLLO");
    const big = bytesOfSize(1024 * 1024, 9);
    client.send(big);
    expect(sameBytes((await messages.next()).data as Uint8Array, big)).toBe(true);
    const closed = wsClosed(client);
    client.close(1000, "ok");
    expect(await closed).toEqual({ code: 1000, reason: "ok" });
  });

  it("reads frames that arrived in the same packet as the upgrade request (node:http's head)", async () => {
    // ws waits for the 101 before sending, so write the request and a frame together by hand.
    const { port } = httpServer.address() as AddressInfo;
    const socket = net.connect(port, "127.0.0.1");
    const request =
      "GET /raw HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    // A masked text frame "hi" (mask key 0: the payload is as written).
    const frame = Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0x68, 0x69]);
    socket.write(Buffer.concat([Buffer.from(request, "latin1"), frame]));
    const received = await within(
      new Promise<Buffer>((resolve) => {
        let all = Buffer.alloc(0);
        socket.on("data", (chunk: Buffer) => {
          all = Buffer.concat([all, chunk]);
          const end = all.indexOf("\r\n\r\n");
          if (end >= 0 && all.length >= end + 4 + 4) resolve(all.subarray(end + 4));
        });
      }),
      5_000,
      "echo of the early frame",
    );
    expect([...received.subarray(0, 4)]).toEqual([0x81, 0x02, 0x48, 0x49]); // "HI", unmasked from the server
    socket.destroy();
  });

  it("answers an invalid upgrade request with the core's rejection, and a handler's rejection with its status", async () => {
    const { port } = httpServer.address() as AddressInfo;
    const response = await rawExchange(
      port,
      "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    );
    expect(response).toMatch(/^HTTP\/1\.1 426 /);
    expect(response.toLowerCase()).toContain("sec-websocket-version: 13");
    expect(upgradeErrors.some((error) => error.name === "RemoteProtocolError")).toBe(true);

    const forbidden = await openWsClient(`${url}/forbidden`).catch((error: Error) => error);
    expect(forbidden).toBeInstanceOf(Error);
    expect(String(forbidden)).toMatch(/403/);
    await eventually(
      () => upgradeErrors.some((error) => error.name === "HandshakeRejectedError" && (error as HandshakeRejectedError).statusCode === 403),
      "upgrade() rejecting with the handler's 403",
    );
  });
});

/** Send `request` on a fresh TCP connection and return everything the server answers until it closes. */
function rawExchange(port: number, request: string): Promise<string> {
  return within(
    new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1");
      const chunks: Buffer[] = [];
      socket.on("data", (chunk: Buffer) => chunks.push(chunk));
      socket.on("error", reject);
      socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
      socket.write(request, "latin1");
    }),
    5_000,
    "the server's answer",
  );
}

describe("permessage-deflate parameters negotiated with ws (RFC 7692 §7.1)", () => {
  const combos = [
    { serverNoContextTakeover: true },
    { clientNoContextTakeover: true },
    { serverMaxWindowBits: 9 },
    { serverMaxWindowBits: 10, clientMaxWindowBits: 10 },
    { clientMaxWindowBits: 8 },
  ];
  // Several messages per connection, so that context takeover (or its absence) matters.
  const messages = [textOfSize(5_000), textOfSize(100_000), MULTI_BYTE_TEXT.repeat(50), textOfSize(10)];

  it("our client ↔ a ws server configured with each parameter", async () => {
    for (const combo of combos) {
      const server = await startWsEchoServer({ ...combo, threshold: 0 });
      try {
        const client = await connect(server.url, { perMessageDeflate: { threshold: 0 } });
        expect(client.extensions.map((extension) => extension.name), JSON.stringify(combo)).toEqual(["permessage-deflate"]);
        const received = inbox(client);
        for (const message of messages) client.send(message);
        for (const message of messages) expect((await received.next()).data, JSON.stringify(combo)).toBe(message);
        client.close();
        expect((await client.closed).wasClean).toBe(true);
      } finally {
        await server.close();
      }
    }
  });

  it("a ws client offering each parameter ↔ our server", async () => {
    const server = createWebSocketServer({ perMessageDeflate: { threshold: 0 } }, (endpoint) => endpoint.on("message", (data) => endpoint.send(data)));
    await server.listen(0, "127.0.0.1");
    try {
      for (const combo of combos) {
        const client = new WebSocket(server.url, { perMessageDeflate: { ...combo, threshold: 0 } });
        await new Promise((resolve, reject) => {
          client.once("open", resolve);
          client.once("error", reject);
        });
        expect(client.extensions, JSON.stringify(combo)).toMatch(/^permessage-deflate/);
        const received = wsInbox(client);
        for (const message of messages) client.send(message);
        for (const message of messages) expect((await received.next()).data, JSON.stringify(combo)).toBe(message);
        const closed = wsClosed(client);
        client.close(1000);
        expect((await closed).code).toBe(1000);
      }
    } finally {
      await server.close();
    }
  });
});
