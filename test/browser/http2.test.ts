/**
 * Chromium and RFC 8441: a browser uses WebSockets over HTTP/2 for a wss:// URL when its HTTP/2
 * connection to that origin advertised SETTINGS_ENABLE_CONNECT_PROTOCOL. The page is loaded
 * over https from our Http2WebSocketServer (h2 by ALPN; the fixture certificate, so Chromium
 * runs with --ignore-certificate-errors), then opens a WebSocket to the same origin; the server
 * side checks that the connection came as an extended CONNECT on an HTTP/2 stream (the
 * statechart's context.handshake is "rfc8441") and echoes, with and without permessage-deflate.
 *
 * Without Chromium this fails and says how to install it, unless WSMACHINE_SKIP_BROWSER=1.
 */
import { existsSync, readFileSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttp2WebSocketServer, type Http2WebSocketServer, type WebSocketEndpoint } from "../../src/node/index.js";

const CHROMIUM = process.env.WSMACHINE_CHROMIUM ?? "/usr/bin/chromium";
const SKIP = process.env.WSMACHINE_SKIP_BROWSER === "1";
const key = readFileSync(new URL("../node/fixtures/localhost-key.pem", import.meta.url), "utf8");
const cert = readFileSync(new URL("../node/fixtures/localhost-cert.pem", import.meta.url), "utf8");

interface PageResult {
  echoes: Array<string | number>;
  extensions: string;
  close: { code: number; reason: string; wasClean: boolean };
}

describe.skipIf(SKIP)("Chromium over HTTP/2 (RFC 8441)", () => {
  let browser: Browser;
  let page: Page;
  const pageProtocols: string[] = [];
  const accepted: Array<{ target: string; stream: string; handshake: string; extensions: string[] }> = [];
  const servers: Http2WebSocketServer[] = [];

  async function start(perMessageDeflate: boolean): Promise<Http2WebSocketServer> {
    const server = createHttp2WebSocketServer(
      {
        perMessageDeflate,
        tls: { key, cert },
        handleStream: (stream, headers) => {
          pageProtocols.push(`${String(headers[":path"])} over HTTP/2`);
          stream.respond({ ":status": 200, "content-type": "text/html; charset=utf-8" });
          stream.end("<!doctype html><title>rfc8441</title>");
        },
      },
      (endpoint: WebSocketEndpoint, request) => {
        accepted.push({
          target: request.target,
          stream: endpoint.socket.constructor.name,
          handshake: endpoint.connection.actor.getSnapshot().context.handshake,
          extensions: endpoint.extensions.map((extension) => extension.name),
        });
        endpoint.on("message", (data) => {
          endpoint.send(data);
        });
      },
    );
    await server.listen();
    servers.push(server);
    return server;
  }

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium was not found at ${CHROMIUM}: apt-get install -y --no-install-recommends chromium (.ci/run does this), or WSMACHINE_SKIP_BROWSER=1`);
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--ignore-certificate-errors", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    page = await browser.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    for (const server of servers) await server.close();
  });

  it.each([false, true])("opens its WebSocket as an extended CONNECT on the page's HTTP/2 connection (permessage-deflate %s)", async (deflate) => {
    const server = await start(deflate);
    const origin = server.url.replace("wss:", "https:");
    accepted.length = 0;
    pageProtocols.length = 0;
    const response = await page.goto(`${origin}page`);
    expect(response?.status()).toBe(200);
    expect(pageProtocols).toContain("/page over HTTP/2");
    const result = await page.evaluate(async (url: string): Promise<PageResult> => {
      const ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      const echoes: Array<string | number> = [];
      const messages: Array<string | ArrayBuffer> = ["hello over HTTP/2 ✓", new Uint8Array(70000).fill(3).buffer];
      return new Promise((resolve, reject) => {
        ws.onopen = () => {
          for (const message of messages) ws.send(message);
        };
        ws.onmessage = (event: MessageEvent<string | ArrayBuffer>) => {
          echoes.push(typeof event.data === "string" ? event.data : event.data.byteLength);
          if (echoes.length === messages.length) ws.close(4000, "done");
        };
        ws.onclose = (event) => resolve({ echoes, extensions: ws.extensions, close: { code: event.code, reason: event.reason, wasClean: event.wasClean } });
        ws.onerror = () => reject(new Error("the WebSocket failed"));
      });
    }, `${server.url}ws`);
    expect(result.echoes).toEqual(["hello over HTTP/2 ✓", 70000]);
    expect(result.close).toEqual({ code: 4000, reason: "done", wasClean: true });
    expect(result.extensions).toBe(deflate ? "permessage-deflate" : "");
    expect(accepted).toEqual([{ target: "/ws", stream: "ServerHttp2Stream", handshake: "rfc8441", extensions: deflate ? ["permessage-deflate"] : [] }]);
  });
});
