/**
 * The echo server's and echo client's command lines for the runtimes without node:util
 * (examples/deno/, examples/bun/): the same options as `npm run echo-server` and `npm run
 * echo-client`, parsed by hand, and the same output.
 */
import { DEFAULT_MAX_MESSAGE_SIZE } from "../codec/constants.js";
import { runEchoBattery, type BatteryConnect, type CheckResult } from "./echo-battery-core.js";
import type { ServerOptions, WebSocketServer } from "../src/runtime/server.js";

export interface EchoServerArgs {
  port: number;
  host: string;
  deflate: boolean;
  maxMessageSize: number;
}

/** `[--port N] [--host H] [--no-deflate] [--max-message-size BYTES]`; a string says what is wrong. */
export function parseEchoServerArgs(argv: readonly string[]): EchoServerArgs | string {
  const args: EchoServerArgs = { port: 9001, host: "127.0.0.1", deflate: true, maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE };
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = argv[i]!.split("=", 2) as [string, string | undefined];
    const value = (): string => inline ?? argv[++i] ?? "";
    if (name === "--port") {
      const port = Number(value());
      if (!Number.isInteger(port) || port < 0 || port > 65535) return `--port must be a port number, not ${argv[i]}`;
      args.port = port;
    } else if (name === "--host") args.host = value();
    else if (name === "--no-deflate") args.deflate = false;
    else if (name === "--max-message-size") {
      const size = Number(value());
      if (!Number.isInteger(size) || size <= 0) return `--max-message-size must be a positive number of bytes, not ${argv[i]}`;
      args.maxMessageSize = size;
    } else return `unknown option ${name} (options: --port N, --host H, --no-deflate, --max-message-size BYTES)`;
  }
  return args;
}

/** How a runtime starts a server, exits and hears signals: the rest of the echo server is the same. */
export interface EchoServerRuntime {
  createWebSocketServer(options: ServerOptions): WebSocketServer;
  exit(code: number): void;
  onSignal(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
}

/**
 * The echo server of `npm run echo-server` on a runtime's adapter: echo every message, print
 * `listening ws://HOST:PORT/`, close gracefully (1001) and exit 0 on SIGINT or SIGTERM.
 */
export async function echoServerMain(argv: readonly string[], runtime: EchoServerRuntime): Promise<void> {
  const args = parseEchoServerArgs(argv);
  if (typeof args === "string") {
    console.error(args);
    runtime.exit(2);
    return;
  }
  // Text as validated bytes, sent back as text: an echo never needs the string.
  const server = runtime.createWebSocketServer({ perMessageDeflate: args.deflate, maxMessageSize: args.maxMessageSize, textAs: "bytes" });
  server.on("connection", (endpoint) => {
    endpoint.on("message", (data, isBinary) => {
      endpoint.send(data, { binary: isBinary });
    });
    // A misbehaving client is its own problem: the endpoint already closed with the right code.
    endpoint.on("error", () => {});
  });
  server.on("clientError", () => {});
  await server.listen(args.port, args.host);
  console.log(`listening ${server.url}`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void server.close().then(() => runtime.exit(0));
  };
  runtime.onSignal("SIGINT", stop);
  runtime.onSignal("SIGTERM", stop);
}

/** `<url> [--no-deflate] [--only-deflate]`: run the battery, print a line per check; resolves with the exit code. */
export async function echoClientMain(argv: readonly string[], connect: BatteryConnect): Promise<number> {
  const url = argv.find((arg) => !arg.startsWith("--"));
  if (url === undefined) {
    console.error("usage: echo-client <ws://host:port/path> [--no-deflate] [--only-deflate]");
    return 2;
  }
  const print = (result: CheckResult): void => {
    console.log(`${result.ok ? "PASS" : "FAIL"} ${result.name}${result.detail === "" ? "" : ` — ${result.detail}`}`);
  };
  const passes: boolean[] = [];
  if (!argv.includes("--only-deflate")) passes.push(false);
  if (!argv.includes("--no-deflate")) passes.push(true);
  const results: CheckResult[] = [];
  for (const deflate of passes) results.push(...(await runEchoBattery(url, { deflate, connect, onResult: print })));
  const passed = results.filter((result) => result.ok).length;
  console.log(`${passed} passed, ${results.length - passed} failed`);
  return results.length > 0 && passed === results.length ? 0 : 1;
}
