/**
 * What one idle OPEN connection holds in a server's JS heap (issue #19, R1): `node --expose-gc
 * --import tsx bench/e2e/heap-census.ts [wsmachine|ws] [connections]`.
 *
 * Starts the named echo server in this process (the same code as ./servers/), takes a heap
 * snapshot, opens the connections from a child load generator (./load.ts, idle kind), takes a
 * second snapshot, and prints the difference per constructor (objects, closures, arrays,
 * strings, code…) divided by the number of connections: count and self size per connection,
 * largest first. Self sizes only (what each object is itself), so the rows add up to the heap's
 * growth; what lives outside the V8 heap (socket handles, ArrayBuffer backing stores) shows in
 * `process.memoryUsage()` printed at the end.
 */
import { spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeHeapSnapshot } from "node:v8";
import { WebSocketServer } from "ws";
import { createWebSocketServer } from "../../src/node/index.js";

const contender = process.argv[2] ?? "wsmachine";
const connections = Number(process.argv[3] ?? 2000);
/** `--holders`: plain objects, arrays and strings per what holds them. */
const byHolder = process.argv.includes("--holders");
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc");

async function startServer(): Promise<number> {
  if (contender === "ws") {
    const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    server.on("connection", (socket) => {
      socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
      socket.on("error", () => {});
    });
    await new Promise((resolve) => server.once("listening", resolve));
    return (server.address() as AddressInfo).port;
  }
  const server = createWebSocketServer({}, (endpoint) => {
    endpoint.on("message", (data) => endpoint.send(data));
    endpoint.on("error", () => {});
  });
  server.on("clientError", () => {});
  return (await server.listen(0, "127.0.0.1")).port;
}

interface Row {
  count: number;
  size: number;
}

/** Self size and count per "type:name" of a heap snapshot (V8's format: flat arrays). */
let measured = process.memoryUsage();

function census(): Map<string, Row> {
  gc!();
  gc!();
  // Before the snapshot, which takes memory of its own.
  measured = process.memoryUsage();
  const file = join(tmpdir(), `census-${process.pid}-${Date.now()}.heapsnapshot`);
  writeHeapSnapshot(file);
  const snapshot = JSON.parse(readFileSync(file, "utf8")) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[] } };
    nodes: number[];
    edges: number[];
    locations?: number[];
    strings: string[];
  };
  rmSync(file);
  const fields = snapshot.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const types = snapshot.snapshot.meta.node_types[0];
  // V8 keeps an object's properties in a separate array once it has too many or had one deleted
  // (dictionary mode): name such arrays, and closures' contexts, after the object holding them.
  const owners = new Map<number, string>();
  // Closures are named by where they were written (script id:line), anonymous ones included.
  const where = new Map<number, string>();
  const locations = snapshot.locations ?? [];
  const edgeWidth = snapshot.snapshot.meta.edge_fields.length;
  const toAt = snapshot.snapshot.meta.edge_fields.indexOf("to_node");
  const edgeCountAt = fields.indexOf("edge_count");
  const nameEdgeAt = snapshot.snapshot.meta.edge_fields.indexOf("name_or_index");
  const firstEdge = new Map<number, number>();
  let edge = 0;
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    firstEdge.set(i, edge);
    edge += snapshot.nodes[i + edgeCountAt]! * edgeWidth;
  }
  /** The node a named edge of node `i` points to, or -1. */
  const follow = (i: number, name: string): number => {
    const first = firstEdge.get(i)!;
    for (let e = 0; e < snapshot.nodes[i + edgeCountAt]!; e++) {
      const at = first + e * edgeWidth;
      if (snapshot.strings[snapshot.edges[at + nameEdgeAt]!] === name) return snapshot.edges[at + toAt]!;
    }
    return -1;
  };
  const scriptOf = (i: number): string => {
    const shared = follow(i, "shared");
    const script = shared < 0 ? -1 : follow(shared, "script");
    if (script < 0) return "";
    const url = snapshot.strings[snapshot.nodes[script + nameAt]!]!;
    return url.slice(url.lastIndexOf("/", url.lastIndexOf("/") - 1) + 1);
  };
  for (let l = 0; l < locations.length; l += 4) where.set(locations[l]!, `@${scriptOf(locations[l]!)}:${locations[l + 3]}`);
  edge = 0;
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const owner = `${types[snapshot.nodes[i + typeAt]!]!} ${snapshot.strings[snapshot.nodes[i + nameAt]!]!}${where.get(i) ?? ""}`.trim();
    for (let e = 0; e < snapshot.nodes[i + edgeCountAt]!; e++, edge += edgeWidth) {
      const to = snapshot.edges[edge + toAt]!;
      const toName = snapshot.strings[snapshot.nodes[to + nameAt]!]!;
      if (toName === "(object properties)" || toName === "(object elements)") owners.set(to, owner);
    }
  }
  // Plain objects, arrays and strings are told apart by what holds them (the first holder seen).
  const holders = new Map<number, string>();
  const edgeTypeAt = snapshot.snapshot.meta.edge_fields.indexOf("type");
  const edgeTypes = (snapshot.snapshot.meta as unknown as { edge_types: [string[]] }).edge_types[0];
  edge = 0;
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const holder = snapshot.strings[snapshot.nodes[i + nameAt]!]!;
    for (let e = 0; e < snapshot.nodes[i + edgeCountAt]!; e++, edge += edgeWidth) {
      const kind = edgeTypes[snapshot.edges[edge + edgeTypeAt]!];
      if (kind === "weak") continue;
      const to = snapshot.edges[edge + toAt]!;
      if (holders.has(to)) continue;
      const label = kind === "element" || kind === "hidden" ? `[${snapshot.edges[edge + nameEdgeAt]}]` : `.${snapshot.strings[snapshot.edges[edge + nameEdgeAt]!]}`;
      holders.set(to, `${holder.slice(0, 40)}${kind === "element" ? "[]" : label}`);
    }
  }
  if (process.argv.includes("--large")) {
    // Where the largest objects hang: each one's chain of first holders.
    const holderIndex = new Map<number, number>();
    edge = 0;
    for (let i = 0; i < snapshot.nodes.length; i += width) {
      for (let e = 0; e < snapshot.nodes[i + edgeCountAt]!; e++, edge += edgeWidth) {
        if (edgeTypes[snapshot.edges[edge + edgeTypeAt]!] === "weak") continue;
        const to = snapshot.edges[edge + toAt]!;
        if (!holderIndex.has(to)) holderIndex.set(to, i);
      }
    }
    for (let i = 0; i < snapshot.nodes.length; i += width) {
      if (snapshot.nodes[i + sizeAt]! < 200_000) continue;
      const chain: string[] = [];
      for (let at: number | undefined = i, depth = 0; at !== undefined && depth < 8; at = holderIndex.get(at), depth++) {
        chain.push(`${types[snapshot.nodes[at + typeAt]!]}:${snapshot.strings[snapshot.nodes[at + nameAt]!]!.slice(0, 50)}`);
      }
      console.log(`${snapshot.nodes[i + sizeAt]} bytes: ${chain.join(" <- ")}`);
    }
  }
  const rows = new Map<string, Row>();
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt]!]!;
    let name = snapshot.strings[snapshot.nodes[i + nameAt]!]!;
    const owner = owners.get(i);
    if (owner !== undefined) name = `${name} of ${owner}`;
    if (type === "closure") name += where.get(i) ?? "";
    if (type === "string" || type === "concatenated string" || type === "sliced string" || type === "number") name = "";
    // Strings are keyed by kind, not content; closures and objects by their name.
    if (byHolder && (name === "Object" || name === "Array" || type.endsWith("string") || type === "closure" || name === "")) name += ` in ${holders.get(i) ?? "?"}`;
    if (name.length > 60) name = `${name.slice(0, 57)}...`;
    const key = `${type}:${name}`;
    const row = rows.get(key) ?? { count: 0, size: 0 };
    row.count++;
    row.size += snapshot.nodes[i + sizeAt]!;
    rows.set(key, row);
  }
  return rows;
}

const port = await startServer();
// Kept on disk while the second snapshot is taken: in the heap it would be counted as growth.
const beforeFile = join(tmpdir(), `census-before-${process.pid}.json`);
writeFileSync(beforeFile, JSON.stringify([...census()]));
const memoryBefore = measured;
const load = spawn("node", ["--import", "tsx", "bench/e2e/load.ts", JSON.stringify({ kind: "idle", port, connections })], { stdio: ["pipe", "pipe", "inherit"] });
await new Promise<void>((resolve) => {
  load.stdout.on("data", (data: Buffer) => {
    if (data.toString().includes("phase ready")) resolve();
  });
});
// Let the endpoints finish opening (the deferred turn after 'open').
await new Promise((resolve) => setTimeout(resolve, 500));
const after = census();
const before = new Map<string, Row>(JSON.parse(readFileSync(beforeFile, "utf8")) as Array<[string, Row]>);
rmSync(beforeFile);
const memoryAfter = measured;
load.stdin.write("close\n");

const diff: Array<[string, Row]> = [];
for (const [key, row] of after) {
  const old = before.get(key) ?? { count: 0, size: 0 };
  const delta = { count: (row.count - old.count) / connections, size: (row.size - old.size) / connections };
  if (Math.abs(delta.size) >= 4) diff.push([key, delta]);
}
diff.sort((a, b) => b[1].size - a[1].size);
let total = 0;
for (const [, row] of diff) total += row.size;
console.log(`${contender}, ${connections} idle connections: per connection`);
console.log("bytes   count  type:name");
for (const [key, row] of diff) console.log(`${row.size.toFixed(0).padStart(6)} ${row.count.toFixed(2).padStart(6)}  ${key}`);
console.log(`${total.toFixed(0).padStart(6)}         total of rows ≥ 4 bytes`);
const per = (field: "heapUsed" | "external" | "arrayBuffers" | "rss"): string => ((memoryAfter[field] - memoryBefore[field]) / connections).toFixed(0);
console.log(`memoryUsage per connection: heapUsed ${per("heapUsed")} external ${per("external")} arrayBuffers ${per("arrayBuffers")} rss ${per("rss")}`);
process.exit(0);
