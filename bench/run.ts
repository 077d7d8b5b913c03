/**
 * Runs the benchmark workloads:
 * `npm run bench [-- [--json] [--quick] [--runs N] [--in-process] [filter…]]`.
 *
 * Every module in bench/workloads/ exporting `workloads: Workload[]` is loaded; a filter keeps
 * the workloads whose id or title contains any of the given words (case-insensitive).
 *
 * - The whole selection is measured `--runs` times (default 3, 1 with --quick), one workload
 *   after another, each run interleaving a workload's contenders round by round (see
 *   ./harness.ts). Reported: per contender the median of the runs' medians; per ratio the
 *   median of the runs' ratios, each computed within one run.
 * - Each workload runs in a child process of its own (all its runs there), so that no workload
 *   measures a heap, JIT feedback or allocator state that another workload left behind (e.g.
 *   EventEmitter call sites made megamorphic by ws before websocket-driver runs), with the
 *   workload's `env` added to its environment. With --in-process everything runs here instead,
 *   the runs alternating over all workloads (and no `env` applies).
 * - M1 (heap per idle OPEN connection) runs in a child process with --expose-gc
 *   (bench/memory.ts), selected by the filters "m1" or "memory" or by no filter.
 * - `--json` prints the results as JSON instead of tables; `--quick` measures with fewer,
 *   shorter rounds and one run. Tables are Markdown, one per workload.
 * The exit code is 1 when a workload misses a target.
 */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  combineRuns,
  DEFAULT_MEASURE_OPTIONS,
  measureAsync,
  type MeasureOptions,
  type Workload,
  type WorkloadResult,
} from "./harness.js";
import type { MemoryReport } from "./memory.js";

const args = process.argv.slice(2);
const json = args.includes("--json");
const quick = args.includes("--quick");
const inProcess = args.includes("--in-process");
/** The value after `--name`, or undefined. */
function option(name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}
const VALUE_OPTIONS = ["--runs", "--child-file", "--child-id"];
const runs = option("--runs") !== undefined ? Number(option("--runs")) : quick ? 1 : 3;
if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs takes a positive integer");
const childFile = option("--child-file");
const childId = option("--child-id");
const filters = args
  .filter((arg, index) => !arg.startsWith("--") && !VALUE_OPTIONS.includes(args[index - 1] ?? ""))
  .map((arg) => arg.toLowerCase());
// Full runs: 3 runs × 5 rounds per contender keeps the whole suite near 4 minutes on 2 cores.
const options: MeasureOptions = quick ? { warmupMs: 100, rounds: 3, roundMs: 60, settleMs: 100 } : { ...DEFAULT_MEASURE_OPTIONS, rounds: 5, roundMs: 120 };

const benchDirectory = dirname(fileURLToPath(import.meta.url));
const workloadDirectory = join(benchDirectory, "workloads");

interface Located {
  file: string;
  workload: Workload;
}

async function loadFile(file: string): Promise<Workload[]> {
  const module = (await import(pathToFileURL(join(workloadDirectory, file)).href)) as { workloads?: Workload[] };
  if (!Array.isArray(module.workloads)) {
    console.error(`bench/workloads/${file} exports no \`workloads\` array; skipped`);
    return [];
  }
  return module.workloads;
}

async function loadWorkloads(): Promise<Located[]> {
  const files = readdirSync(workloadDirectory)
    .filter((file) => /\.(ts|js|mjs)$/.test(file) && !file.endsWith(".d.ts"))
    .sort();
  const all: Located[] = [];
  for (const file of files) for (const workload of await loadFile(file)) all.push({ file, workload });
  return all;
}

/** Child mode: measure one workload `runs` times and print the combined result as JSON. */
async function runChild(file: string, id: string): Promise<void> {
  const workload = (await loadFile(file)).find((candidate) => candidate.id === id);
  if (workload === undefined) throw new Error(`bench/workloads/${file} has no workload ${id}`);
  const results: WorkloadResult[] = [];
  for (let run = 0; run < runs; run++) results.push(await measureAsync(workload, options));
  process.stdout.write(JSON.stringify(combineRuns(workload, results)));
}

function runIsolated(file: string, workload: Workload): WorkloadResult {
  const { id } = workload;
  const output = execFileSync(
    process.execPath,
    [
      "--expose-gc",
      "--import",
      "tsx",
      fileURLToPath(import.meta.url),
      "--child-file",
      file,
      "--child-id",
      id,
      "--runs",
      String(runs),
      ...(quick ? ["--quick"] : []),
    ],
    { encoding: "utf8", maxBuffer: 16 << 20, stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...workload.env } },
  );
  return JSON.parse(output) as WorkloadResult;
}

function matches(text: string): boolean {
  if (filters.length === 0) return true;
  const haystack = text.toLowerCase();
  return filters.some((filter) => haystack.includes(filter));
}

function formatNumber(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString("en-US");
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function markdownTable(rows: string[][], rightAligned: Set<number>): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: string[]): string =>
    `| ${row.map((cell, column) => (rightAligned.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join(" | ")} |`;
  const rule = `|${widths.map((width, column) => (rightAligned.has(column) ? `${"-".repeat(width + 1)}:` : "-".repeat(width + 2))).join("|")}|`;
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)];
}

function workloadTable(result: WorkloadResult): string[] {
  const references = result.references;
  const header = ["contender", `median ${result.unit}`, "spread", ...references.map((name) => `vs ${name}`)];
  const rows = [header];
  for (const contender of result.contenders) {
    const low = Math.min(...contender.samples);
    const high = Math.max(...contender.samples);
    const spread = contender.median === 0 ? "" : `±${(((high - low) / 2 / contender.median) * 100).toFixed(0)}%`;
    rows.push([
      contender.name,
      formatNumber(contender.median),
      spread,
      ...references.map((name) => `${contender.ratios[name]!.toFixed(2)}×`),
    ]);
  }
  const lines = [
    `### ${result.id}: ${result.title}`,
    "",
    ...markdownTable(rows, new Set(rows[0]!.map((_, i) => i).filter((i) => i > 0))),
    "",
  ];
  for (const check of result.checks) {
    const measured = check.baseline === null ? `${formatNumber(check.measured)} ${result.unit}` : `${check.measured.toFixed(2)}×`;
    const perRun =
      check.perRun.length > 1
        ? ` (runs: ${check.perRun.map((value) => (check.baseline === null ? formatNumber(value) : `${value.toFixed(2)}×`)).join(", ")})`
        : "";
    lines.push(`- target ${check.label}: **${measured}** ${check.pass ? "— met" : "— MISSED"}${perRun}`);
  }
  if (result.note !== null) lines.push(`- ${result.note}`);
  lines.push("");
  return lines;
}

function summaryTable(results: WorkloadResult[]): string[] {
  const rows = [["workload", "target", "measured", "verdict"]];
  results.forEach((result) => {
    for (const [index, check] of result.checks.entries()) {
      rows.push([
        index === 0 ? result.id : "",
        check.label,
        check.baseline === null ? `${formatNumber(check.measured)} ${result.unit}` : `${check.measured.toFixed(2)}×`,
        check.pass ? "met" : "MISSED",
      ]);
    }
  });
  return markdownTable(rows, new Set([2]));
}

function memoryTable(report: MemoryReport): string[] {
  const rows = [["configuration", "connections", "heap per connection", "target", "verdict"]];
  for (const entry of report.entries) {
    rows.push([
      entry.name,
      entry.connections.toLocaleString("en-US"),
      `${(entry.bytesPerConnection / 1024).toFixed(2)} KiB`,
      entry.limitBytes === null ? "report" : `≤ ${(entry.limitBytes / 1024).toFixed(0)} KiB`,
      entry.limitBytes === null ? "" : entry.bytesPerConnection <= entry.limitBytes ? "met" : "MISSED",
    ]);
  }
  return [`### M1: heap per idle OPEN connection (after GC, ${report.method})`, "", ...markdownTable(rows, new Set([1, 2])), ""];
}

function runMemory(): MemoryReport {
  const output = execFileSync(
    process.execPath,
    ["--expose-gc", "--import", "tsx", join(benchDirectory, "memory.ts"), "--json", ...(quick ? ["--quick"] : [])],
    { encoding: "utf8", maxBuffer: 1 << 20 },
  );
  return JSON.parse(output) as MemoryReport;
}

if (childFile !== undefined && childId !== undefined) {
  await runChild(childFile, childId);
  process.exit(0);
}

const located = (await loadWorkloads()).filter(({ workload }) => matches(`${workload.id} ${workload.title}`));
const withMemory = matches("m1 memory heap");
if (located.length === 0 && !withMemory) {
  console.error(filters.length > 0 ? `no workload matches ${filters.join(", ")}` : "no workloads found");
  process.exit(1);
}
const log = (text: string): void => {
  if (!json) process.stdout.write(text);
};
log(
  `node ${process.version}, ${runs} run(s) × ${options.rounds} rounds of ≥ ${options.roundMs} ms per contender (each after a GC and ${options.settleMs} ms untimed) after ${options.warmupMs} ms warm-up, ${inProcess ? "all in this process" : "each workload in a child process"}${(globalThis as { gc?: unknown }).gc ? "" : " (no --expose-gc)"}\n`,
);
let results: WorkloadResult[];
if (inProcess) {
  for (const { workload } of located) {
    if (workload.env !== undefined) {
      console.error(`${workload.id}: measured without its environment (${Object.entries(workload.env).map(([name, value]) => `${name}=${value}`).join(" ")}), which only a child process gets`);
    }
  }
  const perRun: WorkloadResult[][] = located.map(() => []);
  for (let run = 0; run < runs; run++) {
    for (const [index, { workload }] of located.entries()) {
      log(`run ${run + 1}/${runs} ${workload.id} … `);
      const started = performance.now();
      perRun[index]!.push(await measureAsync(workload, options));
      log(`${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    }
  }
  results = located.map(({ workload }, index) => combineRuns(workload, perRun[index]!));
} else {
  results = [];
  for (const { file, workload } of located) {
    log(`${workload.id} (${runs} run${runs > 1 ? "s" : ""}, child process) … `);
    const started = performance.now();
    results.push(runIsolated(file, workload));
    log(`${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  }
}
let memory: MemoryReport | null = null;
if (withMemory) {
  log("M1 heap per connection (child process) … ");
  const started = performance.now();
  memory = runMemory();
  log(`${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}
if (json) {
  console.log(JSON.stringify({ node: process.version, options, runs, isolated: !inProcess, results, memory }, null, 2));
} else {
  console.log();
  for (const result of results) console.log(workloadTable(result).join("\n"));
  if (memory !== null) console.log(memoryTable(memory).join("\n"));
  console.log("### Summary\n");
  console.log(summaryTable(results).join("\n"));
}
const memoryMissed = memory?.entries.some((entry) => entry.limitBytes !== null && entry.bytesPerConnection > entry.limitBytes) ?? false;
if (results.some((result) => result.verdict === "fail") || memoryMissed) process.exitCode = 1;
