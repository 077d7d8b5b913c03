/**
 * What every Node echo server of the end-to-end benchmark shares with the orchestrator
 * (bench/e2e/run.ts), which talks to it over stdout and signals only, so that the same protocol
 * works for the Bun server too:
 * - `listening <port>` on stdout once it accepts connections (it listens on 127.0.0.1, port 0);
 * - a line `gc` on stdin: run a full GC, then print `gc <process.memoryUsage() as JSON>` (the idle-RSS workload reads /proc after
 *   it, so that garbage not yet collected is not counted as memory held per connection; stdin
 *   rather than a signal, because Bun dies of SIGUSR2);
 * - SIGTERM: exit at once through process.exit, which lets `--cpu-prof` write its profile.
 */
import type { AddressInfo } from "node:net";

/** Whether the server was asked to negotiate permessage-deflate (`--deflate`). */
export const deflate = process.argv.includes("--deflate");

export function announce(address: AddressInfo | string | null): void {
  if (address === null || typeof address === "string") throw new Error("the server has no TCP address");
  process.stdout.write(`listening ${address.port}\n`);
}

const collectGarbage = (globalThis as { gc?: () => void }).gc;

process.stdin.on("data", (data: Buffer) => {
  if (!data.toString().includes("gc")) return;
  // The orchestrator runs Node servers with --expose-gc.
  collectGarbage?.();
  process.stdout.write(`gc ${JSON.stringify(process.memoryUsage())}\n`);
});
process.on("SIGTERM", () => process.exit(0));
// The orchestrator going away closes our stdin: never outlive it.
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
