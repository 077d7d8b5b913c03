/**
 * What one idle OPEN connection holds in a server's JS heap (issue #19, R1): `node --expose-gc
 * --import tsx bench/e2e/heap-census.ts [wsmachine|ws] [connections]`.
 *
 * Starts the named echo server in this process (the same code as ./servers/), takes a heap
 * snapshot, opens the connections from a child load generator (./load.ts, idle kind), takes a
 * second snapshot, and prints the difference per constructor (objects, closures, arrays,
 * strings, code…) divided by the number of connections: count and self size per connection,
 * largest first. `--holders` splits plain objects, arrays, strings and closures by what holds
 * them (e.g. "Array in Request.extraHeaders"). Self sizes only (what each object is itself), so the rows add up to the heap's
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

/** A heap snapshot in V8's format: flat arrays of nodes and edges, fields given by `meta`. */
interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** What the census reads of a snapshot: each node's type, name and size, and its edges. */
class Snapshot {
  readonly width: number;
  private readonly data: HeapSnapshot;
  private readonly at: { type: number; name: number; size: number; edges: number; edgeType: number; edgeName: number; to: number; edgeWidth: number };

  constructor(data: HeapSnapshot) {
    this.data = data;
    const { node_fields: fields, edge_fields: edgeFields } = data.snapshot.meta;
    this.width = fields.length;
    this.at = {
      type: fields.indexOf("type"),
      name: fields.indexOf("name"),
      size: fields.indexOf("self_size"),
      edges: fields.indexOf("edge_count"),
      edgeType: edgeFields.indexOf("type"),
      edgeName: edgeFields.indexOf("name_or_index"),
      to: edgeFields.indexOf("to_node"),
      edgeWidth: edgeFields.length,
    };
  }

  get length(): number {
    return this.data.nodes.length;
  }

  type(node: number): string {
    return this.data.snapshot.meta.node_types[0][this.data.nodes[node + this.at.type]!]!;
  }

  name(node: number): string {
    return this.data.strings[this.data.nodes[node + this.at.name]!]!;
  }

  size(node: number): number {
    return this.data.nodes[node + this.at.size]!;
  }

  /** Every strong edge: from, to, and a label (`.property` or `[index]`). */
  forEachEdge(visit: (from: number, to: number, label: string) => void): void {
    const { nodes, edges, strings } = this.data;
    const edgeTypes = this.data.snapshot.meta.edge_types[0];
    let edge = 0;
    for (let node = 0; node < nodes.length; node += this.width) {
      for (let e = 0; e < nodes[node + this.at.edges]!; e++, edge += this.at.edgeWidth) {
        const kind = edgeTypes[edges[edge + this.at.edgeType]!];
        if (kind === "weak") continue;
        const nameOrIndex = edges[edge + this.at.edgeName]!;
        const label = kind === "element" ? "[]" : kind === "hidden" ? `[${nameOrIndex}]` : `.${strings[nameOrIndex]}`;
        visit(node, edges[edge + this.at.to]!, label);
      }
    }
  }
}

let measured = process.memoryUsage();

/** Take a snapshot after a full GC (noting `process.memoryUsage()` before it). */
function takeSnapshot(): Snapshot {
  gc!();
  gc!();
  // Before the snapshot, which takes memory of its own.
  measured = process.memoryUsage();
  const file = join(tmpdir(), `census-${process.pid}-${Date.now()}.heapsnapshot`);
  writeHeapSnapshot(file);
  const data = JSON.parse(readFileSync(file, "utf8")) as HeapSnapshot;
  rmSync(file);
  return new Snapshot(data);
}

/**
 * The first holder of every node, as "Holder.property". V8 keeps an object's properties in a
 * separate store once it has too many or had one deleted (dictionary mode): such stores are
 * named after the type and name of the object holding them.
 */
function holdersOf(snapshot: Snapshot): { holders: Map<number, string>; stores: Map<number, string> } {
  const holders = new Map<number, string>();
  const stores = new Map<number, string>();
  snapshot.forEachEdge((from, to, label) => {
    const toName = snapshot.name(to);
    if (toName === "(object properties)" || toName === "(object elements)") stores.set(to, `${snapshot.type(from)} ${snapshot.name(from)}`);
    if (!holders.has(to)) holders.set(to, `${snapshot.name(from).slice(0, 40)}${label}`);
  });
  return { holders, stores };
}

/** Self size and count per "type:name" (with `--holders`, plain objects and the like per holder). */
function census(): Map<string, Row> {
  const snapshot = takeSnapshot();
  const { holders, stores } = holdersOf(snapshot);
  const rows = new Map<string, Row>();
  for (let i = 0; i < snapshot.length; i += snapshot.width) {
    const type = snapshot.type(i);
    // Strings are keyed by kind, not content; closures and objects by their name.
    let name = type.endsWith("string") || type === "number" ? "" : snapshot.name(i);
    const store = stores.get(i);
    if (store !== undefined) name = `${name} of ${store}`;
    if (byHolder && (name === "Object" || name === "Array" || type.endsWith("string") || type === "closure" || name === "")) {
      name += ` in ${holders.get(i) ?? "?"}`;
    }
    if (name.length > 60) name = `${name.slice(0, 57)}...`;
    const key = `${type}:${name}`;
    const row = rows.get(key) ?? { count: 0, size: 0 };
    row.count++;
    row.size += snapshot.size(i);
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
