/**
 * WebSockets over HTTP/2 (RFC 8441) on real loopback connections: our client against our
 * server over h2c (prior knowledge) and h2 (TLS, with HTTP/1.1 upgrades on the same port), the
 * endpoint contract over a stream (false instead of throwing once the connection moved on,
 * backpressure through HTTP/2 flow control), refusals (§3 setting missing, §4–5 violations),
 * and an independent peer: Debian's python3-h2 with wsproto's frames-only Connection, as client
 * of our server and as server for our client.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as http2 from "node:http2";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runEchoBattery } from "../../examples/echo-battery-core.js";
import {
  connect,
  connectHttp2,
  createHttp2WebSocketServer,
  HandshakeRejectedError,
  type Http2WebSocketServer,
  type WebSocketEndpoint,
} from "../../src/node/index.js";
import { AcceptConnection } from "../../codec/events.js";
import { eventually, inbox, sameBytes, within } from "./helpers.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const key = readFileSync(new URL("./fixtures/localhost-key.pem", import.meta.url), "utf8");
const cert = readFileSync(new URL("./fixtures/localhost-cert.pem", import.meta.url), "utf8");
const PYTHON = "/usr/bin/python3";
const PEER = `${root}test/interop/rfc8441_peer.py`;

/** Which handshake the statechart says the connection took (context.handshake). */
function handshakeOf(endpoint: WebSocketEndpoint): string {
  return endpoint.connection.actor.getSnapshot().context.handshake;
}

function echoServer(tls: boolean): Http2WebSocketServer {
  return createHttp2WebSocketServer({ perMessageDeflate: true, subprotocols: ["chat"], tls: tls ? { key, cert } : undefined }, (endpoint) => {
    endpoint.on("message", (data) => {
      endpoint.send(data);
    });
    endpoint.on("error", () => {});
  });
}

describe.each([
  ["h2c (cleartext, prior knowledge)", false],
  ["h2 (TLS, ALPN)", true],
])("our client and server over %s", (_name, tls) => {
  let server: Http2WebSocketServer;
  const opened: WebSocketEndpoint[] = [];

  beforeAll(async () => {
    server = echoServer(tls);
    server.on("connection", (endpoint) => opened.push(endpoint));
    await server.listen();
  });
  afterAll(() => server.close());

  it("passes the echo battery with and without permessage-deflate, each connection on an HTTP/2 stream", async () => {
    for (const deflate of [false, true]) {
      const results = await runEchoBattery(server.url, { deflate, connect: (url, options) => connectHttp2(url, { ...options, tls: { ca: cert } }) });
      expect(results.filter((result) => !result.ok)).toEqual([]);
      expect(results.length).toBe(18);
    }
    expect(opened.length).toBe(2);
    for (const endpoint of opened) {
      expect(endpoint.socket.constructor.name).toBe("ServerHttp2Stream");
      expect(handshakeOf(endpoint)).toBe("rfc8441");
    }
  });

  it("negotiates the subprotocol, reports the request, and returns false instead of throwing once closed", async () => {
    const client = await connectHttp2(`${server.url}room?x=1`, { subprotocols: ["other", "chat"], tls: { ca: cert } });
    expect(client.protocol).toBe("chat");
    expect(handshakeOf(client)).toBe("rfc8441");
    const serverSide = opened.at(-1)!;
    expect(serverSide.request?.target).toBe("/room?x=1");
    expect(serverSide.protocol).toBe("chat");
    expect(client.close(4001, "done")).toBe(true);
    // Our close frame is out: nothing more may be sent, and saying so is not an error.
    expect(client.send("late")).toBe(false);
    expect(client.ping()).toBe(false);
    expect(client.close()).toBe(false);
    expect(await within(client.closed, 5_000, "the close")).toEqual({ code: 4001, reason: "done", wasClean: true });
    expect(await within(serverSide.closed, 5_000, "the server's close")).toEqual({ code: 4001, reason: "done", wasClean: true });
    expect(serverSide.send("late")).toBe(false);
    expect(serverSide.close()).toBe(false);
  });

  it("propagates backpressure through HTTP/2 flow control: a paused server stops the client's stream", async () => {
    let serverSide: WebSocketEndpoint | null = null;
    server.once("connection", (endpoint) => {
      serverSide = endpoint;
      endpoint.pause();
    });
    const client = await connectHttp2(server.url, { perMessageDeflate: false, highWaterMark: 256 * 1024, tls: { ca: cert } });
    const received = inbox(client);
    await eventually(() => serverSide !== null, "the server's endpoint");
    const chunk = new Uint8Array(64 * 1024).fill(7);
    const sent = 32;
    const accepted: boolean[] = [];
    for (let i = 0; i < sent; i++) accepted.push(client.send(chunk));
    // Past highWaterMark, send says so (the message is still queued).
    expect(accepted.at(-1)).toBe(false);
    // The stream's flow-control window (64 KiB by default) is not refilled while the server
    // does not read: nearly all of the 2 MiB waits in the client's stream.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(client.bufferedAmount).toBeGreaterThan(sent * chunk.length - 256 * 1024);
    serverSide!.resume();
    for (let i = 0; i < sent; i++) expect(sameBytes((await received.next(10_000)).data as Uint8Array, chunk)).toBe(true);
    client.close();
    await within(client.closed, 5_000, "the close");
  });
});

describe("the TLS port also serves HTTP/1.1", () => {
  let server: Http2WebSocketServer;
  beforeAll(async () => {
    server = echoServer(true);
    await server.listen();
  });
  afterAll(() => server.close());

  it("upgrades an HTTP/1.1 client (ALPN http/1.1) on the same port; the statechart says which handshake each took", async () => {
    const handshakes: string[] = [];
    server.on("connection", (endpoint) => handshakes.push(handshakeOf(endpoint)));
    const h1 = await connect(server.url, { tls: { ca: cert } });
    const h2 = await connectHttp2(server.url, { tls: { ca: cert } });
    for (const client of [h1, h2]) {
      const received = inbox(client);
      client.send("ping?");
      expect((await received.next()).data).toBe("ping?");
      client.close();
      await client.closed;
    }
    expect(handshakes).toEqual(["http/1.1", "rfc8441"]);
  });
});

describe("refusals", () => {
  it("the client refuses a server whose SETTINGS lack SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3)", async () => {
    const plain = http2.createServer();
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
    const port = (plain.address() as { port: number }).port;
    await expect(connectHttp2(`ws://127.0.0.1:${port}/`)).rejects.toThrow(/SETTINGS_ENABLE_CONNECT_PROTOCOL/);
    await new Promise((resolve) => plain.close(resolve));
  });

  it("the server bounds a pending handleRequest by handshakeTimeout: the stream is refused with 503", async () => {
    const server = createHttp2WebSocketServer({ handshakeTimeout: 200, handleRequest: () => new Promise<never>(() => {}) });
    const errors: Error[] = [];
    server.on("streamError", (error) => errors.push(error));
    await server.listen();
    const started = performance.now();
    await expect(connectHttp2(server.url)).rejects.toMatchObject({ name: "HandshakeRejectedError", statusCode: 503 });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(errors.map((error) => error.name)).toEqual(["TimeoutError"]);
    await server.close();
  });

  it("the server answers 426 for a wrong Sec-WebSocket-Version, 400 for another :protocol, and a rejection's status to the client", async () => {
    const server = createHttp2WebSocketServer({
      handleRequest: (request) => (request.target === "/private" ? { statusCode: 403 } : new AcceptConnection()),
    });
    const errors: Error[] = [];
    server.on("streamError", (error) => errors.push(error));
    await server.listen();
    const session = http2.connect(server.url.replace("ws:", "http:"));
    await new Promise((resolve) => session.once("remoteSettings", resolve));
    const status = (headers: http2.OutgoingHttpHeaders): Promise<number> =>
      new Promise((resolve, reject) => {
        const stream = session.request(headers, { endStream: false });
        stream.on("response", (response) => {
          resolve(Number(response[":status"]));
          stream.close();
        });
        stream.on("error", reject);
      });
    const base = { ":method": "CONNECT", ":protocol": "websocket", ":scheme": "http", ":path": "/", ":authority": "x" };
    expect(await status({ ...base, "sec-websocket-version": "8" })).toBe(426);
    expect(await status({ ...base, ":protocol": "chat", "sec-websocket-version": "13" })).toBe(400);
    expect(errors.map((error) => error.message)).toEqual([expect.stringContaining("RFC 6455 §4.4"), expect.stringContaining("RFC 8441 §5")]);
    session.close();
    const refused = connectHttp2(`${server.url}private`);
    await expect(refused).rejects.toBeInstanceOf(HandshakeRejectedError);
    await expect(refused).rejects.toMatchObject({ statusCode: 403 });
    await server.close();
  });
});


const havePython = spawnSync(PYTHON, ["-c", "import h2, wsproto"]).status === 0;

describe("an independent peer: python3-h2 with wsproto's frames-only Connection", () => {
  it.runIf(havePython)("as client of our h2c server: text, 200000 bytes of binary, a ping, close 1000", async () => {
    const server = echoServer(false);
    const endpoints: WebSocketEndpoint[] = [];
    server.on("connection", (endpoint) => endpoints.push(endpoint));
    const address = await server.listen();
    const child = spawn(PYTHON, [PEER, "client", "127.0.0.1", String(address.port), "/py"], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += String(chunk)));
    child.stderr.on("data", (chunk: Buffer) => (stderr += String(chunk)));
    const code = await within(new Promise((resolve) => child.on("close", resolve)), 20_000, "the python client");
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      settings: 1,
      status: "200",
      received: [["text", "hello over h2 ✓"], ["binary", 200000, true], ["pong", "p1"]],
      close: [1000, "bye"],
    });
    expect(endpoints.length).toBe(1);
    expect(handshakeOf(endpoints[0]!)).toBe("rfc8441");
    expect(await within(endpoints[0]!.closed, 5_000, "the server's close")).toEqual({ code: 1000, reason: "bye", wasClean: true });
    await server.close();
  });

  it.runIf(havePython)("as server for our client: the echo battery (without permessage-deflate, which it does not negotiate)", async () => {
    const child = spawn(PYTHON, [PEER, "server"], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const line = await within(new Promise<string>((resolve) => child.stdout.once("data", (chunk: Buffer) => resolve(String(chunk)))), 10_000, "the python server");
      const url = /^listening (ws:\/\/127\.0\.0\.1:\d+\/)/.exec(line)?.[1];
      expect(url, line).toBeDefined();
      const results = await runEchoBattery(url!, { deflate: false, connect: (target, options) => connectHttp2(target, options) });
      expect(results.filter((result) => !result.ok)).toEqual([]);
      expect(results.length).toBe(18);
    } finally {
      child.kill("SIGTERM");
    }
  });

  it.skipIf(havePython)("needs Debian's python3-h2 and python3-wsproto (apt-get install -y python3-h2 python3-wsproto; .ci/run installs them)", () => {
    throw new Error(`${PYTHON} cannot import h2 and wsproto: apt-get install -y python3-h2 python3-wsproto`);
  });
});

describe("npm run echo-server -- --h2c / --tls", () => {
  it.each([
    ["--h2c", "ws"],
    ["--tls", "wss"],
  ])("%s prints its %s:// URL and passes the battery over HTTP/2 (and over HTTP/1.1 with --tls)", async (flag, scheme) => {
    const child = spawn(process.execPath, ["--import", "tsx", "examples/echo-server.ts", "--port", "0", flag], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += String(chunk)));
    try {
      const line = await within(new Promise<string>((resolve) => child.stdout.once("data", (chunk: Buffer) => resolve(String(chunk).trim()))), 20_000, "the echo server's first line");
      expect(line).toMatch(new RegExp(`^listening ${scheme}://127\\.0\\.0\\.1:\\d+/$`));
      const url = line.slice("listening ".length);
      // The certificate is self-signed, made at start: nothing to verify it against.
      const tls = { rejectUnauthorized: false };
      const results = await runEchoBattery(url, { deflate: true, connect: (target, options) => connectHttp2(target, { ...options, tls }) });
      expect(results.filter((result) => !result.ok)).toEqual([]);
      if (flag === "--tls") {
        const overHttp1 = await runEchoBattery(url, { deflate: true, connect: (target, options) => connect(target, { ...options, tls }) });
        expect(overHttp1.filter((result) => !result.ok)).toEqual([]);
      }
    } finally {
      child.kill("SIGTERM");
    }
    expect(await within(new Promise((resolve) => child.on("close", resolve)), 10_000, "the echo server's exit")).toBe(0);
    expect(stderr).toBe("");
  });
});
