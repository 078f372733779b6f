/**
 * The reactor: registrations, the tick loop, timers and coalesced writes.
 *
 * One tick, as `select()` runs it:
 *   1. flush    – before sleeping, run the before-sleep hooks and give every
 *                 connection with queued output one send (Redis's beforeSleep);
 *   2. poll     – sleep in the backend until handles fire or a timer is due;
 *                 a poll ends at the end of the runtime's I/O pass, so one
 *                 tick holds all the readiness that pass delivered;
 *   3. timers   – run the callbacks whose deadline has passed;
 *   4. collect  – turn the keys that fired into the ready sets.
 * The caller then walks the ready sets (the dispatch) and calls `select()`
 * again, which flushes what the dispatch wrote. Readiness is
 * level-triggered: a key that was ready and was not fully served (bytes left
 * unread, WRITE interest on a writable socket) is reported again next tick.
 */
import type { Backend, Handle } from "./backend.ts";
import { Interest, Ready } from "./events.ts";
import { DurationHistogram } from "./histogram.ts";
import { OutboundQueue, type Sink } from "./outbound.ts";
import { type Timer, TimerQueue } from "./timers.ts";

/** A handle's registration: Java NIO's SelectionKey, Python's SelectorKey. */
export class SelectorKey<T = unknown> {
  /** What this key was ready for in the latest tick (`Ready` bits). */
  ready = 0;
  /** False once unregistered or closed: a cancelled key is never reported again. */
  valid = true;
  /** @internal queued by the key's watcher for the next collect phase */
  fired = false;
  /** @internal output waiting for the flush phase */
  out: OutboundQueue | null = null;
  /** @internal in the reactor's flush list */
  dirty = false;
  /** @internal the last send left bytes behind: wait for WRITABLE */
  blocked = false;
  /** @internal closing: finish the flush, then close the handle */
  closing = false;

  constructor(
    readonly handle: Handle,
    /** The `Interest` bits; change them with `reactor.modify()`. */
    public interest: number,
    /** Whatever the caller attached (the SelectorKey's `data`, NIO's attachment). */
    public data: T,
  ) {}

  /** Bytes written with `reactor.write()` that the socket has not taken yet. */
  get pendingBytes(): number {
    return this.out ? this.out.bytes : 0;
  }
}

/** The result of one `select()`: keys by what they are ready for. */
export interface ReadySets<T = unknown> {
  readonly readable: SelectorKey<T>[];
  readonly writable: SelectorKey<T>[];
  readonly errored: SelectorKey<T>[];
  /** Timer callbacks that ran in this tick. */
  readonly timers: number;
}

/** Counters a caller can read at any time (e.g. for `--stats`). */
export interface ReactorStats {
  ticks: number;
  /** Keys reported in the latest tick. */
  lastReady: number;
  /**
   * The largest ready set since this was last set to 0: a reader that
   * reports per period (the server's stats sampler) resets it.
   */
  peakReady: number;
  /** How long ticks were busy: from the end of one sleep to the start of the next. */
  readonly tickTime: DurationHistogram;
  /** Sends made by flush phases. */
  sends: number;
  /** Bytes those sends handed to sockets. */
  bytesSent: number;
}

/** Raised for misuse of the reactor itself (not for I/O failures). */
export class ReactorError extends Error {
  override readonly name = "ReactorError";
}

/** The selector: registrations, ticks, timers and coalesced writes (see the top of this file). */
export class Reactor<T = unknown> {
  private readonly keys = new Set<SelectorKey<T>>();
  private fired: SelectorKey<T>[] = [];
  private dirty: SelectorKey<T>[] = [];
  private readonly timers = new TimerQueue();
  private readonly hooks: Array<() => void> = [];
  private selecting = false;
  /** Closed keys still sending their last output. */
  private readonly lingering = new Set<SelectorKey<T>>();
  private running = false;
  private closed = false;
  /** When the latest sleep ended (-1: none yet): the start of the busy part of a tick. */
  private wokeAt = -1;
  /** Counters a caller can read at any time. */
  readonly stats: ReactorStats = {
    ticks: 0,
    lastReady: 0,
    peakReady: 0,
    sends: 0,
    bytesSent: 0,
    tickTime: new DurationHistogram(),
  };

  constructor(readonly backend: Backend) {}

  /** Monotonic milliseconds, from the backend's clock. */
  now(): number {
    return this.backend.now();
  }

  /** Registered keys (not counting ones that are only closing). */
  get size(): number {
    return this.keys.size;
  }

  /** Keys closed with output still on its way out (see `closeKey()`). */
  get closing(): number {
    return this.lingering.size;
  }

  /** Give up on closing keys' unsent output and reset them now. */
  abortClosing(): void {
    for (const key of [...this.lingering]) this.finishClose(key, true);
  }

  /** Start watching `handle` for `interest` (`Interest` bits). */
  register(handle: Handle, interest: number, data: T): SelectorKey<T> {
    if (this.closed) throw new ReactorError("register() on a closed reactor");
    const key = new SelectorKey<T>(handle, interest, data);
    this.keys.add(key);
    handle.watch(() => this.fire(key));
    handle.setReading((interest & Interest.READ) !== 0);
    // Bytes or connections may have arrived before registration; level
    // triggering means they must be reported now, not after the next event.
    if (handle.readiness() & (interest | Ready.ERRORED)) this.fire(key);
    return key;
  }

  /** Change a key's interest. */
  modify(key: SelectorKey<T>, interest: number): void {
    if (!key.valid) throw new ReactorError("modify() on a cancelled key");
    key.interest = interest;
    key.handle.setReading((interest & Interest.READ) !== 0);
    this.fire(key);
  }

  /**
   * Stop watching the key's handle (it stays open). Output still queued is
   * dropped. A key cancelled during a dispatch stays in that tick's ready
   * sets with `valid === false`; dispatchers skip such keys.
   */
  unregister(key: SelectorKey<T>): void {
    if (!key.valid) return;
    key.valid = false;
    this.keys.delete(key);
    key.handle.watch(null);
    key.out?.clear();
  }

  /**
   * Queue `bytes` for the key's connection. Nothing is sent now: the flush
   * phase before the next sleep sends each connection's queue at once.
   * The bytes are kept by reference; do not change them afterwards.
   * Returns false when the key can no longer be written to.
   */
  write(key: SelectorKey<T>, bytes: Uint8Array): boolean {
    if (!key.valid) return false;
    (key.out ??= new OutboundQueue()).push(bytes);
    this.markDirty(key);
    return true;
  }

  /**
   * Close the key's handle once its queued output is sent (or the
   * connection fails). The key is cancelled at once. With `abort`, output
   * is dropped and the connection is reset now.
   */
  closeKey(key: SelectorKey<T>, abort = false): void {
    const pending = key.valid && key.pendingBytes > 0;
    if (key.valid) {
      key.valid = false;
      this.keys.delete(key);
    }
    key.handle.setReading(false);
    if (abort || !pending) {
      this.finishClose(key, abort);
      return;
    }
    // Keep the watcher: the drain that lets the rest out must still reach us.
    key.closing = true;
    this.lingering.add(key);
    this.markDirty(key);
  }

  /** Run `fn` after `delayMs`, inside the select() whose wait it ends. */
  setTimer(delayMs: number, fn: () => void): Timer {
    return this.timers.add(this.now() + Math.max(0, delayMs), fn);
  }

  /** Run `hook` at every flush phase, before queued output is sent. */
  beforeSleep(hook: () => void): void {
    this.hooks.push(hook);
  }

  /**
   * One tick: flush, sleep until something is ready or `timeoutMs` passes
   * (timers shorten the sleep), run due timers, and return the ready sets.
   */
  async select(timeoutMs = Infinity): Promise<ReadySets<T>> {
    if (this.selecting) throw new ReactorError("select() is already waiting");
    if (this.closed) throw new ReactorError("select() on a closed reactor");
    this.selecting = true;
    try {
      this.flush();
      const wait = this.pruneFired() ? 0 : Math.min(timeoutMs, this.timers.nextDeadline() - this.now());
      if (this.wokeAt >= 0) this.stats.tickTime.record(this.now() - this.wokeAt);
      await this.backend.poll(Math.max(0, wait));
      this.wokeAt = this.now();
      const timers = this.runTimers();
      return this.collect(timers);
    } finally {
      this.selecting = false;
    }
  }

  /**
   * Select and dispatch until `stop()`; then flush once more. This is the
   * whole event loop: `for (;;) dispatch(await select())`.
   */
  async run(dispatch: (ready: ReadySets<T>) => void): Promise<void> {
    this.running = true;
    while (this.running && !this.closed) dispatch(await this.select());
    if (!this.closed) this.flush();
  }

  /** Make `run()` return after the current tick. */
  stop(): void {
    this.running = false;
    this.backend.wakeup();
  }

  /** Close every registered handle (abortively) and the reactor itself. */
  close(): void {
    if (this.closed) return;
    this.stop();
    for (const key of [...this.keys]) this.closeKey(key, true);
    this.abortClosing();
    this.closed = true;
  }

  /** Send every queued output once; the flush phase of a tick. */
  flush(): void {
    for (const hook of this.hooks) hook();
    const dirty = this.dirty;
    if (!dirty.length) return;
    this.dirty = [];
    for (const key of dirty) {
      key.dirty = false;
      this.sendQueued(key);
    }
  }

  /**
   * Send one key's queued output now instead of at the flush phase. Only
   * for callers that want no coalescing (e.g. to measure what it gains).
   */
  flushKey(key: SelectorKey<T>): void {
    this.sendQueued(key);
  }

  private sendQueued(key: SelectorKey<T>): void {
    if (key.blocked || !key.out || key.out.empty) return;
    const handle = key.handle as Handle & Partial<Sink>;
    if (!handle.send) throw new ReactorError("write() to a handle that cannot send");
    const n = key.out.flushTo(handle as Sink);
    if (n > 0) {
      this.stats.sends++;
      this.stats.bytesSent += n;
    }
    if (n < 0) {
      // The handle is ERRORED now and its watcher has fired: the
      // dispatcher evicts it from the errored set. A closing key just goes.
      key.out.clear();
      if (key.closing) this.finishClose(key, true);
    } else if (!key.out.empty) {
      key.blocked = true;
    } else if (key.closing) {
      this.finishClose(key, false);
    }
  }

  private fire(key: SelectorKey<T>): void {
    if (!key.fired) {
      key.fired = true;
      this.fired.push(key);
    }
    this.backend.wakeup();
  }

  private markDirty(key: SelectorKey<T>): void {
    if (!key.dirty) {
      key.dirty = true;
      this.dirty.push(key);
    }
  }

  /**
   * Before sleeping: drop the keys queued for collection that are no longer
   * ready (level triggering re-queues every key that was ready; most were
   * served in full), so collect() does not look at them a second time.
   * Returns whether a key that stays is ready: then don't sleep.
   */
  private pruneFired(): boolean {
    const fired = this.fired;
    let kept = 0;
    let ready = false;
    for (let i = 0; i < fired.length; i++) {
      const key = fired[i]!;
      const wanted = key.valid && (key.handle.readiness() & (key.interest | Ready.ERRORED)) !== 0;
      // Blocked and closing keys wait for collect() to see WRITABLE or ERRORED.
      if (wanted || key.blocked || key.closing) {
        fired[kept++] = key;
        ready ||= wanted;
      } else {
        key.fired = false;
      }
    }
    fired.length = kept;
    return ready;
  }

  private runTimers(): number {
    let ran = 0;
    const now = this.now();
    for (let t = this.timers.popDue(now); t; t = this.timers.popDue(now)) {
      ran++;
      t.fn();
    }
    return ran;
  }

  private collect(timers: number): ReadySets<T> {
    const readable: SelectorKey<T>[] = [];
    const writable: SelectorKey<T>[] = [];
    const errored: SelectorKey<T>[] = [];
    const fired = this.fired;
    this.fired = [];
    for (const key of fired) {
      key.fired = false;
      const r = key.handle.readiness();
      if (key.blocked && r & (Ready.WRITABLE | Ready.ERRORED)) {
        // The socket took the last send only in part; now it has room again
        // (or failed, which the send will report): retry at the next flush.
        key.blocked = false;
        this.markDirty(key);
      }
      if (!key.valid) {
        if (key.closing && r & Ready.ERRORED) this.finishClose(key, true);
        continue;
      }
      const ready = r & (key.interest | Ready.ERRORED);
      key.ready = ready;
      if (!ready) continue;
      if (ready & Ready.READABLE) readable.push(key);
      if (ready & Ready.WRITABLE) writable.push(key);
      if (ready & Ready.ERRORED) errored.push(key);
      // Level-triggered: look at it again next tick; dropped there if served.
      key.fired = true;
      this.fired.push(key);
    }
    this.stats.ticks++;
    const n = readable.length + writable.length + errored.length;
    this.stats.lastReady = n;
    if (n > this.stats.peakReady) this.stats.peakReady = n;
    return { readable, writable, errored, timers };
  }

  private finishClose(key: SelectorKey<T>, abort: boolean): void {
    this.lingering.delete(key);
    key.closing = false;
    key.out?.clear();
    key.handle.watch(null);
    const h = key.handle as Handle & { abort?(): void };
    if (abort && h.abort) h.abort();
    else h.close();
  }
}
