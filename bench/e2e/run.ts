/**
 * End-to-end echo benchmark (issue #19):
 * `npm run bench:e2e [-- [--quick] [--rounds N] [--json] [--profile] [--strict] [filter…]]`.
 *
 * Every server runs in a process of its own (./servers/), the load in another (./load.ts), on
 * 127.0.0.1. Per workload and round, each contender's server is started fresh, warmed up under
 * the load, measured, and stopped; the contenders take turns in a rotating order (A B C D, then
 * B C D A, …) so that none always runs first or last while the machine's load drifts. Reported:
 * every round's figure and ratio to ws, and the median of the rounds' same-run ratios (never a
 * ratio of medians from different moments). The CPU share of the server and of the load
 * generator in the timed window is printed too: a generator near 100 % would mean it, not the
 * server, was the limit.
 *
 * - `--quick`: one round, short windows, 1,000 idle connections instead of 10,000 (a sanity run).
 * - filters keep workloads whose id or title contains any of the words (case-insensitive), e.g. `E2 h1`.
 * - `--contenders a,b`: only those servers (by name: wsmachine, ws, "node floor", bun).
 * - `--profile`: one round, the Node servers under `node --cpu-prof` (wsmachine only unless
 *   `--contenders` says otherwise); each profile is written to bench/e2e/profiles/<workload>-<server>-r<round>/
 *   and summarised (./profile.ts) over the timed window only.
 * - `--strict`: exit 1 when a target is missed (always exit 1 on a failed echo check).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { compileServers } from "./compile.js";
import { ServerProcess, runGenerator } from "./processes.js";
import { formatSummary, summarizeProfile } from "./profile.js";
import { CONTENDERS, WORKLOADS, type Contender, type E2eWorkload } from "./workloads.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const json = args.includes("--json");
const profile = args.includes("--profile");
const strict = args.includes("--strict");
function option(name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}
const VALUE_OPTIONS = ["--rounds", "--contenders"];
const rounds = Number(option("--rounds") ?? (quick || profile ? 1 : 3));
if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds takes a positive integer");
const filters = args.filter((arg, i) => !arg.startsWith("--") && !VALUE_OPTIONS.includes(args[i - 1] ?? "")).map((arg) => arg.toLowerCase());
const only = option("--contenders")?.split(",").map((name) => name.trim());
// Long enough for V8's optimising tiers and for TCP windows to settle; the window is what counts.
const timing = quick ? { warmupMs: 500, measureMs: 1500 } : { warmupMs: 1500, measureMs: 4000 };

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const profileDirectory = join(root, "bench", "e2e", "profiles");

await compileServers(root);

const workloads = WORKLOADS.filter((w) => filters.length === 0 || filters.some((f) => w.id.toLowerCase() === f || w.title.toLowerCase().includes(f)));

/** The soft limit of open files to raise children to, or null when the current one suffices. */
function fileLimitFor(needed: number): number | null {
  const soft = Number(execFileSync("bash", ["-c", "ulimit -Sn"]).toString().trim());
  if (!(soft < needed)) return null;
  const hard = execFileSync("bash", ["-c", "ulimit -Hn"]).toString().trim();
  const ceiling = hard === "unlimited" ? Infinity : Number(hard);
  if (ceiling < needed) throw new Error(`${needed} open files are needed and the hard limit is ${hard}: run with fewer connections (--quick) or raise it`);
  return needed;
}

/** Whether the contender runs on Node (only those can be profiled with --cpu-prof). */
function isNode(name: string): boolean {
  return CONTENDERS.find((c) => c.name === name)?.command[0] === "node";
}

interface Sample {
  value: number;
  /** Idle workload: JS heap used + external memory per connection (KiB) after a full GC. */
  heapKiB?: number;
  serverCpu: number;
  generatorCpu: number;
}

/** One contender under one workload: fresh server, load, figure. */
async function measure(workload: E2eWorkload, contender: Contender, round: number): Promise<Sample> {
  const load = workload.load(quick);
  const connections = load.kind === "handshake" ? load.concurrency : load.connections;
  const fileLimit = fileLimitFor(connections + 1000);
  let command = [...contender.command, ...(workload.deflate ? ["--deflate"] : [])];
  const profileName = `${workload.id}-${contender.name.replace(/\W+/g, "-")}-r${round + 1}`;
  if (profile && isNode(contender.name)) {
    // A directory per run: tsx's loader thread writes a profile too (named by thread id; the
    // main thread's is tid 0), and --cpu-prof-name would make the two overwrite each other.
    rmSync(join(profileDirectory, profileName), { recursive: true, force: true });
    mkdirSync(join(profileDirectory, profileName), { recursive: true });
    command = [command[0]!, "--cpu-prof", `--cpu-prof-dir=${join(profileDirectory, profileName)}`, ...command.slice(1)];
  }
  const server = await ServerProcess.start(contender.name, command, root, fileLimit);
  try {
    const spec = { ...load, port: server.port, ...timing };
    if (load.kind === "idle") {
      // Baseline after a full GC, so that start-up garbage is not counted against connections.
      const heapBefore = await server.collectGarbage();
      const before = server.rssKiB();
      let after = before;
      let heapAfter = heapBefore;
      const result = await runGenerator(spec, root, fileLimit, async (phase, generator) => {
        if (phase !== "ready") return;
        heapAfter = await server.collectGarbage();
        after = server.rssKiB();
        generator.write("close\n");
      });
      return { value: (after - before) / result.count, heapKiB: (heapAfter - heapBefore) / result.count, serverCpu: NaN, generatorCpu: NaN };
    }
    let cpuAtStart = 0;
    let cpuAtEnd = 0;
    let window: [bigint, bigint] = [0n, 0n];
    const result = await runGenerator(spec, root, fileLimit, (phase) => {
      if (phase === "measure") {
        cpuAtStart = server.cpuSeconds();
        window[0] = process.hrtime.bigint();
      } else if (phase === "done") {
        cpuAtEnd = server.cpuSeconds();
        window[1] = process.hrtime.bigint();
      }
    });
    if (profile) writeFileSync(join(profileDirectory, profileName, "window.json"), JSON.stringify({ startUs: String(window[0] / 1000n), endUs: String(window[1] / 1000n) }));
    return { value: result.count / result.seconds, serverCpu: (cpuAtEnd - cpuAtStart) / result.seconds, generatorCpu: result.cpu };
  } finally {
    await server.stop();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function formatValue(value: number, unit: E2eWorkload["unit"]): string {
  if (unit === "KiB/conn") return value.toFixed(2);
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} k` : Math.round(value).toLocaleString("en-US");
}

const percent = (share: number): string => (Number.isNaN(share) ? "" : `${Math.round(share * 100)} %`);

interface WorkloadReport {
  id: string;
  title: string;
  unit: string;
  contenders: { name: string; median: number; rounds: number[]; heapKiB: number[]; serverCpu: number[]; generatorCpu: number[]; ratios: Record<string, { median: number; rounds: number[] }> }[];
  targets: { label: string; measured: number; rounds: number[]; pass: boolean }[];
}

async function runWorkload(workload: E2eWorkload): Promise<WorkloadReport> {
  const contenders = CONTENDERS.filter((c) => (!workload.deflate || c.deflate) && (only === undefined ? !profile || c.name === "wsmachine" : only.includes(c.name)));
  const samples = new Map<string, Sample[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!);
    for (const contender of order) {
      const sample = await measure(workload, contender, round);
      samples.get(contender.name)!.push(sample);
      if (!json) process.stderr.write(`  ${workload.id} round ${round + 1} ${contender.name}: ${formatValue(sample.value, workload.unit)} ${workload.unit} (load ${loadavg()[0]!.toFixed(1)})\n`);
    }
  }
  const references = ["ws", "node floor"].filter((name) => samples.has(name));
  const ratioOf = (a: string, b: string): { median: number; rounds: number[] } => {
    const perRound = samples.get(a)!.map((sample, r) => sample.value / samples.get(b)![r]!.value);
    return { median: median(perRound), rounds: perRound };
  };
  const report: WorkloadReport = {
    id: workload.id,
    title: workload.title,
    unit: workload.unit,
    contenders: contenders.map((c) => {
      const own = samples.get(c.name)!;
      return {
        name: c.name,
        median: median(own.map((s) => s.value)),
        rounds: own.map((s) => s.value),
        heapKiB: own.flatMap((s) => (s.heapKiB === undefined ? [] : [s.heapKiB])),
        serverCpu: own.map((s) => s.serverCpu),
        generatorCpu: own.map((s) => s.generatorCpu),
        ratios: Object.fromEntries(references.filter((r) => r !== c.name).map((r) => [r, ratioOf(c.name, r)])),
      };
    }),
    targets: workload.targets
      .filter((t) => samples.has(t.contender) && samples.has(t.baseline))
      .map((t) => {
        const { median: measured, rounds: perRound } = ratioOf(t.contender, t.baseline);
        const pass = workload.lowerIsBetter === true ? measured <= t.ratio : measured >= t.ratio;
        return { label: `${t.contender} / ${t.baseline} ${workload.lowerIsBetter === true ? "≤" : "≥"} ${t.ratio.toFixed(2)}×`, measured, rounds: perRound, pass };
      }),
  };
  return report;
}

function printReport(report: WorkloadReport): void {
  const references = ["ws", "node floor"].filter((name) => report.contenders.some((c) => c.name === name));
  const ratioCell = (ratio: { median: number; rounds: number[] } | undefined): string =>
    ratio === undefined ? "" : `${ratio.median.toFixed(2)}× (${ratio.rounds.map((r) => r.toFixed(2)).join(" / ")})`;
  console.log(`\n### ${report.id}: ${report.title} (${report.unit})\n`);
  const idle = report.unit === "KiB/conn";
  const extra = idle ? "JS heap + external per connection (KiB, rounds)" : "server CPU | generator CPU";
  console.log(`| server | median | rounds | ${references.map((r) => `vs ${r}`).join(" | ")} | ${extra} |`);
  console.log(`|---|--:|--:|${references.map(() => "--:").join("|")}|--:|${idle ? "" : "--:|"}`);
  for (const c of report.contenders) {
    const cells = [c.name, formatValue(c.median, report.unit as E2eWorkload["unit"]), c.rounds.map((v) => formatValue(v, report.unit as E2eWorkload["unit"])).join(" / ")];
    for (const r of references) cells.push(ratioCell(c.ratios[r]));
    if (idle) cells.push(c.heapKiB.map((v) => v.toFixed(2)).join(" / "));
    else cells.push(c.serverCpu.map(percent).join(" / "), c.generatorCpu.map(percent).join(" / "));
    console.log(`| ${cells.join(" | ")} |`);
  }
  for (const t of report.targets) console.log(`\ntarget ${t.label}: ${t.measured.toFixed(2)}× (rounds ${t.rounds.map((r) => r.toFixed(2)).join(" / ")}) — ${t.pass ? "met" : "missed"}`);
  const saturated = report.contenders.some((c) => c.generatorCpu.some((share) => share > 0.9));
  if (saturated) console.log("\nwarning: the load generator used > 90 % of a core in some round; that round may measure the generator.");
}

const startLoad = loadavg();
if (!json) {
  console.log(`# End-to-end echo benchmark${quick ? " (--quick)" : ""}${profile ? " (--profile: servers under --cpu-prof, figures not comparable)" : ""}`);
  console.log(`\n${new Date().toISOString()}, ${cpus().length} CPUs, Node ${process.version}, ${rounds} round(s), warm-up ${timing.warmupMs} ms, window ${timing.measureMs} ms; load average at start ${startLoad.map((l) => l.toFixed(2)).join(" ")}`);
}
const reports: WorkloadReport[] = [];
for (const workload of workloads) {
  const report = await runWorkload(workload);
  reports.push(report);
  if (!json) printReport(report);
  if (profile) {
    if (workload.load(quick).kind === "idle") continue;
    for (const contender of report.contenders) {
      if (!isNode(contender.name)) continue;
      for (let round = 0; round < rounds; round++) {
        const name = `${workload.id}-${contender.name.replace(/\W+/g, "-")}-r${round + 1}`;
        const directory = join(profileDirectory, name);
        const main = readdirSync(directory).find((file) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(file));
        if (main === undefined) throw new Error(`no main-thread profile in ${directory}`);
        const summary = summarizeProfile(join(directory, main), join(directory, "window.json"));
        console.log(`\n#### Profile ${name} (bench/e2e/profiles/${name}/${main})\n`);
        console.log(formatSummary(summary));
      }
    }
  }
}
const endLoad = loadavg();
if (json) console.log(JSON.stringify({ date: new Date().toISOString(), quick, rounds, timing, loadAverage: { start: startLoad, end: endLoad }, workloads: reports }, null, 2));
else console.log(`\nload average at end ${endLoad.map((l) => l.toFixed(2)).join(" ")}`);
if (strict && reports.some((r) => r.targets.some((t) => !t.pass))) process.exit(1);
