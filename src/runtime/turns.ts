/**
 * Round-robin turns for the endpoints' deferred work, one queue per process (no runtime
 * built-ins: each runtime hands in how it yields to its event loop). An endpoint whose pump
 * stopped early (it used its slice, or its connection its work quantum) queues the rest here
 * instead of scheduling an immediate of its own: with one immediate per busy endpoint, the event
 * loop runs all of them back to back in a single check phase, so four connections inflating
 * bombs each took their slice in turn before anyone else's socket was read (a ping waited up to
 * 200 ms on a 2-core machine). Here one scheduled run works through the queue for at most
 * TURN_MILLISECONDS, oldest first; what it did not reach keeps its place at the front for the
 * next turn, and a task that still has work queues itself again at the back.
 */

/** Work done for all deferred endpoints per turn of the event loop, before it polls sockets again. */
const TURN_MILLISECONDS = 6;

/**
 * A `yieldTurn` for a Runtime (./transport.ts): tasks deferred through it take turns, at most
 * TURN_MILLISECONDS of them per call of `schedule` (the runtime's setImmediate).
 */
export function turnQueue(schedule: (run: () => void) => void): (task: () => void) => void {
  const queue: Array<() => void> = [];
  let scheduled = false;
  const run = (): void => {
    scheduled = false;
    const started = performance.now();
    // Only what was queued before this turn: a task that queues itself again waits for the next.
    let due = queue.length;
    while (due > 0 && queue.length > 0) {
      const task = queue.shift()!;
      due--;
      task();
      if (performance.now() - started >= TURN_MILLISECONDS) break;
    }
    if (queue.length > 0 && !scheduled) {
      scheduled = true;
      schedule(run);
    }
  };
  return (task) => {
    queue.push(task);
    if (!scheduled) {
      scheduled = true;
      schedule(run);
    }
  };
}
