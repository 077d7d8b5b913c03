/**
 * The echo server's and echo client's command lines for the runtimes without node:util
 * (examples/deno/, examples/bun/): the same options as `npm run echo-server` and `npm run
 * echo-client`, parsed by hand, and the same output.
 */
import { DEFAULT_MAX_MESSAGE_SIZE } from "../codec/constants.js";
import { runEchoBattery, type BatteryConnect, type CheckResult } from "./echo-battery-core.js";

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
