/**
 * `startInspector()`: the offline inspector (`wsmachine/inspector`; the command is ./cli.ts).
 * One node:http server on 127.0.0.1 serves
 * - `/`: a page (plain HTML, CSS, JS; nothing from the internet) with the connection statechart
 *   drawn from the machine definition, each live connection's current state highlighted, and the
 *   selected connection's lifecycle transitions and frames as they happen;
 * - `/live`: the page's live feed, a WebSocket served by wsmachine itself (wsmachine/node's
 *   `upgrade()`), sending the inspector's records as JSON;
 * - `/echo`: the demo's echo server (also `upgrade()`), every connection inspected;
 * - `/trace/<id>.jsonl`: a kept connection's flight-recorder trace (README, "Flight recorder");
 * and a demo loop connects a client to `/echo` every `--interval` ms (default 1500), exchanges a
 * few messages, a ping, and closes — from the client one time, from the server the next — so
 * there is always something live to watch. Any other WebSocket client may connect to `/echo`.
 *
 * The page's files are read from ./page/ next to this module, in the repository (src/inspector/)
 * and in the package (dist/src/inspector/, copied there by the build).
 */
import { readFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { ConnectionState } from "../../codec/constants.js";
import { connectionMachine } from "../../machines/connection-machine.js";
import { connect, upgrade, type WebSocketEndpoint } from "../node/index.js";
import { renderChartSvg } from "./layout.js";
import { InspectorHub, type FeedMessage, type HubOptions } from "./hub.js";
import { statechartGraph } from "./statechart-graph.js";

export interface InspectorOptions {
  /** Port on 127.0.0.1 (default 0: any free port). */
  port?: number;
  /** Milliseconds between demo clients; 0 runs none (default 1500). */
  demoInterval?: number;
  /** Milliseconds between the steps of one demo conversation, so each state can be seen (default 150). */
  demoStepDelay?: number;
  /** The hub's options (how many connections and frames are kept, `redact`, trace size). */
  hub?: HubOptions;
}

export interface RunningInspector {
  /** The page: http://127.0.0.1:<port>/ */
  readonly url: string;
  /** The demo echo server: ws://127.0.0.1:<port>/echo */
  readonly echoUrl: string;
  readonly hub: InspectorHub;
  /** Stop the demo, close every connection and the server. */
  close(): Promise<void>;
}

const HOST = "127.0.0.1";
const PAGE_DIRECTORY = fileURLToPath(new URL("./page/", import.meta.url));
/** A page that reads slower than the feed is sent to stops getting messages past this backlog. */
const FEED_BACKLOG_LIMIT = 4 * 1024 * 1024;
/** At most this many demo conversations at once (a slow machine must not pile them up). */
const MAX_DEMO_CONVERSATIONS = 3;

/** The page's scripts and styles, served as they are (plain browser files, no build step). */
const PAGE_FILES: ReadonlyArray<readonly [string, string]> = [
  ["app.js", "text/javascript; charset=utf-8"],
  ["chart.js", "text/javascript; charset=utf-8"],
  ["trace.js", "text/javascript; charset=utf-8"],
  ["views.js", "text/javascript; charset=utf-8"],
  ["style.css", "text/css; charset=utf-8"],
];

/** The page as served: index.html with the chart drawn into it from the machine definition. */
export function renderPage(): string {
  const graph = statechartGraph(connectionMachine);
  return readFileSync(`${PAGE_DIRECTORY}index.html`, "utf8").replace("<!-- chart -->", renderChartSvg(graph));
}

/**
 * The page as one file with its scripts and styles inlined: open it from disk (file://) to
 * step through trace files with no server at all (`wsmachine-inspect --page FILE`).
 */
export function renderStandalonePage(): string {
  let html = renderPage();
  // Function replacements: the files' own "$" characters must not be read as patterns.
  html = html.replace('<link rel="stylesheet" href="style.css" />', () => `<style>\n${readFileSync(`${PAGE_DIRECTORY}style.css`, "utf8")}</style>`);
  for (const [name] of PAGE_FILES) {
    if (!name.endsWith(".js")) continue;
    // "</script" inside a script would end it early; the page's files have none, but be sure.
    const code = readFileSync(`${PAGE_DIRECTORY}${name}`, "utf8").replaceAll("</script", "<\\/script");
    html = html.replace(`<script src="${name}"></script>`, () => `<script>\n${code}</script>`);
  }
  return html;
}

function pageAssets(): Map<string, { type: string; body: string }> {
  const graph = statechartGraph(connectionMachine);
  const assets = new Map([
    ["/", { type: "text/html; charset=utf-8", body: renderPage() }],
    ["/graph.json", { type: "application/json", body: JSON.stringify(graph) }],
  ]);
  for (const [name, type] of PAGE_FILES) assets.set(`/${name}`, { type, body: readFileSync(`${PAGE_DIRECTORY}${name}`, "utf8") });
  return assets;
}

export async function startInspector(options: InspectorOptions = {}): Promise<RunningInspector> {
  const hub = new InspectorHub(options.hub);
  const assets = pageAssets();
  const endpoints = new Set<WebSocketEndpoint>();
  const sockets = new Set<Socket>();

  const server = http.createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    const readable = request.method === "GET" || request.method === "HEAD";
    const traceId = /^\/trace\/(\d+)\.jsonl$/.exec(path)?.[1];
    const trace = readable && traceId !== undefined ? hub.traceOf(Number(traceId)) : undefined;
    const asset = trace !== undefined ? { type: "application/jsonl; charset=utf-8", body: trace } : readable ? assets.get(path) : undefined;
    if (asset === undefined) {
      response.writeHead(path === "/favicon.ico" ? 204 : 404).end();
      return;
    }
    // No caching: the page is regenerated from the machine each time the inspector starts.
    response.writeHead(200, { "content-type": asset.type, "cache-control": "no-store" }).end(request.method === "HEAD" ? undefined : asset.body);
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  server.on("upgrade", (request: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    if (path === "/live") serveFeed(request, socket, head);
    else if (path === "/echo") serveEcho(request, socket, head);
    else socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  });

  function keep(endpoint: WebSocketEndpoint): WebSocketEndpoint {
    endpoints.add(endpoint);
    // A peer's misbehaviour ends its own connection; it must not end the inspector.
    endpoint.on("error", () => {});
    void endpoint.closed.then(() => endpoints.delete(endpoint));
    return endpoint;
  }

  function serveFeed(request: http.IncomingMessage, socket: Socket, head: Buffer): void {
    // The feed itself is not inspected: it would report its own frames forever.
    upgrade(request, socket, head).then(
      (endpoint) => {
        keep(endpoint);
        // Called from inside other connections' inspection callbacks: it must never throw.
        const send = (message: FeedMessage): void => {
          if (endpoint.state !== ConnectionState.OPEN || endpoint.bufferedAmount > FEED_BACKLOG_LIMIT) return;
          endpoint.send(JSON.stringify(message));
        };
        send({ type: "hello", connections: hub.connections() });
        const unsubscribe = hub.subscribe(send);
        endpoint.once("closing", unsubscribe);
        void endpoint.closed.then(unsubscribe);
      },
      () => {},
    );
  }

  function serveEcho(request: http.IncomingMessage, socket: Socket, head: Buffer): void {
    const tracked = hub.track("server", `from port ${request.socket.remotePort ?? "?"}`);
    upgrade(request, socket, head, { inspect: tracked.inspect, frameTrace: tracked.frameTrace, record: tracked.record, perMessageDeflate: true }).then(
      (endpoint) => {
        keep(endpoint);
        endpoint.on("message", (data) => {
          // The demo client asks for the server-initiated close this way, to show both closing paths.
          if (data === "close, please") endpoint.close(1000, "you asked");
          else endpoint.send(data);
        });
        void endpoint.closed.then((info) => tracked.end(info));
      },
      (error: unknown) => tracked.end({ code: 1006, reason: error instanceof Error ? error.message : String(error), wasClean: false }),
    );
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, HOST, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${HOST}:${port}/`;
  const echoUrl = `ws://${HOST}:${port}/echo`;

  // The demo loop.
  const interval = options.demoInterval ?? 1500;
  const stepDelay = options.demoStepDelay ?? 150;
  let conversations = 0;
  let demoCount = 0;
  let stopped = false;
  const timer =
    interval > 0
      ? setInterval(() => {
          if (stopped || conversations >= MAX_DEMO_CONVERSATIONS) return;
          conversations++;
          void converse(++demoCount).finally(() => conversations--);
        }, interval)
      : null;
  timer?.unref();
  if (interval > 0) {
    conversations++;
    void converse(++demoCount).finally(() => conversations--);
  }

  async function converse(number: number): Promise<void> {
    const tracked = hub.track("client", `demo #${number}`);
    const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, stepDelay));
    let endpoint: WebSocketEndpoint;
    try {
      endpoint = keep(
        await connect(echoUrl, { inspect: tracked.inspect, frameTrace: tracked.frameTrace, record: tracked.record, perMessageDeflate: number % 2 === 0 }),
      );
    } catch (error) {
      tracked.end({ code: 1006, reason: error instanceof Error ? error.message : String(error), wasClean: false });
      return;
    }
    try {
      const reply = (): Promise<unknown> => new Promise((resolve) => endpoint.once("message", resolve));
      for (const message of [`hello from demo #${number}`, Uint8Array.of(number & 0xff, 1, 2, 3), "x".repeat(2000)]) {
        if (stopped) break;
        await pause();
        const echoed = reply();
        endpoint.send(message);
        await echoed;
      }
      await pause();
      const pong = new Promise((resolve) => endpoint.once("pong", resolve));
      endpoint.ping("ping?");
      await pong;
      await pause();
      // Odd conversations close from the client (LOCAL_CLOSING), even ones from the server (REMOTE_CLOSING).
      if (number % 2 === 1 || stopped) endpoint.close(1000, "demo done");
      else endpoint.send("close, please");
    } catch {
      endpoint.terminate();
    }
    tracked.end(await endpoint.closed);
  }

  return {
    url,
    echoUrl,
    hub,
    async close() {
      stopped = true;
      if (timer !== null) clearInterval(timer);
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const endpoint of endpoints) endpoint.terminate();
      for (const socket of sockets) socket.destroy();
      await closing;
    },
  };
}
