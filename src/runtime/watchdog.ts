/**
 * The endpoint's clocks once the connection is open: how long the peer may stay silent
 * (`idleTimeout`, with an optional `pingInterval` heartbeat whose pong counts as activity) and how
 * long one message may take to arrive once it started (`messageTimeout`). The core has no
 * timers, so these live in the runtime glue.
 *
 * One timer per connection, armed lazily: receiving bytes only notes the time (no timer call
 * per chunk); when the timer fires it compares the deadlines with the clock, acts on the ones
 * that passed and arms itself for the next.
 */

export interface WatchdogLimits {
  /** Milliseconds without a byte from the peer before the connection is closed (0: never). */
  idleTimeout: number;
  /** Milliseconds without a byte from the peer before a ping is sent (0: never). */
  pingInterval: number;
  /** Milliseconds a frame or data message may take to arrive once it started (0: no limit). */
  messageTimeout: number;
}

export interface WatchdogHooks {
  /** False while the endpoint itself stopped reading: the peer cannot be blamed for silence then. */
  reading(): boolean;
  /** A frame or data message has started arriving and is not complete. */
  messageInProgress(): boolean;
  /** How many messages were completed so far (a new count means a new message started since). */
  messagesCompleted(): number;
  ping(): void;
  idle(): void;
  messageTimedOut(): void;
}

export class Watchdog {
  private readonly limits: WatchdogLimits;
  private readonly hooks: WatchdogHooks;
  /** Lets the process exit while only this timer is pending (the runtime's way: see Runtime). */
  private readonly unrefTimer: (timer: ReturnType<typeof setTimeout>) => void;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastActivity = 0;
  private pinged = false;
  /** When the message now in progress was first seen, and how many had completed then. */
  private messageSeenAt: number | null = null;
  private messageSeenAfter = 0;
  private stopped = false;

  constructor(limits: WatchdogLimits, hooks: WatchdogHooks, unrefTimer: (timer: ReturnType<typeof setTimeout>) => void) {
    this.limits = limits;
    this.hooks = hooks;
    this.unrefTimer = unrefTimer;
  }

  /** Any limit is set. */
  static needed(limits: WatchdogLimits): boolean {
    return limits.idleTimeout > 0 || limits.pingInterval > 0 || limits.messageTimeout > 0;
  }

  /** The connection is open: start the clocks. */
  start(): void {
    this.lastActivity = performance.now();
    this.arm(this.shortestLimit());
  }

  /**
   * Bytes arrived from the peer and were read (called once per chunk, after the events it
   * produced: no timer work here, only the clock and, with a message timeout, whether a new
   * message is now under way).
   */
  activity(): void {
    const now = performance.now();
    this.lastActivity = now;
    this.pinged = false;
    if (this.limits.messageTimeout > 0) this.noteMessage(now);
  }

  /** Remember when the message now in progress was first seen; false when none is. */
  private noteMessage(now: number): boolean {
    if (!this.hooks.messageInProgress()) {
      this.messageSeenAt = null;
      return false;
    }
    const completed = this.hooks.messagesCompleted();
    if (this.messageSeenAt === null || completed !== this.messageSeenAfter) {
      this.messageSeenAt = now;
      this.messageSeenAfter = completed;
    }
    return true;
  }

  /** The closing handshake started, or the connection ended: these limits no longer apply. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private shortestLimit(): number {
    const { idleTimeout, pingInterval, messageTimeout } = this.limits;
    let shortest = Infinity;
    for (const limit of [idleTimeout, pingInterval, messageTimeout]) if (limit > 0 && limit < shortest) shortest = limit;
    return shortest;
  }

  private arm(delay: number): void {
    if (this.stopped || !Number.isFinite(delay)) return;
    this.timer = setTimeout(this.check, Math.max(1, Math.ceil(delay)));
    this.unrefTimer(this.timer);
  }

  private readonly check = (): void => {
    this.timer = null;
    if (this.stopped) return;
    const now = performance.now();
    if (!this.hooks.reading()) {
      // Our own backpressure holds the peer's bytes back: its clocks start again when we read.
      this.lastActivity = now;
      this.messageSeenAt = null;
    }
    if (this.messageTimedOut(now) || this.idleTimedOut(now)) return;
    const { pingInterval } = this.limits;
    const silence = now - this.lastActivity;
    if (pingInterval > 0 && !this.pinged && silence >= pingInterval) {
      this.pinged = true;
      this.hooks.ping();
      if (this.stopped) return;
    }
    this.arm(this.nextDeadline(now) - now);
  };

  private messageTimedOut(now: number): boolean {
    const limit = this.limits.messageTimeout;
    if (limit <= 0 || !this.noteMessage(now) || now - this.messageSeenAt! < limit) return false;
    this.stop();
    this.hooks.messageTimedOut();
    return true;
  }

  private idleTimedOut(now: number): boolean {
    const limit = this.limits.idleTimeout;
    if (limit <= 0 || now - this.lastActivity < limit) return false;
    this.stop();
    this.hooks.idle();
    return true;
  }

  private nextDeadline(now: number): number {
    const { idleTimeout, pingInterval, messageTimeout } = this.limits;
    let next = Infinity;
    if (idleTimeout > 0) next = Math.min(next, this.lastActivity + idleTimeout);
    if (pingInterval > 0 && !this.pinged) next = Math.min(next, this.lastActivity + pingInterval);
    if (messageTimeout > 0) next = Math.min(next, (this.messageSeenAt ?? now) + messageTimeout);
    // A message first seen at the next check is judged a messageTimeout after that.
    return Math.max(next, now + 1);
  }
}
