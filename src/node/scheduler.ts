/**
 * Round-robin turns for the endpoints' deferred work, one queue per process. An endpoint whose
 * pump stopped early (it used its slice, or its connection its work quantum) queues the rest
 * here instead of calling `setImmediate` itself: with one immediate per busy endpoint, Node runs
 * all of them back to back in a single check phase, so four connections inflating bombs each took
 * their slice in turn before the event loop could read anyone else's socket (a ping waited up to
 * 200 ms on this machine). Here one immediate runs the queue for at most TURN_MILLISECONDS of
 * work, oldest first; what it did not reach keeps its place at the front for the next turn, and
 * a task that still has work queues itself again at the back.
 */

/** Work done for all deferred endpoints per turn of the event loop, before it polls sockets again. */
const TURN_MILLISECONDS = 6;

const queue: Array<() => void> = [];
let turnScheduled = false;

/** Run `task` on a later turn of the event loop, after what was deferred before it. */
export function deferTurn(task: () => void): void {
  queue.push(task);
  if (!turnScheduled) {
    turnScheduled = true;
    setImmediate(runTurn);
  }
}

function runTurn(): void {
  turnScheduled = false;
  const started = performance.now();
  // Only what was queued before this turn: a task that queues itself again waits for the next.
  let due = queue.length;
  while (due > 0 && queue.length > 0) {
    const task = queue.shift()!;
    due--;
    task();
    if (performance.now() - started >= TURN_MILLISECONDS) break;
  }
  if (queue.length > 0 && !turnScheduled) {
    turnScheduled = true;
    setImmediate(runTurn);
  }
}
