/**
 * A memory budget shared by many connections (a server's): what peers can make the process
 * hold, counted before it is held.
 *
 * Public interface:
 *
 * ```ts
 * class MemoryBudget {
 *   constructor(limit: number);       // bytes; Infinity for no limit
 *   readonly limit: number;
 *   get used(): number;               // bytes reserved now, over every account
 *   account(): MemoryAccount;         // one per connection
 * }
 * class MemoryAccount {
 *   get held(): number;               // bytes this account has reserved
 *   get available(): number;          // bytes the budget has left, over every account
 *   reserve(bytes: number): boolean;  // false, reserving nothing, when the budget would be exceeded
 *   release(bytes: number): void;
 *   releaseAll(): void;               // the connection is gone (or failed): give everything back
 * }
 * ```
 *
 * Pure bookkeeping: it never allocates or frees anything itself. The frame decoder reserves
 * what it is about to keep for an incomplete message (received bytes, joined and inflated
 * payload, a fixed overhead per kept array) before it keeps it, and a connection that cannot
 * reserve is failed with 1013 (Try Again Later, RFC 6455 §7.4.1 via the IANA registry) instead
 * of holding the bytes. The Node glue also charges queued output beyond its high-water mark.
 */

export class MemoryBudget {
  readonly limit: number;
  private usedBytes = 0;

  constructor(limit: number) {
    if (typeof limit !== "number" || Number.isNaN(limit) || limit < 0) {
      throw new RangeError(`a memory budget must be a number of bytes ≥ 0 (Infinity for none), not ${String(limit)}`);
    }
    this.limit = limit;
  }

  /** Bytes reserved now, over every account. */
  get used(): number {
    return this.usedBytes;
  }

  /** A new account (one per connection) drawing on this budget. */
  account(): MemoryAccount {
    return new MemoryAccount(this);
  }

  /** @internal */
  take(bytes: number): boolean {
    if (this.usedBytes + bytes > this.limit) return false;
    this.usedBytes += bytes;
    return true;
  }

  /** @internal */
  give(bytes: number): void {
    this.usedBytes -= bytes;
  }
}

/** One connection's share of a `MemoryBudget`. */
export class MemoryAccount {
  private readonly budget: MemoryBudget;
  private heldBytes = 0;

  constructor(budget: MemoryBudget) {
    this.budget = budget;
  }

  /** Bytes this account has reserved. */
  get held(): number {
    return this.heldBytes;
  }

  /** Bytes the budget has left, over every account. */
  get available(): number {
    return this.budget.limit - this.budget.used;
  }

  /** Reserve `bytes`; false, reserving nothing, if the budget would be exceeded. */
  reserve(bytes: number): boolean {
    if (bytes <= 0) return true;
    if (!this.budget.take(bytes)) return false;
    this.heldBytes += bytes;
    return true;
  }

  /** Give back `bytes` (at most what is held). */
  release(bytes: number): void {
    const amount = bytes < this.heldBytes ? bytes : this.heldBytes;
    if (amount <= 0) return;
    this.heldBytes -= amount;
    this.budget.give(amount);
  }

  /** Give back everything this account holds. */
  releaseAll(): void {
    this.release(this.heldBytes);
  }
}
