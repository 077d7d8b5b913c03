/**
 * What `WSConnection.events()` returns when no trace is recorded: a generator's behaviour (yields
 * each pending event once, then ends for good; `return()` and `throw()` end it) without a
 * generator object per call.
 *
 * ```ts
 * class EventIterator<T> implements Generator<T, void, undefined> {
 *   constructor(source: { nextEvent(): T | null });
 *   reopen(): boolean; // ended: start over (true), for the connection to hand it out again
 * }
 * ```
 *
 * Why: a driver calls `events()` after every chunk it receives, and most chunks complete no event
 * (a 16 MiB message arrives in 256 reads). A generator costs ~190 bytes per call (object,
 * register file, its first and last results); the connection hands out its ended EventIterator
 * again instead (`reopen`), and the last result is shared, so such a read allocates nothing.
 * That garbage was most of what bench W3's assembled passes allocated (~50 KB a pass against
 * ws's ~10 KB), and with 16 MiB arrays coming and going every pass, every trip through V8's
 * allocation slow path risked starting a full GC: even one small object per call halved the
 * throughput there (docs/performance.md, W3). The one difference from a generator: an iterator
 * that ended may be handed out again by a later `events()` call, so code that keeps an ended
 * one and calls `next()` on it after calling `events()` again sees the new events.
 * Its prototype chain ends in %IteratorPrototype%, as a generator's does, so iterator helpers
 * (`events().map(…)` where the runtime has them) work on it too.
 */

/** The result of every finished iteration: frozen, so sharing it is safe. */
const DONE: IteratorReturnResult<void> = Object.freeze({ value: undefined, done: true as const });

export class EventIterator<T> implements Generator<T, void, undefined> {
  private finished = false;

  constructor(private readonly source: { nextEvent(): T | null }) {}

  next(): IteratorResult<T, void> {
    if (this.finished) return DONE;
    let value: T | null;
    try {
      value = this.source.nextEvent();
    } catch (error) {
      // A generator whose body threw is finished.
      this.finished = true;
      throw error;
    }
    if (value === null) {
      // Ends for good, as a generator does, even if more input arrives later.
      this.finished = true;
      return DONE;
    }
    return { value, done: false };
  }

  return(): IteratorResult<T, void> {
    this.finished = true;
    return DONE;
  }

  throw(error: unknown): IteratorResult<T, void> {
    this.finished = true;
    throw error;
  }

  /** Ended (done, returned or thrown): start over and return true; still under way: false. */
  reopen(): boolean {
    if (!this.finished) return false;
    this.finished = false;
    return true;
  }

  [Symbol.iterator](): this {
    return this;
  }
}

// %IteratorPrototype%, which generators inherit from too (and which holds the iterator helpers).
const iteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())) as object;
Object.setPrototypeOf(EventIterator.prototype, iteratorPrototype);
