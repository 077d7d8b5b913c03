/**
 * The benchmark harness every workload plugs into. A workload module in bench/workloads/ exports
 * `workloads: Workload[]`; bench/run.ts finds, runs and reports them.
 *
 * Measuring: each contender is warmed up, then the contenders run alternately (in a rotating
 * order, with a GC between them when --expose-gc is on, after which the next contender runs
 * untimed for `settleMs` while the heap regrows) for several rounds; a round of one contender
 * repeats its pass until a minimum time has passed, and yields one throughput sample.
 * The reported figure is the median of the samples; a ratio is one contender's median over
 * another's, both from the same interleaved measurement. bench/run.ts repeats the whole set of
 * workloads several times (runs) and reports, per contender, the median of the runs' medians
 * and, per ratio, the median of the runs' ratios: every ratio quoted comes from contenders
 * measured side by side, never from absolute figures of different runs.
 *
 * A contender's pass may be asynchronous (ws's permessage-deflate runs on node:zlib's thread
 * pool): `measureAsync` awaits it; synchronous passes are never awaited, so they pay nothing.
 */

export interface Contender {
  name: string;
  /**
   * Runs one full pass of the workload and returns the amount processed (bytes for MB/s,
   * messages for msg/s, operations for ops/s). Verifies its own result: throws on a wrong answer.
   */
  run: () => number | Promise<number>;
  /**
   * Optional, untimed, called before every pass: restores state a pass consumes (e.g. input
   * bytes that decoding unmasks in place), so the timing holds only the work itself.
   */
  prepare?: () => void;
}

/** `contender` must reach `ratio` × `baseline` (medians of the same interleaved measurement). */
export interface RatioCheck {
  contender: string;
  baseline: string;
  ratio: number;
}

/** `contender` must reach `minimum` in the workload's unit. */
export interface MinimumCheck {
  contender: string;
  minimum: number;
}

export type Check = RatioCheck | MinimumCheck;

export interface Workload {
  id: string;
  title: string;
  unit: "MB/s" | "msg/s" | "ops/s";
  contenders: Contender[];
  /** Name of the contender the ratio column is computed against, e.g. "ws". */
  baseline?: string;
  /** Required ratio of the first contender vs the baseline. */
  target?: number;
  /** Throughput the first contender must reach, in `unit` (an absolute target, e.g. masking speed). */
  minimum?: number;
  /** Further targets, between any two contenders or absolute (in addition to the two above). */
  checks?: Check[];
  /** A line printed under the workload's table (what is measured, how the contenders differ). */
  note?: string;
  /** Warm-up per contender in milliseconds, when the default is too short for this workload's JIT. */
  warmupMs?: number;
  /** Further contenders to show same-run ratios against, without a target. */
  compareWith?: string[];
  /**
   * Environment variables of the child process the workload is measured in (bench/run.ts): for
   * what must be set before the process starts, such as glibc's malloc tunables. Not applied
   * with --in-process. Applies to every contender alike, so it must not favour any of them.
   */
  env?: Readonly<Record<string, string>>;
}

export interface MeasureOptions {
  /** Warm-up time per contender, in milliseconds. */
  warmupMs: number;
  /** Timed rounds; each contender yields one sample per round. */
  rounds: number;
  /** Minimum timed duration of one contender's round, in milliseconds. */
  roundMs: number;
  /**
   * Untimed passes of the contender after the GC that precedes each of its rounds, in
   * milliseconds. A forced full GC shrinks V8's heap, and for the next ~100 ms allocation-heavy
   * code runs 2–4× slower while it regrows (measured on W7: 24 k handshakes/s in the first
   * 120 ms after the GC, 92 k in steady state, and websocket-driver alike). The GC is there so
   * that no contender pays for another's garbage, not to time the regrowth.
   */
  settleMs: number;
}

export const DEFAULT_MEASURE_OPTIONS: MeasureOptions = { warmupMs: 300, rounds: 7, roundMs: 150, settleMs: 100 };

export interface ContenderResult {
  name: string;
  /** Median throughput, in the workload's unit. */
  median: number;
  /** Every round's throughput (or, combined over runs, every run's median), in the workload's unit. */
  samples: number[];
  /** Median over the baseline's median (1 for the baseline itself), or null without a baseline. */
  ratio: number | null;
  /**
   * Same-run ratios against every contender that is a baseline somewhere in the workload (its
   * `baseline` and the baselines of its checks), keyed by that contender's name.
   */
  ratios: Record<string, number>;
}

export interface CheckResult {
  /** E.g. "wsmachine / ws ≥ 1.50×" or "wsmachine ≥ 40,000 ops/s". */
  label: string;
  contender: string;
  baseline: string | null;
  /** The required ratio or minimum. */
  required: number;
  /** The measured ratio (median of the runs' same-run ratios) or median throughput. */
  measured: number;
  /** Every run's measured value. */
  perRun: number[];
  pass: boolean;
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
  checks: CheckResult[];
  /** "pass" / "fail" against every check, "n/a" without any. */
  verdict: "pass" | "fail" | "n/a";
  /** How many runs the figures combine. */
  runs: number;
  note: string | null;
  /** The contenders the others are compared with (see `referenceNames`). */
  references: string[];
}

const collectGarbage = (globalThis as { gc?: () => void }).gc;

function scale(unit: Workload["unit"]): number {
  return unit === "MB/s" ? 1e6 : 1;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function formatRequired(value: number, unit: string): string {
  return value >= 100 ? `${Math.round(value).toLocaleString("en-US")} ${unit}` : `${value} ${unit}`;
}

/** Every check of a workload: the legacy target/minimum (first contender) and `checks`. */
export function workloadChecks(workload: Workload): Check[] {
  const checks: Check[] = [];
  const first = workload.contenders[0]?.name;
  if (first !== undefined && workload.baseline !== undefined && workload.target !== undefined) {
    checks.push({ contender: first, baseline: workload.baseline, ratio: workload.target });
  }
  if (first !== undefined && workload.minimum !== undefined) checks.push({ contender: first, minimum: workload.minimum });
  checks.push(...(workload.checks ?? []));
  for (const check of checks) {
    for (const name of "baseline" in check ? [check.contender, check.baseline] : [check.contender]) {
      if (!workload.contenders.some((c) => c.name === name)) {
        throw new Error(`workload ${workload.id}: "${name}" (in a check) is not one of its contenders`);
      }
    }
  }
  return checks;
}

/** The contenders others are compared with: the workload's baseline, then the checks' baselines. */
export function referenceNames(workload: Workload): string[] {
  const names: string[] = [];
  if (workload.baseline !== undefined) names.push(workload.baseline);
  for (const check of workload.checks ?? []) if ("baseline" in check && !names.includes(check.baseline)) names.push(check.baseline);
  for (const name of workload.compareWith ?? []) if (!names.includes(name)) names.push(name);
  return names;
}

function evaluate(workload: Workload, contenders: ContenderResult[], runs: number, perRunMedians: number[][]): WorkloadResult {
  // perRunMedians[run][contender]
  const index = (name: string): number => workload.contenders.findIndex((c) => c.name === name);
  const checks: CheckResult[] = workloadChecks(workload).map((check) => {
    if ("baseline" in check) {
      const a = index(check.contender);
      const b = index(check.baseline);
      const perRun = perRunMedians.map((medians) => medians[a]! / medians[b]!);
      const measured = median(perRun);
      return {
        label: `${check.contender} / ${check.baseline} ≥ ${check.ratio.toFixed(2)}×`,
        contender: check.contender,
        baseline: check.baseline,
        required: check.ratio,
        measured,
        perRun,
        pass: measured >= check.ratio,
      };
    }
    const a = index(check.contender);
    const perRun = perRunMedians.map((medians) => medians[a]!);
    const measured = median(perRun);
    return {
      label: `${check.contender} ≥ ${formatRequired(check.minimum, workload.unit)}`,
      contender: check.contender,
      baseline: null,
      required: check.minimum,
      measured,
      perRun,
      pass: measured >= check.minimum,
    };
  });
  const baselineIndex = workload.baseline === undefined ? -1 : index(workload.baseline);
  if (workload.baseline !== undefined && baselineIndex < 0) {
    throw new Error(`workload ${workload.id}: baseline "${workload.baseline}" is not one of its contenders`);
  }
  const references = referenceNames(workload).map((name) => [name, index(name)] as const);
  const withRatios = contenders.map((contender, i) => ({
    ...contender,
    ratio: baselineIndex < 0 ? null : median(perRunMedians.map((medians) => medians[i]! / medians[baselineIndex]!)),
    ratios: Object.fromEntries(
      references.map(([name, j]) => [name, median(perRunMedians.map((medians) => medians[i]! / medians[j]!))]),
    ),
  }));
  return {
    id: workload.id,
    title: workload.title,
    unit: workload.unit,
    baseline: workload.baseline ?? null,
    target: workload.target ?? null,
    minimum: workload.minimum ?? null,
    contenders: withRatios,
    ratio: baselineIndex < 0 ? null : withRatios[0]!.ratio,
    checks,
    verdict: checks.length === 0 ? "n/a" : checks.every((check) => check.pass) ? "pass" : "fail",
    runs,
    note: workload.note ?? null,
    references: references.map(([name]) => name),
  };
}

/** Runs passes until at least `minimumMs` of timed work; returns [amount, milliseconds]. */
function timedPasses(contender: Contender, minimumMs: number): [number, number] {
  let amount = 0;
  let elapsed = 0;
  do {
    contender.prepare?.();
    const start = performance.now();
    const result = contender.run();
    elapsed += performance.now() - start;
    if (typeof result !== "number") throw new Error(`contender ${contender.name} is asynchronous: use measureAsync`);
    amount += result;
  } while (elapsed < minimumMs);
  return [amount, elapsed];
}

async function timedPassesAsync(contender: Contender, minimumMs: number): Promise<[number, number]> {
  let amount = 0;
  let elapsed = 0;
  do {
    contender.prepare?.();
    const start = performance.now();
    const result = contender.run();
    // A synchronous pass is timed without an await; an asynchronous one until it settles.
    amount += typeof result === "number" ? result : await result;
    elapsed += performance.now() - start;
  } while (elapsed < minimumMs);
  return [amount, elapsed];
}

function sampleOrder(round: number, count: number): number[] {
  // Rotate who goes first so no contender always runs on a freshly collected heap.
  return Array.from({ length: count }, (_, turn) => (round + turn) % count);
}

/** One interleaved measurement of a workload whose contenders are all synchronous. */
export function measure(workload: Workload, options: MeasureOptions = DEFAULT_MEASURE_OPTIONS): WorkloadResult {
  const { contenders } = workload;
  for (const contender of contenders) timedPasses(contender, Math.max(options.warmupMs, workload.warmupMs ?? 0));
  const samples: number[][] = contenders.map(() => []);
  for (let round = 0; round < options.rounds; round++) {
    for (const index of sampleOrder(round, contenders.length)) {
      if (collectGarbage !== undefined) {
        collectGarbage();
        timedPasses(contenders[index]!, options.settleMs);
      }
      const [amount, milliseconds] = timedPasses(contenders[index]!, options.roundMs);
      samples[index]!.push(amount / scale(workload.unit) / (milliseconds / 1000));
    }
  }
  return result(workload, samples);
}

/** One interleaved measurement of a workload; contenders may be asynchronous. */
export async function measureAsync(workload: Workload, options: MeasureOptions = DEFAULT_MEASURE_OPTIONS): Promise<WorkloadResult> {
  const { contenders } = workload;
  for (const contender of contenders) await timedPassesAsync(contender, Math.max(options.warmupMs, workload.warmupMs ?? 0));
  const samples: number[][] = contenders.map(() => []);
  for (let round = 0; round < options.rounds; round++) {
    for (const index of sampleOrder(round, contenders.length)) {
      if (collectGarbage !== undefined) {
        collectGarbage();
        await timedPassesAsync(contenders[index]!, options.settleMs);
      }
      const [amount, milliseconds] = await timedPassesAsync(contenders[index]!, options.roundMs);
      samples[index]!.push(amount / scale(workload.unit) / (milliseconds / 1000));
    }
  }
  return result(workload, samples);
}

function result(workload: Workload, samples: number[][]): WorkloadResult {
  const medians = samples.map(median);
  const contenders: ContenderResult[] = workload.contenders.map((contender, index) => ({
    name: contender.name,
    median: medians[index]!,
    samples: samples[index]!,
    ratio: null,
    ratios: {},
  }));
  return evaluate(workload, contenders, 1, [medians]);
}

/**
 * Combines several runs of the same workload: per contender the median of the runs' medians,
 * per ratio (the baseline column and every check) the median of the runs' same-run ratios.
 */
export function combineRuns(workload: Workload, runs: readonly WorkloadResult[]): WorkloadResult {
  if (runs.length === 1) return runs[0]!;
  const perRunMedians = runs.map((run) => run.contenders.map((contender) => contender.median));
  const contenders: ContenderResult[] = workload.contenders.map((contender, index) => {
    const medians = perRunMedians.map((medians) => medians[index]!);
    return { name: contender.name, median: median(medians), samples: medians, ratio: null, ratios: {} };
  });
  return evaluate(workload, contenders, runs.length, perRunMedians);
}

/**
 * A workload whose inputs and contenders are built on first use: listing and filtering
 * workloads (and the parent process of an isolated run) then costs nothing. `id`, `title` and
 * `env` must be those of the built workload (`env` is needed before the child process starts).
 */
export function lazyWorkload(id: string, title: string, build: () => Workload, env?: Readonly<Record<string, string>>): Workload {
  let built: Workload | null = null;
  const get = (): Workload => {
    if (built === null) {
      built = build();
      if (built.id !== id || built.title !== title) throw new Error(`lazy workload ${id}: built as ${built.id} "${built.title}"`);
      if (JSON.stringify(built.env ?? null) !== JSON.stringify(env ?? null)) throw new Error(`lazy workload ${id}: built with another env`);
    }
    return built;
  };
  return {
    id,
    title,
    env,
    get unit() {
      return get().unit;
    },
    get contenders() {
      return get().contenders;
    },
    get baseline() {
      return get().baseline;
    },
    get target() {
      return get().target;
    },
    get minimum() {
      return get().minimum;
    },
    get checks() {
      return get().checks;
    },
    get note() {
      return get().note;
    },
    get warmupMs() {
      return get().warmupMs;
    },
    get compareWith() {
      return get().compareWith;
    },
  };
}
