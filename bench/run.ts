/**
 * Runs the benchmark workloads: `npm run bench [-- [--json] [--quick] [filter…]]`.
 *
 * Every module in bench/workloads/ exporting `workloads: Workload[]` is loaded; a filter keeps
 * the workloads whose id or title contains any of the given words (case-insensitive). `--json`
 * prints the results as JSON instead of a table; `--quick` measures with fewer, shorter rounds.
 * The exit code is 1 when a workload misses its target.
 */
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { DEFAULT_MEASURE_OPTIONS, measure, type MeasureOptions, type Workload, type WorkloadResult } from "./harness.js";

const args = process.argv.slice(2);
const json = args.includes("--json");
const quick = args.includes("--quick");
const filters = args.filter((arg) => !arg.startsWith("--")).map((arg) => arg.toLowerCase());
const options: MeasureOptions = quick ? { warmupMs: 100, rounds: 3, roundMs: 60 } : DEFAULT_MEASURE_OPTIONS;

const workloadDirectory = join(dirname(fileURLToPath(import.meta.url)), "workloads");

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

function selected(workload: Workload): boolean {
  if (filters.length === 0) return true;
  const haystack = `${workload.id} ${workload.title}`.toLowerCase();
  return filters.some((filter) => haystack.includes(filter));
}

function formatNumber(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString("en-US");
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function targetText(result: WorkloadResult): string {
  const parts: string[] = [];
  if (result.target !== null) parts.push(`≥ ${result.target.toFixed(2)}×`);
  if (result.minimum !== null) parts.push(`≥ ${formatNumber(result.minimum)} ${result.unit}`);
  return parts.join(", ");
}

function printTable(results: WorkloadResult[]): void {
  const rows: string[][] = [["workload", "contender", "median", "unit", "spread", "vs baseline", "target", "verdict"]];
  for (const result of results) {
    result.contenders.forEach((contender, index) => {
      const low = Math.min(...contender.samples);
      const high = Math.max(...contender.samples);
      const spread = contender.median === 0 ? "" : `±${(((high - low) / 2 / contender.median) * 100).toFixed(0)}%`;
      const first = index === 0;
      rows.push([
        first ? result.id : "",
        contender.name,
        formatNumber(contender.median),
        result.unit,
        spread,
        contender.ratio === null ? "" : `${contender.ratio.toFixed(2)}×`,
        first ? targetText(result) : "",
        first && result.verdict !== "n/a" ? (result.verdict === "pass" ? "ok" : "MISSED") : "",
      ]);
    });
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const numeric = new Set([2, 4, 5]);
  for (const [index, row] of rows.entries()) {
    console.log(row.map((cell, column) => (numeric.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join("  "));
    if (index === 0) console.log(widths.map((width) => "-".repeat(width)).join("  "));
  }
}

const workloads = (await loadWorkloads()).filter(selected);
if (workloads.length === 0) {
  console.error(filters.length > 0 ? `no workload matches ${filters.join(", ")}` : "no workloads found");
  process.exit(1);
}
if (!json) {
  console.log(`node ${process.version}, ${options.rounds} rounds of ≥ ${options.roundMs} ms per contender after ${options.warmupMs} ms warm-up${(globalThis as { gc?: unknown }).gc ? "" : " (no --expose-gc)"}`);
}
const results: WorkloadResult[] = [];
for (const workload of workloads) {
  if (!json) process.stdout.write(`${workload.id}: ${workload.title} … `);
  const started = performance.now();
  const result = measure(workload, options);
  results.push(result);
  if (!json) console.log(`${((performance.now() - started) / 1000).toFixed(1)} s`);
}
if (json) {
  console.log(JSON.stringify({ node: process.version, options, results }, null, 2));
} else {
  console.log();
  printTable(results);
}
if (results.some((result) => result.verdict === "fail")) process.exitCode = 1;
