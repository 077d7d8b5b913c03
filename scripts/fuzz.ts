/**
 * The long fuzz run: `npm run fuzz` (default 60 s), `npm run fuzz -- --time 600`,
 * `--seed 1234` to replay, `--only mutated-chunking` for one property.
 *
 * Runs the properties of test/fuzz/properties.ts (the same ones `npm test` runs for a few
 * seconds each) in turns until the time is up, with fresh seeds, and prints how many runs each
 * got. Exits 1 with the shrunk counterexample and its seed as soon as one fails.
 */
import fc from "fast-check";
import { PROPERTIES } from "../test/fuzz/properties.js";

interface Options {
  seconds: number;
  seed: number | null;
  only: string | null;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { seconds: Number(process.env.FUZZ_SECONDS ?? 60), seed: null, only: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === "--time" && value !== undefined) (options.seconds = Number(value)), i++;
    else if (arg === "--seed" && value !== undefined) (options.seed = Number(value)), i++;
    else if (arg === "--only" && value !== undefined) (options.only = value), i++;
    else if (arg === "--help" || arg === "-h") {
      console.log("usage: npm run fuzz -- [--time seconds (default 60)] [--seed n] [--only property]");
      console.log(`properties: ${PROPERTIES.map((p) => p.name).join(", ")}`);
      process.exit(0);
    } else {
      console.error(`unknown argument ${arg}`);
      process.exit(2);
    }
  }
  if (!(options.seconds > 0)) {
    console.error("--time must be a positive number of seconds");
    process.exit(2);
  }
  return options;
}

const options = parseArgs(process.argv.slice(2));
const selected = PROPERTIES.filter((p) => options.only === null || p.name === options.only);
if (selected.length === 0) {
  console.error(`no property named ${options.only}; properties: ${PROPERTIES.map((p) => p.name).join(", ")}`);
  process.exit(2);
}

const SLICE_MS = Math.min(5000, Math.max(500, (options.seconds * 1000) / (selected.length * 4)));
const totals = new Map<string, { runs: number; ms: number; slices: number }>(selected.map((p) => [p.name, { runs: 0, ms: 0, slices: 0 }]));
const deadline = performance.now() + options.seconds * 1000;
let seed = options.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;

console.log(`wsmachine fuzz: ${selected.length} properties for ${options.seconds} s (slices of ${(SLICE_MS / 1000).toFixed(1)} s), first seed ${seed}`);
for (const p of selected) console.log(`  ${p.name}: ${p.description}`);

outer: for (;;) {
  for (const p of selected) {
    const left = deadline - performance.now();
    if (left <= 0) break outer;
    const started = performance.now();
    const details = fc.check(p.property, { seed, numRuns: 10_000_000, plugins: [fc.interruptAfterTimeLimit(Math.min(SLICE_MS, left))] });
    const elapsed = performance.now() - started;
    const total = totals.get(p.name)!;
    total.runs += details.numRuns;
    total.ms += elapsed;
    total.slices++;
    // An interruption before the first run is not a failure (the slice was too short for one run).
    if (details.failed && !(details.interrupted && details.counterexample === null)) {
      console.error(`\nFAILED: ${p.name} (seed ${details.seed})`);
      console.error(fc.defaultReportMessage(details));
      console.error(`replay: npm run fuzz -- --only ${p.name} --seed ${details.seed}`);
      process.exit(1);
    }
    seed = (seed + 0x9e3779b9) | 0;
  }
}

let runs = 0;
let ms = 0;
console.log("\nproperty             runs     seconds  runs/s");
for (const [name, total] of totals) {
  runs += total.runs;
  ms += total.ms;
  console.log(`${name.padEnd(20)} ${String(total.runs).padStart(8)} ${(total.ms / 1000).toFixed(1).padStart(9)} ${String(Math.round(total.runs / (total.ms / 1000 || 1))).padStart(7)}`);
}
console.log(`${"total".padEnd(20)} ${String(runs).padStart(8)} ${(ms / 1000).toFixed(1).padStart(9)}`);
console.log("no counterexample found");
