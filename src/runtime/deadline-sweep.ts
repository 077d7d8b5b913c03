/**
 * One timer for many deadlines: what the endpoints' watchdogs (./watchdog.ts) wait on instead of
 * a timer each. An idle server with 10,000 open connections held 10,000 timers, each a runtime
 * timer object plus the closure it calls (bench:e2e R1, docs/performance.md); here a deadline
 * costs an entry in a set.
 *
 * Deadlines fall into slots: a deadline is rounded up to a multiple of its quantum (so it is
 * never met early, and late by less than one quantum), and all the entries of a slot are due
 * together. The sweep keeps one runtime timer, for its earliest slot. An entry that was due does
 * its own arithmetic (Watchdog.check), and asks for its next slot, as the watchdog's own timer
 * did before. Nothing here is a runtime's: `setTimeout` and `performance.now` are globals of
 * every runtime, and making the timer not keep the process alive is the runtime's (`unrefTimer`).
 */
import type { TimerHandle } from "./transport.js";

/** What waits on a sweep. */
export interface SweepEntry {
  /** The slot the entry is in (ms, a multiple of its quantum), or null; the sweep's to keep. */
  sweepSlot: number | null;
  /** Its slot came (`now`: performance.now()); it is out of the sweep until it schedules again. */
  due(now: number): void;
}

export class DeadlineSweep {
  private readonly unrefTimer: (timer: TimerHandle) => void;
  private readonly slots = new Map<number, Set<SweepEntry>>();
  private timer: TimerHandle | null = null;
  /** The slot the timer was set for (Infinity: none). */
  private timerSlot = Infinity;
  /** Due entries are being told: the timer is set once, after them. */
  private sweeping = false;

  constructor(unrefTimer: (timer: TimerHandle) => void) {
    this.unrefTimer = unrefTimer;
  }

  /** Be due at `deadline` (performance.now() ms) or less than `quantum` ms after it. */
  schedule(entry: SweepEntry, deadline: number, quantum: number): void {
    const slot = Math.ceil(deadline / quantum) * quantum;
    if (entry.sweepSlot === slot) return;
    this.remove(entry);
    entry.sweepSlot = slot;
    let entries = this.slots.get(slot);
    if (entries === undefined) {
      entries = new Set();
      this.slots.set(slot, entries);
    }
    entries.add(entry);
    if (slot < this.timerSlot && !this.sweeping) this.arm(slot);
  }

  /** No longer due at all. */
  remove(entry: SweepEntry): void {
    const slot = entry.sweepSlot;
    if (slot === null) return;
    entry.sweepSlot = null;
    const entries = this.slots.get(slot);
    if (entries === undefined) return;
    entries.delete(entry);
    if (entries.size === 0) this.slots.delete(slot);
    // The timer stays set for an emptied slot: it finds nothing due and sets itself for the next.
  }

  /** How many entries wait (for tests). */
  get size(): number {
    let size = 0;
    for (const entries of this.slots.values()) size += entries.size;
    return size;
  }

  private arm(slot: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerSlot = slot;
    this.timer = setTimeout(this.sweep, Math.max(1, Math.ceil(slot - performance.now())));
    this.unrefTimer(this.timer);
  }

  private readonly sweep = (): void => {
    this.timer = null;
    this.timerSlot = Infinity;
    const now = performance.now();
    const due: number[] = [];
    for (const slot of this.slots.keys()) if (slot <= now) due.push(slot);
    due.sort((a, b) => a - b);
    this.sweeping = true;
    const failure = this.tell(due, now);
    this.sweeping = false;
    let next = Infinity;
    for (const slot of this.slots.keys()) if (slot < next) next = slot;
    if (next < Infinity) this.arm(next);
    // As from a timer of its own: the error is uncaught, once every other entry was told.
    if (failure !== null) throw failure.error;
  };

  /** Tell the entries of the due slots; the first error one of them threw, after the rest were told. */
  private tell(due: readonly number[], now: number): { error: unknown } | null {
    let failure: { error: unknown } | null = null;
    for (const slot of due) {
      const entries = this.slots.get(slot);
      if (entries === undefined) continue;
      this.slots.delete(slot);
      // An entry may remove others (or itself) while its turn runs: a Set skips what was deleted.
      for (const entry of entries) {
        if (entry.sweepSlot !== slot) continue;
        entry.sweepSlot = null;
        try {
          entry.due(now);
        } catch (error) {
          failure ??= { error };
        }
      }
    }
    return failure;
  }
}

/** One sweep per runtime (told apart by how it unrefs its timers): in practice one per process. */
const sweeps = new Map<(timer: TimerHandle) => void, DeadlineSweep>();

export function sweepFor(unrefTimer: (timer: TimerHandle) => void): DeadlineSweep {
  let sweep = sweeps.get(unrefTimer);
  if (sweep === undefined) {
    sweep = new DeadlineSweep(unrefTimer);
    sweeps.set(unrefTimer, sweep);
  }
  return sweep;
}
