/**
 * A real browser: headless Chromium (Debian's `chromium` package, driven by playwright-core;
 * nothing here downloads a browser).
 *
 * 1. A page served by a local node:http server opens the browser's own `WebSocket` to our
 *    server (node:http 'upgrade' → `upgrade()`), with and without permessage-deflate (Chromium
 *    always offers it): text and binary of every length-encoding edge and 1 MiB, multi-byte
 *    text, a fragmented message from our server, a ping from our server (answered by the
 *    browser, which does not expose pings to scripts), close codes and reasons both ways.
 * 2. A page that loads the core bundled for the browser (esbuild, platform "browser", no node:*
 *    shim: the build fails if the core needs Node) runs a client ↔ server WSConnection round
 *    trip inside the page.
 *
 * Without Chromium these tests fail and say how to install it, unless WSMACHINE_SKIP_BROWSER=1.
 */
import { existsSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { upgrade, type CloseInfo, type WebSocketEndpoint } from "../../src/node/index.js";

const CHROMIUM = process.env.WSMACHINE_CHROMIUM ?? "/usr/bin/chromium";
const SKIP = process.env.WSMACHINE_SKIP_BROWSER === "1";
const INSTALL_HINT =
  `Chromium was not found at ${CHROMIUM}; the browser interop tests need Debian's chromium package: ` +
  "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium " +
  "(.ci/run does this), or set WSMACHINE_SKIP_BROWSER=1 to skip these tests (WSMACHINE_CHROMIUM=/path picks another binary).";

const root = fileURLToPath(new URL("../../", import.meta.url));
const SIZES = [0, 125, 126, 65535, 65536, 1024 * 1024];
const MULTI_BYTE_TEXT = "aé€😀 Grüße, Καλημέρα, こんにちは, 🚀🌍 — ✓";

if (SKIP) {
  // The default reporter shows only a count of skipped tests: say why, visibly.
  console.warn("browser interop tests (test/browser) skipped: WSMACHINE_SKIP_BROWSER=1 is set");
  describe("browser interop (headless Chromium)", () => {
    it.skip("skipped because WSMACHINE_SKIP_BROWSER=1 is set", () => {});
  });
} else {
  describe("browser interop (headless Chromium)", () => {
    let browser: Browser;
    let page: Page;
    let httpServer: http.Server;
    let origin: string;
    let coreBundle = "";
    /** How each server endpoint's connection ended, by request target. */
    const serverCloses = new Map<string, CloseInfo>();
    const serverEvents: string[] = [];

    beforeAll(async () => {
      if (!existsSync(CHROMIUM)) throw new Error(INSTALL_HINT);

      // The core for the browser. No node:* module may be reached from src/index.ts: esbuild
      // with platform "browser" cannot resolve one and the build fails.
      const bundled = await build({
        entryPoints: [`${root}src/index.ts`],
        bundle: true,
        format: "iife",
        globalName: "wsmachine",
        platform: "browser",
        target: "es2022",
        write: false,
        logLevel: "silent",
      });
      coreBundle = bundled.outputFiles[0]!.text;

      httpServer = http.createServer((request, response) => {
        if (request.url === "/core.js") {
          response.writeHead(200, { "content-type": "text/javascript; charset=utf-8" }).end(coreBundle);
          return;
        }
        const script = request.url === "/core" ? '<script src="/core.js"></script>' : "";
        response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(`<!doctype html><meta charset="utf-8"><title>wsmachine</title>${script}`);
      });
      httpServer.on("upgrade", (request: http.IncomingMessage, socket, head) => {
        const target = request.url ?? "/";
        upgrade(request, socket, head, { perMessageDeflate: target.startsWith("/deflate/") }).then(
          (endpoint) => serve(endpoint, target),
          (error: Error) => serverEvents.push(`upgrade failed: ${error.message}`),
        );
      });
      await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
      origin = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;

      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      });
      page = await browser.newPage();
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      if (httpServer !== undefined) {
        httpServer.closeAllConnections();
        await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      }
    });

    /** Our server's side: echo, or the behaviour the target asks for. */
    function serve(endpoint: WebSocketEndpoint, target: string): void {
      endpoint.on("error", (error) => serverEvents.push(`${target}: ${error.message}`));
      endpoint.closed.then((info) => serverCloses.set(target, info));
      endpoint.on("message", (data) => {
        if (data === "fragments please") {
          // A fragmented text message with a ping between its frames, then a fragmented binary one.
          endpoint.sendFragment("frag", false);
          endpoint.ping("between fragments");
          endpoint.sendFragment("mented ", false);
          endpoint.sendFragment(MULTI_BYTE_TEXT, true);
          endpoint.sendFragment(Uint8Array.of(1, 2, 3), false);
          endpoint.sendFragment(new Uint8Array(70_000).fill(7), false);
          endpoint.sendFragment(Uint8Array.of(4), true);
        } else if (data === "ping me") {
          endpoint.once("pong", (payload) => endpoint.send(`pong: ${Buffer.from(payload).toString()}`));
          endpoint.ping("from the server ✓");
        } else if (data === "close please") {
          endpoint.close(4002, "server says bye ✓");
        } else {
          endpoint.send(data);
        }
      });
    }

    for (const deflate of [false, true]) {
      it(`the browser's WebSocket talks to our server ${deflate ? "with" : "without"} permessage-deflate`, async () => {
        await page.goto(`${origin}/page`);
        const base = `ws://127.0.0.1:${(httpServer.address() as AddressInfo).port}/${deflate ? "deflate" : "plain"}`;
        const report = await page.evaluate(
          async ({ base, sizes, multiByte }) => {
            const checks: Record<string, unknown> = {};
            const open = (url: string): Promise<{ socket: WebSocket; next: () => Promise<string | ArrayBuffer> }> =>
              new Promise((resolve, reject) => {
                const socket = new WebSocket(url);
                socket.binaryType = "arraybuffer";
                const queue: Array<string | ArrayBuffer> = [];
                const waiting: Array<(data: string | ArrayBuffer) => void> = [];
                socket.onmessage = (event: MessageEvent<string | ArrayBuffer>) => {
                  const waiter = waiting.shift();
                  if (waiter !== undefined) waiter(event.data);
                  else queue.push(event.data);
                };
                const next = (): Promise<string | ArrayBuffer> =>
                  queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((r) => waiting.push(r));
                socket.onopen = () => resolve({ socket, next });
                socket.onerror = () => reject(new Error(`could not open ${url}`));
              });
            const closed = (socket: WebSocket): Promise<{ code: number; reason: string; wasClean: boolean }> =>
              new Promise((resolve) => {
                socket.onclose = (event) => resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean });
              });
            const text = (size: number): string => "The quick brown fox jumps over the lazy dog. ".repeat(Math.ceil(size / 45)).slice(0, size);
            const bytes = (size: number): Uint8Array => {
              const out = new Uint8Array(size);
              let x = size + 1;
              for (let i = 0; i < size; i++) {
                x = (x * 1103515245 + 12345) >>> 0;
                out[i] = x >>> 24;
              }
              return out;
            };
            const same = (a: ArrayBuffer, b: Uint8Array): boolean => {
              const view = new Uint8Array(a);
              if (view.length !== b.length) return false;
              for (let i = 0; i < b.length; i++) if (view[i] !== b[i]) return false;
              return true;
            };

            const echo = await open(`${base}/echo`);
            checks.extensions = echo.socket.extensions;
            for (const size of sizes) {
              const t = text(size);
              echo.socket.send(t);
              checks[`text ${size}`] = (await echo.next()) === t;
              const b = bytes(size);
              echo.socket.send(b);
              const back = await echo.next();
              checks[`binary ${size}`] = back instanceof ArrayBuffer && same(back, b);
            }
            echo.socket.send(multiByte);
            checks["multi-byte text"] = (await echo.next()) === multiByte;

            echo.socket.send("fragments please");
            checks["fragmented text from the server"] = (await echo.next()) === `fragmented ${multiByte}`;
            const fragmented = await echo.next();
            checks["fragmented binary from the server"] =
              fragmented instanceof ArrayBuffer &&
              fragmented.byteLength === 70_004 &&
              new Uint8Array(fragmented)[0] === 1 &&
              new Uint8Array(fragmented)[3] === 7 &&
              new Uint8Array(fragmented)[70_003] === 4;

            echo.socket.send("ping me");
            checks["server's ping answered by the browser"] = await echo.next();

            const browserClose = closed(echo.socket);
            echo.socket.close(4000, "browser says bye ✓");
            checks["close from the browser"] = await browserClose;

            const other = await open(`${base}/close-from-server`);
            const serverClose = closed(other.socket);
            other.socket.send("close please");
            checks["close from the server"] = await serverClose;
            return checks;
          },
          { base, sizes: SIZES, multiByte: MULTI_BYTE_TEXT },
        );

        const expected: Record<string, unknown> = { extensions: deflate ? "permessage-deflate" : "" };
        for (const size of SIZES) {
          expected[`text ${size}`] = true;
          expected[`binary ${size}`] = true;
        }
        Object.assign(expected, {
          "multi-byte text": true,
          "fragmented text from the server": true,
          "fragmented binary from the server": true,
          "server's ping answered by the browser": "pong: from the server ✓",
          "close from the browser": { code: 4000, reason: "browser says bye ✓", wasClean: true },
          "close from the server": { code: 4002, reason: "server says bye ✓", wasClean: true },
        });
        expect(report).toEqual(expected);

        // Our side saw the same closing handshakes, complete.
        const prefix = `/${deflate ? "deflate" : "plain"}`;
        await expect.poll(() => serverCloses.get(`${prefix}/echo`)).toEqual({ code: 4000, reason: "browser says bye ✓", wasClean: true });
        await expect.poll(() => serverCloses.get(`${prefix}/close-from-server`)).toEqual({
          code: 4002,
          reason: "server says bye ✓",
          wasClean: true,
        });
        expect(serverEvents).toEqual([]);
      });
    }

    it("the core, bundled for the browser without any Node shim, runs a client ↔ server round trip in the page", async () => {
      expect(coreBundle).not.toMatch(/\brequire\(|from\s*["']node:/);
      await page.goto(`${origin}/core`);
      const report = await page.evaluate(() => {
        type Core = typeof import("../../src/index.js");
        const ws = (globalThis as unknown as { wsmachine: Core }).wsmachine;
        const log: string[] = [];
        const client = new ws.WSConnection(ws.ConnectionType.CLIENT);
        const server = new ws.WSConnection(ws.ConnectionType.SERVER);
        const watch = (name: string, connection: InstanceType<Core["WSConnection"]>): void => {
          let previous = connection.state;
          connection.actor.subscribe(() => {
            if (connection.state !== previous) log.push(`${name} ${previous}→${connection.state}`);
            previous = connection.state;
          });
        };
        watch("client", client);
        watch("server", server);
        // The receiver may unmask in place: hand it a copy.
        const deliver = (bytes: Uint8Array, to: InstanceType<Core["WSConnection"]>) => {
          to.receiveData(bytes.slice());
          return [...to.events()];
        };
        const describe = (events: unknown[]): string[] =>
          events.map((event) => {
            if (event instanceof ws.TextMessage) return `text:${event.data}`;
            if (event instanceof ws.BytesMessage) return `bytes:${Array.from(event.data).join(",")}`;
            if (event instanceof ws.CloseConnection) return `close:${event.code}:${event.reason ?? ""}`;
            if (event instanceof ws.Ping) return `ping:${new TextDecoder().decode(event.payload)}`;
            if (event instanceof ws.Pong) return `pong:${new TextDecoder().decode(event.payload)}`;
            return (event as { type: string }).type;
          });

        const received: string[] = [];
        const request = deliver(client.send(new ws.Request({ host: "example.test", target: "/chat", subprotocols: ["chat"] })), server);
        received.push(...describe(request));
        received.push(...describe(deliver(server.send(new ws.AcceptConnection({ subprotocol: "chat" })), client)));
        received.push(...describe(deliver(client.send(new ws.TextMessage({ data: "héllo from the page ✓" })), server)));
        received.push(...describe(deliver(server.send(new ws.BytesMessage({ data: Uint8Array.of(1, 2, 255) })), client)));
        const ping = deliver(client.send(new ws.Ping({ payload: new TextEncoder().encode("p") })), server);
        received.push(...describe(ping));
        received.push(...describe(deliver(server.send((ping[0] as InstanceType<Core["Ping"]>).response()), client)));
        const close = deliver(client.send(new ws.CloseConnection({ code: 1000, reason: "done" })), server);
        received.push(...describe(close));
        received.push(...describe(deliver(server.send((close[0] as InstanceType<Core["CloseConnection"]>).response()), client)));
        return {
          received,
          log,
          states: [client.state, server.state],
          accept: ws.generateAcceptToken("dGhlIHNhbXBsZSBub25jZQ=="),
          userAgent: navigator.userAgent,
        };
      });
      expect(report.userAgent).toMatch(/HeadlessChrome|Chrome/);
      expect(report.received).toEqual([
        "Request",
        "AcceptConnection",
        "text:héllo from the page ✓",
        "bytes:1,2,255",
        "ping:p",
        "pong:p",
        "close:1000:done",
        "close:1000:done",
      ]);
      expect(report.log).toEqual([
        "server CONNECTING→OPEN",
        "client CONNECTING→OPEN",
        "client OPEN→LOCAL_CLOSING",
        "server OPEN→REMOTE_CLOSING",
        "server REMOTE_CLOSING→CLOSED",
        "client LOCAL_CLOSING→CLOSED",
      ]);
      expect(report.states).toEqual(["CLOSED", "CLOSED"]);
      // RFC 6455 §1.3's example, computed by the bundled SHA-1 in the browser.
      expect(report.accept).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    });
  });
}
