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
 * and a demo loop (./demo.ts) connects a client to `/echo` every `--interval` ms (default 1500),
 * exchanges a few messages, a ping, and closes — from the client one time, from the server the
 * next — so there is always something live to watch. Any other WebSocket client may connect to `/echo`.
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
import { upgrade, type WebSocketEndpoint } from "../node/index.js";
import { serveEcho, startDemo, type KeepEndpoint } from "./demo.js";
import { InspectorHub, type FeedMessage, type HubOptions } from "./hub.js";
import { renderChartSvg } from "./layout.js";
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

interface PageAsset {
  readonly type: string;
  readonly body: string;
}

/** What `/` and the page's other files are answered with, read once when the inspector starts. */
function pageAssets(): Map<string, PageAsset> {
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
  const openConnections = new OpenConnections();
  const server = http.createServer(answerRequest(hub, pageAssets()));
  openConnections.watch(server);
  server.on("upgrade", (request: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    if (path === "/live") serveFeed(hub, openConnections.keep, request, socket, head);
    else if (path === "/echo") serveEcho(hub, openConnections.keep, request, socket, head);
    else socket.end("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  });

  const port = await listen(server, options.port ?? 0);
  const url = `http://${HOST}:${port}/`;
  const echoUrl = `ws://${HOST}:${port}/echo`;
  const stopDemo = startDemo({ hub, keep: openConnections.keep, echoUrl, interval: options.demoInterval ?? 1500, stepDelay: options.demoStepDelay ?? 150 });
  return {
    url,
    echoUrl,
    hub,
    async close() {
      stopDemo();
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      openConnections.endAll();
      await closing;
    },
  };
}

/** The plain HTTP requests: the page's assets and the kept connections' traces. */
function answerRequest(hub: InspectorHub, assets: ReadonlyMap<string, PageAsset>): http.RequestListener {
  return (request, response) => {
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
  };
}

/** Serve one `/live` upgrade: the hub's records so far, then every change as it happens. */
function serveFeed(hub: InspectorHub, keep: KeepEndpoint, request: http.IncomingMessage, socket: Socket, head: Buffer): void {
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

/** Every socket and WebSocket endpoint the inspector has open, so that close() can end them all. */
class OpenConnections {
  private readonly endpoints = new Set<WebSocketEndpoint>();
  private readonly sockets = new Set<Socket>();

  watch(server: http.Server): void {
    server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
  }

  readonly keep: KeepEndpoint = (endpoint) => {
    this.endpoints.add(endpoint);
    // A peer's misbehaviour ends its own connection; it must not end the inspector.
    endpoint.on("error", () => {});
    void endpoint.closed.then(() => this.endpoints.delete(endpoint));
    return endpoint;
  };

  endAll(): void {
    for (const endpoint of this.endpoints) endpoint.terminate();
    for (const socket of this.sockets) socket.destroy();
  }
}

/** Listen on 127.0.0.1; resolves to the port (the one chosen when `port` is 0). */
async function listen(server: http.Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, HOST, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
