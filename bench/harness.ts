/**
 * The benchmark harness every workload plugs into. A workload module in bench/workloads/ exports
 * `workloads: Workload[]`; bench/run.ts finds, runs and reports them.
 *
 * Measuring: each contender is warmed up, then the contenders run alternately (in a rotating
 * order, with a GC between them when --expose-gc is on) for several rounds; a round of one
 * contender repeats its pass until a minimum time has passed, and yields one throughput sample.
 * The reported figure is the median of the samples; the ratio is the first contender's median
 * over the baseline's.
 */

export interface Contender {
  name: string;
  /**
   * Runs one full pass of the workload and returns the amount processed (bytes for MB/s,
   * messages for msg/s, operations for ops/s). Verifies its own result: throws on a wrong answer.
   */
  run: () => number;
  /**
   * Optional, untimed, called before every pass: restores state a pass consumes (e.g. input
   * bytes that decoding unmasks in place), so the timing holds only the work itself.
   */
  prepare?: () => void;
}

export interface Workload {
  id: string;
  title: string;
  unit: "MB/s" | "msg/s" | "ops/s";
  contenders: Contender[];
  /** Name of the contender ratios are computed against, e.g. "ws". */
  baseline?: string;
  /** Required ratio of the first contender vs the baseline. */
  target?: number;
  /** Throughput the first contender must reach, in `unit` (an absolute target, e.g. masking speed). */
  minimum?: number;
}

export interface MeasureOptions {
  /** Warm-up time per contender, in milliseconds. */
  warmupMs: number;
  /** Timed rounds; each contender yields one sample per round. */
  rounds: number;
  /** Minimum timed duration of one contender's round, in milliseconds. */
  roundMs: number;
}

export const DEFAULT_MEASURE_OPTIONS: MeasureOptions = { warmupMs: 300, rounds: 7, roundMs: 150 };

export interface ContenderResult {
  name: string;
  /** Median throughput, in the workload's unit. */
  median: number;
  /** Every round's throughput, in the workload's unit. */
  samples: number[];
  /** Median over the baseline's median (1 for the baseline itself), or null without a baseline. */
  ratio: number | null;
}

export interface WorkloadResult {
  id: string;
  title: string;
  unit: Workload["unit"];
  baseline: string | null;
  target: number | null;
  minimum: number | null;
  contenders: ContenderResult[];
  /** First contender vs baseline, or null without a baseline. */
  ratio: number | null;
  /** "pass" / "fail" against the target and minimum, "n/a" without either. */
  verdict: "pass" | "fail" | "n/a";
}

const collectGarbage = (globalThis as { gc?: () => void }).gc;

function scale(unit: Workload["unit"]): number {
  return unit === "MB/s" ? 1e6 : 1;
}

/** Runs passes until at least `minimumMs` of timed work; returns [amount, milliseconds]. */
function timedPasses(contender: Contender, minimumMs: number): [number, number] {
  let amount = 0;
  let elapsed = 0;
  do {
    contender.prepare?.();
    const start = performance.now();
    amount += contender.run();
    elapsed += performance.now() - start;
  } while (elapsed < minimumMs);
  return [amount, elapsed];
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function measure(workload: Workload, options: MeasureOptions = DEFAULT_MEASURE_OPTIONS): WorkloadResult {
  const { contenders } = workload;
  for (const contender of contenders) timedPasses(contender, options.warmupMs);
  const samples: number[][] = contenders.map(() => []);
  for (let round = 0; round < options.rounds; round++) {
    for (let turn = 0; turn < contenders.length; turn++) {
      // Rotate who goes first so neither side always runs on a freshly collected heap.
      const index = (round + turn) % contenders.length;
      collectGarbage?.();
      const [amount, milliseconds] = timedPasses(contenders[index]!, options.roundMs);
      samples[index]!.push(amount / scale(workload.unit) / (milliseconds / 1000));
    }
  }
  const medians = samples.map(median);
  const baselineIndex = workload.baseline === undefined ? -1 : contenders.findIndex((c) => c.name === workload.baseline);
  if (workload.baseline !== undefined && baselineIndex < 0) {
    throw new Error(`workload ${workload.id}: baseline "${workload.baseline}" is not one of its contenders`);
  }
  const baselineMedian = baselineIndex >= 0 ? medians[baselineIndex]! : null;
  const results: ContenderResult[] = contenders.map((contender, index) => ({
    name: contender.name,
    median: medians[index]!,
    samples: samples[index]!,
    ratio: baselineMedian === null ? null : medians[index]! / baselineMedian,
  }));
  const ratio = baselineMedian === null ? null : results[0]!.ratio;
  const target = workload.target ?? null;
  const minimum = workload.minimum ?? null;
  const checks: boolean[] = [];
  if (target !== null && ratio !== null) checks.push(ratio >= target);
  if (minimum !== null) checks.push(results[0]!.median >= minimum);
  return {
    id: workload.id,
    title: workload.title,
    unit: workload.unit,
    baseline: workload.baseline ?? null,
    target,
    minimum,
    contenders: results,
    ratio,
    verdict: checks.length === 0 ? "n/a" : checks.every(Boolean) ? "pass" : "fail",
  };
}
