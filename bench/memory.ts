/**
 * M1: memory held per idle OPEN connection. Run by bench/run.ts in a child process (it needs
 * --expose-gc and a heap that no other workload has touched):
 *
 *     node --expose-gc --import tsx bench/memory.ts [--json] [--quick]
 *
 * For each configuration, N connections are opened by complete handshakes (each with its own
 * peer, which is then dropped) and kept; the figure is (heap after − heap before) / N, both
 * taken after full GCs, where "heap" is V8's used heap plus the ArrayBuffer memory outside it
 * (`process.memoryUsage()`: heapUsed + arrayBuffers). "idle" means nothing was sent or
 * received after the handshake.
 */
import { ConnectionType, PerMessageDeflate, WSConnection } from "../src/index.js";
import { openPair } from "./workloads/support/wire.js";

export interface MemoryEntry {
  name: string;
  connections: number;
  bytesPerConnection: number;
  heapBytesPerConnection: number;
  arrayBufferBytesPerConnection: number;
  /** The M1 limit in bytes, or null when the figure is only reported. */
  limitBytes: number | null;
}

export interface MemoryReport {
  method: string;
  entries: MemoryEntry[];
}

const gc = (globalThis as { gc?: () => void }).gc;

function settle(): { heap: number; arrayBuffers: number } {
  if (gc === undefined) throw new Error("bench/memory.ts needs node --expose-gc");
  for (let i = 0; i < 4; i++) gc();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, arrayBuffers: usage.arrayBuffers };
}

function measureConnections(name: string, count: number, limitBytes: number | null, open: () => WSConnection): MemoryEntry {
  // Warm up: code, shared tables and pools exist before the measurement starts.
  const warm: WSConnection[] = [];
  for (let i = 0; i < 200; i++) warm.push(open());
  warm.length = 0;
  const kept: WSConnection[] = new Array<WSConnection>(count);
  const before = settle();
  for (let i = 0; i < count; i++) kept[i] = open();
  const after = settle();
  for (const connection of kept) if (connection.state !== "OPEN") throw new Error(`${name}: a connection is ${connection.state}`);
  const heap = (after.heap - before.heap) / count;
  const arrayBuffers = (after.arrayBuffers - before.arrayBuffers) / count;
  kept.length = 0;
  return {
    name,
    connections: count,
    bytesPerConnection: heap + arrayBuffers,
    heapBytesPerConnection: heap,
    arrayBufferBytesPerConnection: arrayBuffers,
    limitBytes,
  };
}

export function measureMemory(count: number): MemoryReport {
  const deflatePair = () => openPair({ client: [new PerMessageDeflate()], server: [new PerMessageDeflate()] });
  const entries = [
    measureConnections("server, no deflate", count, 5 * 1024, () => openPair().server),
    measureConnections("client, no deflate", count, 5 * 1024, () => openPair().client),
    measureConnections("server, permessage-deflate", count, null, () => deflatePair().server),
    measureConnections("client, permessage-deflate", count, null, () => deflatePair().client),
  ];
  void ConnectionType;
  return { method: `${count.toLocaleString("en-US")} connections, heapUsed + arrayBuffers delta after GC, child process`, entries };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes("--quick");
  const report = measureMemory(quick ? 2_000 : 10_000);
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify(report));
  } else {
    for (const entry of report.entries) {
      console.log(
        `${entry.name}: ${(entry.bytesPerConnection / 1024).toFixed(2)} KiB per connection (heap ${(entry.heapBytesPerConnection / 1024).toFixed(2)} KiB, ArrayBuffers ${(entry.arrayBufferBytesPerConnection / 1024).toFixed(2)} KiB)`,
      );
    }
  }
}
