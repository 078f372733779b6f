/**
 * Reactor timers: a binary min-heap of deadlines.
 *
 * Each timer knows its place in the heap, so `cancel()` takes it out at
 * once and `TimerQueue.schedule()` moves it in place (O(log n) either
 * way). A cancelled timer no longer waits in the heap until its deadline,
 * and a timer pushed back on every message (a tail or idle timeout) is one
 * object for its connection's life, not one per message: thousands of
 * trickling connections would otherwise keep thousands of dead timers (and
 * their closures) alive, long enough for the collector to promote them.
 */

/** Not in the heap: fired, cancelled, or never scheduled. */
const OFF = -1;

/** A scheduled callback. `cancel()` is idempotent; a cancelled or fired timer can be scheduled again. */
export class Timer {
  /** Monotonic deadline in ms (of the latest scheduling). */
  deadline: number;
  /** @internal tie-breaker: equal deadlines fire in the order set. */
  seq: number;
  /** @internal position in the queue's heap, or -1. */
  index = OFF;
  constructor(
    /** @internal */ readonly queue: TimerQueue,
    deadline: number,
    /** @internal */ readonly fn: () => void,
    seq: number,
  ) {
    this.deadline = deadline;
    this.seq = seq;
  }
  /** Whether it is waiting to fire. */
  get pending(): boolean {
    return this.index !== OFF;
  }
  cancel(): void {
    this.queue.remove(this);
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
}

/** The reactor's pending timers, earliest deadline first. */
export class TimerQueue {
  private heap: Timer[] = [];
  private seq = 0;

  add(deadline: number, fn: () => void): Timer {
    const t = new Timer(this, deadline, fn, 0);
    this.schedule(t, deadline);
    return t;
  }

  /**
   * (Re)schedule `timer` of this queue for `deadline`, whether it is
   * pending, fired or cancelled; it then fires after the timers already
   * set for that same deadline. Allocates nothing.
   */
  schedule(timer: Timer, deadline: number): void {
    if (timer.queue !== this) throw new Error("a timer of another queue");
    timer.deadline = deadline;
    timer.seq = this.seq++;
    const h = this.heap;
    let i = timer.index;
    if (i === OFF) {
      i = h.length;
      h.push(timer);
      timer.index = i;
    }
    this.siftUp(i);
    this.siftDown(timer.index);
  }

  /** Take `timer` out (nothing if it is not pending). */
  remove(timer: Timer): void {
    const i = timer.index;
    if (i === OFF || timer.queue !== this) return;
    timer.index = OFF;
    const h = this.heap;
    const last = h.pop()!;
    if (last === timer) return;
    h[i] = last;
    last.index = i;
    this.siftUp(i);
    this.siftDown(last.index);
  }

  /** Deadline of the earliest pending timer, or Infinity. */
  nextDeadline(): number {
    return this.heap.length ? this.heap[0]!.deadline : Infinity;
  }

  /** Remove and return the earliest pending timer if it is due at `now`. */
  popDue(now: number): Timer | null {
    const top = this.heap[0];
    if (!top || top.deadline > now) return null;
    this.remove(top);
    return top;
  }

  /** Timers pending. */
  get size(): number {
    return this.heap.length;
  }

  private siftUp(i: number): void {
    const h = this.heap;
    const t = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!before(t, parent)) break;
      h[i] = parent;
      parent.index = i;
      i = p;
    }
    h[i] = t;
    t.index = i;
  }

  private siftDown(i: number): void {
    const h = this.heap;
    const n = h.length;
    const t = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(h[r]!, h[l]!) ? r : l;
      const child = h[c]!;
      if (!before(child, t)) break;
      h[i] = child;
      child.index = i;
      i = c;
    }
    h[i] = t;
    t.index = i;
  }
}
