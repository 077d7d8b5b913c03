/**
 * Memory measurement for the resource tests: a real `gc()` (exposed at run time, so no vitest
 * configuration is needed) and the bytes a connection can hold: JS heap plus ArrayBuffers.
 */
import v8 from "node:v8";
import vm from "node:vm";

v8.setFlagsFromString("--expose-gc");
const collect = vm.runInNewContext("gc") as () => void;

export const MiB = 1024 * 1024;

/** Heap plus ArrayBuffer bytes in use now (garbage included). */
export function inUse(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Bytes still reachable: in use after full collections. */
export function retained(): number {
  collect();
  collect();
  return inUse();
}

/**
 * Tracks memory while a loop runs: `sample()` every so often records the peak in use (garbage
 * included, so an upper bound), `settle()` the retained size; both relative to the start.
 */
export class MemoryWatch {
  private readonly base = retained();
  peak = 0;
  maxRetained = 0;

  sample(): void {
    const now = inUse() - this.base;
    if (now > this.peak) this.peak = now;
  }

  settle(): number {
    const now = retained() - this.base;
    if (now > this.maxRetained) this.maxRetained = now;
    if (now > this.peak) this.peak = now;
    return now;
  }
}
