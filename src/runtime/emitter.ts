/**
 * A small typed event emitter for the runtimes without node:events (wsmachine/deno and
 * wsmachine/bun need no Node compatibility): on/once/off/emit with node:events' semantics for
 * what the endpoint contract uses. Listeners run in the order added; `emit` calls a snapshot of
 * them, so a listener added or removed during an emit takes effect from the next one.
 */
type Listener = (...args: never[]) => unknown;

export class Emitter<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly table = new Map<keyof Events, Listener[]>();

  on<K extends keyof Events>(name: K, listener: (...args: Events[K]) => unknown): this {
    // A fresh array: an emit in progress goes on with its snapshot.
    this.table.set(name, [...(this.table.get(name) ?? []), listener as Listener]);
    return this;
  }

  addListener<K extends keyof Events>(name: K, listener: (...args: Events[K]) => unknown): this {
    return this.on(name, listener);
  }

  /** Call `listener` the next time only. */
  once<K extends keyof Events>(name: K, listener: (...args: Events[K]) => unknown): this {
    const wrapper = (...args: Events[K]): unknown => {
      this.off(name, wrapper);
      return listener.apply(this, args);
    };
    (wrapper as { listener?: unknown }).listener = listener;
    return this.on(name, wrapper);
  }

  /** Remove `listener` (added by on or once); the last one added first, as node:events. */
  off<K extends keyof Events>(name: K, listener: (...args: Events[K]) => unknown): this {
    const list = this.table.get(name);
    if (list === undefined) return this;
    for (let i = list.length - 1; i >= 0; i--) {
      const entry = list[i]! as Listener & { listener?: unknown };
      if (entry === listener || entry.listener === listener) {
        // A fresh array: an emit in progress goes on with its snapshot.
        const rest = list.slice(0, i).concat(list.slice(i + 1));
        if (rest.length === 0) this.table.delete(name);
        else this.table.set(name, rest);
        break;
      }
    }
    return this;
  }

  removeListener<K extends keyof Events>(name: K, listener: (...args: Events[K]) => unknown): this {
    return this.off(name, listener);
  }

  removeAllListeners(name?: keyof Events): this {
    if (name === undefined) this.table.clear();
    else this.table.delete(name);
    return this;
  }

  /** Call the listeners with `args`; true when there was one. An 'error' nobody listens to is thrown, as node:events does. */
  emit<K extends keyof Events>(name: K, ...args: Events[K]): boolean {
    const list = this.table.get(name);
    if (list === undefined) {
      if (name === "error") throw args[0] instanceof Error ? args[0] : new Error(`unhandled 'error' event: ${String(args[0])}`);
      return false;
    }
    for (const listener of list) (listener as (...args: Events[K]) => unknown).apply(this, args);
    return true;
  }

  listenerCount(name: keyof Events): number {
    return this.table.get(name)?.length ?? 0;
  }

  /** The listeners as stored (a `once` listener as its wrapper, which removes itself when called). */
  rawListeners(name: keyof Events): Function[] {
    return [...(this.table.get(name) ?? [])];
  }
}
