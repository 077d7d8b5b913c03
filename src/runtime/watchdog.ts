/**
 * The endpoint's clocks once the connection is open: how long the peer may stay silent
 * (`idleTimeout`, with an optional `pingInterval` heartbeat whose pong counts as activity) and how
 * long one message may take to arrive once it started (`messageTimeout`). The core has no
 * timers, so these live in the runtime glue.
 *
 * No timer of its own: every watchdog of the runtime waits on one DeadlineSweep
 * (./deadline-sweep.ts), which tells it when its next deadline came, within WATCHDOG_QUANTA of
 * its shortest limit (at most MAX_QUANTUM late: a second for the server defaults). Receiving
 * bytes only notes the time (no timer work per chunk); when its turn comes the watchdog compares
 * the deadlines with the clock, acts on the ones that passed and waits for the next.
 */
import { sweepFor, type DeadlineSweep, type SweepEntry } from "./deadline-sweep.js";
import type { TimerHandle } from "./transport.js";

/** A limit is met at most a 1/WATCHDOG_QUANTA of it late (a limit of 120 ms: by 4 ms)… */
const WATCHDOG_QUANTA = 30;
/** …and never more than this many milliseconds late. */
const MAX_QUANTUM = 1000;
/** Watchdog flags: a ping was sent for the current silence; the watchdog was stopped. */
const PINGED = 1;
const STOPPED = 2;

export interface WatchdogLimits {
  /** Milliseconds without a byte from the peer before the connection is closed (0: never). */
  idleTimeout: number;
  /** Milliseconds without a byte from the peer before a ping is sent (0: never). */
  pingInterval: number;
  /** Milliseconds a frame or data message may take to arrive once it started (0: no limit). */
  messageTimeout: number;
}

/**
 * What the watchdog asks of its endpoint: methods (the endpoint implements them), not closures,
 * since every idle connection would hold one of each.
 */
export interface WatchdogHooks {
  /** False while the endpoint itself stopped reading: the peer cannot be blamed for silence then. */
  watchdogReading(): boolean;
  /** A frame or data message has started arriving and is not complete. */
  watchdogMessageInProgress(): boolean;
  /** How many messages were completed so far (a new count means a new message started since). */
  watchdogMessagesCompleted(): number;
  watchdogPing(): void;
  watchdogIdle(): void;
  watchdogMessageTimedOut(): void;
}

export class Watchdog implements SweepEntry {
  private readonly limits: WatchdogLimits;
  private readonly hooks: WatchdogHooks;
  private readonly sweep: DeadlineSweep;
  sweepSlot: number | null = null;
  /**
   * When the peer was last heard from (performance.now() ms, rounded up: a whole number stays a
   * small integer in the object, where a fraction would take a heap number of its own per
   * connection; rounding up only makes a deadline up to a millisecond later, never earlier).
   */
  private lastActivity = 0;
  /** PINGED | STOPPED (one field rather than two per connection). */
  private flags = 0;
  /** When the message now in progress was first seen, and how many had completed then. */
  private messageSeenAt: number | null = null;
  private messageSeenAfter = 0;

  /** `unrefTimer`: the runtime's (see Runtime), which tells the runtime's sweep. */
  constructor(limits: WatchdogLimits, hooks: WatchdogHooks, unrefTimer: (timer: TimerHandle) => void) {
    this.limits = limits;
    this.hooks = hooks;
    this.sweep = sweepFor(unrefTimer);
  }

  /** Any limit is set. */
  static needed(limits: WatchdogLimits): boolean {
    return limits.idleTimeout > 0 || limits.pingInterval > 0 || limits.messageTimeout > 0;
  }

  /** The connection is open: start the clocks. */
  start(): void {
    const now = performance.now();
    this.lastActivity = Math.ceil(now);
    this.arm(now + shortestLimit(this.limits));
  }

  /**
   * Bytes arrived from the peer and were read (called once per chunk, after the events it
   * produced: no timer work here, only the clock and, with a message timeout, whether a new
   * message is now under way).
   */
  activity(): void {
    const now = performance.now();
    this.lastActivity = Math.ceil(now);
    this.flags &= ~PINGED;
    if (this.limits.messageTimeout > 0) this.noteMessage(now);
  }

  /** Remember when the message now in progress was first seen; false when none is. */
  private noteMessage(now: number): boolean {
    if (!this.hooks.watchdogMessageInProgress()) {
      this.messageSeenAt = null;
      return false;
    }
    const completed = this.hooks.watchdogMessagesCompleted();
    if (this.messageSeenAt === null || completed !== this.messageSeenAfter) {
      this.messageSeenAt = now;
      this.messageSeenAfter = completed;
    }
    return true;
  }

  /** The closing handshake started, or the connection ended: these limits no longer apply. */
  stop(): void {
    this.flags |= STOPPED;
    this.sweep.remove(this);
  }

  /** Be told at `deadline` (performance.now() ms), or within a quantum after it. */
  private arm(deadline: number): void {
    if ((this.flags & STOPPED) !== 0 || !Number.isFinite(deadline)) return;
    // How late it may be met: a fraction of the shortest limit (computed here, not kept per connection).
    const quantum = Math.min(MAX_QUANTUM, Math.max(1, Math.floor(shortestLimit(this.limits) / WATCHDOG_QUANTA)));
    this.sweep.schedule(this, deadline, quantum);
  }

  /** The deadline the watchdog waited for came (DeadlineSweep). */
  due(now: number): void {
    if ((this.flags & STOPPED) !== 0) return;
    if (!this.hooks.watchdogReading()) {
      // Our own backpressure holds the peer's bytes back: its clocks start again when we read.
      this.lastActivity = Math.ceil(now);
      this.messageSeenAt = null;
    }
    if (this.messageTimedOut(now) || this.idleTimedOut(now)) return;
    const { pingInterval } = this.limits;
    const silence = now - this.lastActivity;
    if (pingInterval > 0 && (this.flags & PINGED) === 0 && silence >= pingInterval) {
      this.flags |= PINGED;
      this.hooks.watchdogPing();
      if ((this.flags & STOPPED) !== 0) return;
    }
    this.arm(this.nextDeadline(now));
  }

  private messageTimedOut(now: number): boolean {
    const limit = this.limits.messageTimeout;
    if (limit <= 0 || !this.noteMessage(now) || now - this.messageSeenAt! < limit) return false;
    this.stop();
    this.hooks.watchdogMessageTimedOut();
    return true;
  }

  private idleTimedOut(now: number): boolean {
    const limit = this.limits.idleTimeout;
    if (limit <= 0 || now - this.lastActivity < limit) return false;
    this.stop();
    this.hooks.watchdogIdle();
    return true;
  }

  private nextDeadline(now: number): number {
    const { idleTimeout, pingInterval, messageTimeout } = this.limits;
    let next = Infinity;
    if (idleTimeout > 0) next = Math.min(next, this.lastActivity + idleTimeout);
    if (pingInterval > 0 && (this.flags & PINGED) === 0) next = Math.min(next, this.lastActivity + pingInterval);
    if (messageTimeout > 0) next = Math.min(next, (this.messageSeenAt ?? now) + messageTimeout);
    // A message first seen at the next check is judged a messageTimeout after that.
    return Math.max(next, now + 1);
  }
}

/** The shortest of the limits that are set (Infinity: none is). */
function shortestLimit(limits: WatchdogLimits): number {
  let shortest = Infinity;
  if (limits.idleTimeout > 0) shortest = Math.min(shortest, limits.idleTimeout);
  if (limits.pingInterval > 0) shortest = Math.min(shortest, limits.pingInterval);
  if (limits.messageTimeout > 0) shortest = Math.min(shortest, limits.messageTimeout);
  return shortest;
}
