// scratch (not committed): heap spaces after a full GC over idle connections
import { spawn } from "node:child_process";
import type { AddressInfo } from "node:net";
import { getHeapSpaceStatistics } from "node:v8";
import { WebSocketServer } from "ws";
import { createWebSocketServer } from "../../src/node/index.js";
const contender = process.argv[2] ?? "wsmachine";
const connections = Number(process.argv[3] ?? 10000);
const gc = (globalThis as { gc: () => void }).gc;
async function startServer(): Promise<number> {
  if (contender === "ws") {
    const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    server.on("connection", (socket) => { socket.on("message", (d, b) => socket.send(d, { binary: b })); socket.on("error", () => {}); });
    await new Promise((r) => server.once("listening", r));
    return (server.address() as AddressInfo).port;
  }
  const server = createWebSocketServer({}, (e) => { e.on("message", (d) => e.send(d)); e.on("error", () => {}); });
  server.on("clientError", () => {});
  return (await server.listen(0, "127.0.0.1")).port;
}
function spaces(label: string): void {
  gc();
  const m = process.memoryUsage();
  const s = getHeapSpaceStatistics().map((x) => `${x.space_name.replace("_space", "")}:${(x.space_size / 1048576).toFixed(1)}/${(x.space_used_size / 1048576).toFixed(1)}/${(x.physical_space_size / 1048576).toFixed(1)}`).join(" ");
  console.log(label, `rss ${(m.rss / 1048576).toFixed(1)} heapTotal ${(m.heapTotal / 1048576).toFixed(1)} heapUsed ${(m.heapUsed / 1048576).toFixed(1)} ext ${(m.external / 1048576).toFixed(1)}`);
  console.log("  ", s);
}
const port = await startServer();
spaces("before");
const load = spawn("node", ["--import", "tsx", "bench/e2e/load.ts", JSON.stringify({ kind: "idle", port, connections })], { stdio: ["pipe", "pipe", "inherit"] });
await new Promise<void>((resolve) => load.stdout.on("data", (d: Buffer) => { if (d.toString().includes("phase ready")) resolve(); }));
await new Promise((r) => setTimeout(r, 500));
spaces("after");
load.stdin.write("close\n");
load.on("exit", () => process.exit(0));
