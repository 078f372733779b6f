/**
 * Reactor timers: a binary min-heap of deadlines.
 *
 * Cancelling only marks a timer; the heap drops it when it reaches the top.
 * That keeps rearming (cancel + add, as an idle timeout does on every
 * message) at O(log n) with no search.
 */

/** A scheduled callback. `cancel()` is idempotent. */
export class Timer {
  /** @internal */ cancelled = false;
  constructor(
    /** Monotonic deadline in ms. */
    readonly deadline: number,
    /** @internal */ readonly fn: () => void,
    /** @internal tie-breaker: equal deadlines fire in the order set. */
    readonly seq: number,
  ) {}
  cancel(): void {
    this.cancelled = true;
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
    const t = new Timer(deadline, fn, this.seq++);
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
    return t;
  }

  /** Deadline of the earliest live timer, or Infinity. */
  nextDeadline(): number {
    this.dropCancelled();
    return this.heap.length ? this.heap[0]!.deadline : Infinity;
  }

  /** Remove and return the earliest live timer if it is due at `now`. */
  popDue(now: number): Timer | null {
    this.dropCancelled();
    const top = this.heap[0];
    if (!top || top.deadline > now) return null;
    this.pop();
    return top;
  }

  get size(): number {
    return this.heap.length;
  }

  private dropCancelled(): void {
    while (this.heap.length && this.heap[0]!.cancelled) this.pop();
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (!h.length) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
