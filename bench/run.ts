/**
 * Runs the benchmark workloads: `npm run bench [-- [--json] [--quick] [--runs N] [filter…]]`.
 *
 * Every module in bench/workloads/ exporting `workloads: Workload[]` is loaded; a filter keeps
 * the workloads whose id or title contains any of the given words (case-insensitive).
 *
 * - The whole selection is measured `--runs` times (default 3, 1 with --quick), one workload
 *   after another, each run interleaving a workload's contenders round by round (see
 *   ./harness.ts). Reported: per contender the median of the runs' medians; per ratio the
 *   median of the runs' ratios, each computed within one run.
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
  referenceNames,
  type MeasureOptions,
  type Workload,
  type WorkloadResult,
} from "./harness.js";
import type { MemoryReport } from "./memory.js";

const args = process.argv.slice(2);
const json = args.includes("--json");
const quick = args.includes("--quick");
const runsIndex = args.indexOf("--runs");
const runs = runsIndex >= 0 ? Number(args[runsIndex + 1]) : quick ? 1 : 3;
if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs takes a positive integer");
const filters = args
  .filter((arg, index) => !arg.startsWith("--") && !(runsIndex >= 0 && index === runsIndex + 1))
  .map((arg) => arg.toLowerCase());
const options: MeasureOptions = quick ? { warmupMs: 100, rounds: 3, roundMs: 60 } : DEFAULT_MEASURE_OPTIONS;

const benchDirectory = dirname(fileURLToPath(import.meta.url));
const workloadDirectory = join(benchDirectory, "workloads");

async function loadWorkloads(): Promise<Workload[]> {
  const files = readdirSync(workloadDirectory)
    .filter((file) => /\.(ts|js|mjs)$/.test(file) && !file.endsWith(".d.ts"))
    .sort();
  const all: Workload[] = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(join(workloadDirectory, file)).href)) as { workloads?: Workload[] };
    if (!Array.isArray(module.workloads)) {
      console.error(`bench/workloads/${file} exports no \`workloads\` array; skipped`);
      continue;
    }
    all.push(...module.workloads);
  }
  return all;
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

function workloadTable(workload: Workload, result: WorkloadResult): string[] {
  const references = referenceNames(workload);
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

function summaryTable(workloads: Workload[], results: WorkloadResult[]): string[] {
  const rows = [["workload", "target", "measured", "verdict"]];
  results.forEach((result, i) => {
    void workloads[i];
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

const workloads = (await loadWorkloads()).filter((workload) => matches(`${workload.id} ${workload.title}`));
const withMemory = matches("m1 memory heap");
if (workloads.length === 0 && !withMemory) {
  console.error(filters.length > 0 ? `no workload matches ${filters.join(", ")}` : "no workloads found");
  process.exit(1);
}
const log = (text: string): void => {
  if (!json) process.stdout.write(text);
};
log(
  `node ${process.version}, ${runs} run(s) × ${options.rounds} rounds of ≥ ${options.roundMs} ms per contender after ${options.warmupMs} ms warm-up${(globalThis as { gc?: unknown }).gc ? "" : " (no --expose-gc)"}\n`,
);
const perRun: WorkloadResult[][] = workloads.map(() => []);
for (let run = 0; run < runs; run++) {
  for (const [index, workload] of workloads.entries()) {
    log(`run ${run + 1}/${runs} ${workload.id} … `);
    const started = performance.now();
    const result = await measureAsync(workload, options);
    perRun[index]!.push(result);
    log(`${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  }
}
const results = workloads.map((workload, index) => combineRuns(workload, perRun[index]!));
let memory: MemoryReport | null = null;
if (withMemory) {
  log("M1 heap per connection (child process) … ");
  const started = performance.now();
  memory = runMemory();
  log(`${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}
if (json) {
  console.log(JSON.stringify({ node: process.version, options, runs, results, memory }, null, 2));
} else {
  console.log();
  for (const [index, result] of results.entries()) console.log(workloadTable(workloads[index]!, result).join("\n"));
  if (memory !== null) console.log(memoryTable(memory).join("\n"));
  console.log("### Summary\n");
  console.log(summaryTable(workloads, results).join("\n"));
}
const memoryMissed = memory?.entries.some((entry) => entry.limitBytes !== null && entry.bytesPerConnection > entry.limitBytes) ?? false;
if (results.some((result) => result.verdict === "fail") || memoryMissed) process.exitCode = 1;
