/**
 * The end-to-end workloads (issue #19) and the servers they compare. Sizes, counts and targets
 * live here; bench/e2e/run.ts runs them, ./load.ts generates the load.
 */
import { join } from "node:path";
import { COMPILED_DIRECTORY, NODE_SERVERS } from "./compile.js";
import type { LoadSpec } from "./load.js";

export interface Contender {
  name: string;
  /** The server's command line (run from the repository root); `--deflate` is appended when asked. */
  command: readonly string[];
  /** Whether the server can negotiate permessage-deflate. */
  deflate: boolean;
}

/** A Node server compiled to plain JavaScript by ./compile.ts. */
const nodeServer = (name: (typeof NODE_SERVERS)[number]): string[] => ["node", "--expose-gc", join(COMPILED_DIRECTORY, `${name}.mjs`)];

export const CONTENDERS: readonly Contender[] = [
  { name: "wsmachine", command: nodeServer("wsmachine"), deflate: true },
  { name: "ws", command: nodeServer("ws"), deflate: true },
  { name: "node floor", command: nodeServer("floor"), deflate: false },
  { name: "bun", command: ["node_modules/.bin/bun", "bench/e2e/servers/bun.ts"], deflate: true },
];

/** `contender` ≥ `ratio` × `baseline`, same-run medians. */
export interface Target {
  contender: string;
  baseline: string;
  ratio: number;
}

export interface E2eWorkload {
  id: string;
  title: string;
  unit: "msg/s" | "handshakes/s" | "KiB/conn";
  /** Lower is better (memory): ratios and targets read as "at most". */
  lowerIsBetter?: boolean;
  deflate: boolean;
  /** The load, less the port (filled in per server) and the timing (from the run's mode). */
  load: (quick: boolean) => DistributiveOmit<LoadSpec, "port" | "warmupMs" | "measureMs">;
  targets: readonly Target[];
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const WS = "ws";
const ME = "wsmachine";
const FLOOR = "node floor";

export const WORKLOADS: readonly E2eWorkload[] = [
  {
    id: "E1",
    title: "1,000 connections × 1 in flight × 16 B text",
    unit: "msg/s",
    deflate: false,
    load: () => ({ kind: "echo", connections: 1000, inFlight: 1, size: 16, binary: false, deflate: false }),
    targets: [{ contender: ME, baseline: WS, ratio: 1.0 }],
  },
  {
    id: "E2",
    title: "100 connections × 16 in flight × 16 B text",
    unit: "msg/s",
    deflate: false,
    load: () => ({ kind: "echo", connections: 100, inFlight: 16, size: 16, binary: false, deflate: false }),
    targets: [
      { contender: ME, baseline: WS, ratio: 3.0 },
      { contender: ME, baseline: FLOOR, ratio: 0.4 },
    ],
  },
  {
    id: "E3",
    title: "50 connections × 8 in flight × 1 KiB text",
    unit: "msg/s",
    deflate: false,
    load: () => ({ kind: "echo", connections: 50, inFlight: 8, size: 1024, binary: false, deflate: false }),
    targets: [{ contender: ME, baseline: WS, ratio: 1.5 }],
  },
  {
    id: "E4",
    title: "20 connections × 4 in flight × 64 KiB binary",
    unit: "msg/s",
    deflate: false,
    load: () => ({ kind: "echo", connections: 20, inFlight: 4, size: 65536, binary: true, deflate: false }),
    targets: [{ contender: ME, baseline: WS, ratio: 1.1 }],
  },
  {
    id: "E5",
    title: "50 connections × 8 in flight × 1 KiB JSON text, permessage-deflate",
    unit: "msg/s",
    deflate: true,
    load: () => ({ kind: "echo", connections: 50, inFlight: 8, size: 1024, binary: false, deflate: true }),
    targets: [],
  },
  {
    id: "H1",
    title: "opening handshakes (connect, upgrade, close), 100 concurrent",
    unit: "handshakes/s",
    deflate: false,
    load: () => ({ kind: "handshake", concurrency: 100 }),
    targets: [{ contender: ME, baseline: WS, ratio: 1.0 }],
  },
  {
    id: "R1",
    title: "server RSS per idle OPEN connection",
    unit: "KiB/conn",
    lowerIsBetter: true,
    deflate: false,
    // 10,000 needs 10,000 descriptors in the server and in the generator (run.ts checks ulimit -n).
    load: (quick) => ({ kind: "idle", connections: quick ? 1000 : 10_000 }),
    targets: [{ contender: ME, baseline: WS, ratio: 1.0 }],
  },
];
