/**
 * The reactor: registrations, the tick loop, timers and coalesced writes.
 *
 * One tick, as `select()` runs it:
 *   1. flush    – before sleeping, run the before-sleep hook and give every
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
 *
 * Work that turns up while the reactor sleeps (a write or a timer from a
 * promise or a runtime callback, outside any tick) ends the sleep, so it
 * is flushed or run now rather than at the next I/O event.
 */
import type { Backend, Connection, Handle } from "./backend.ts";
import { Interest, Ready } from "./events.ts";
import { DurationHistogram } from "./histogram.ts";
import { OutboundQueue } from "./outbound.ts";
import { type Timer, TimerQueue } from "./timers.ts";

/**
 * A handle's registration as callers see it: Python's SelectorKey, Java
 * NIO's SelectionKey. `H` is the kind of handle registered: only a key of
 * a connection can be written to.
 */
export interface SelectorKey<T = unknown, H extends Handle = Handle> {
  readonly handle: H;
  /** The `Interest` bits; change them with `reactor.modify()`. */
  readonly interest: number;
  /** Whatever the caller attached (the SelectorKey's `data`, NIO's attachment). */
  data: T;
  /** What this key was ready for in the latest tick (`Ready` bits). */
  readonly ready: number;
  /** False once unregistered or closed: a cancelled key is never reported again. */
  readonly valid: boolean;
  /** Bytes written with `reactor.write()` that the socket has not taken yet. */
  readonly pendingBytes: number;
}

/**
 * Whether a key (say, from the ready sets) is a connection's, which
 * `write()` takes. Narrowing `key.handle.kind` narrows only the handle.
 */
export function isConnectionKey<T>(key: SelectorKey<T>): key is SelectorKey<T, Connection> {
  return key.handle.kind === "connection";
}

/** The reactor's record behind a key: the public fields plus the tick bookkeeping. */
class Registration<T, H extends Handle = Handle> implements SelectorKey<T, H> {
  ready = 0;
  valid = true;
  /** Queued by the key's watcher for the next collect phase. */
  fired = false;
  /** Output waiting for the flush phase. */
  out: OutboundQueue | null = null;
  /** In the reactor's flush list. */
  dirty = false;
  /** The last send left bytes behind: wait for WRITABLE. */
  blocked = false;
  /** Closed with output pending: finish the flush, then close the handle. */
  lingering = false;

  constructor(
    readonly owner: Reactor<T>,
    readonly handle: H,
    public interest: number,
    public data: T,
  ) {}

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
  override readonly name: string = "ReactorError";
}

/** Raised by `register()` for a handle this reactor already watches (selectors' KeyError). */
export class AlreadyRegisteredError extends ReactorError {
  override readonly name = "AlreadyRegisteredError";
  constructor(readonly handle: Handle) {
    super(`this ${handle.kind} is already registered; change its key with modify()`);
  }
}

/** `sleepingUntil` while select() is not asleep in the backend's poll. */
const NOT_SLEEPING = -Infinity;

/** A wake-up this much past its deadline, or a busy part this long, counts as a stall (ms). */
export const LATE_WAKE_MS = 250;

/** I/O passes a stalled reactor finishes, at most, before it runs timers. */
const CATCH_UP_PASSES = 16;

/** The selector: registrations, ticks, timers and coalesced writes (see the top of this file). */
export class Reactor<T = unknown> {
  /** Registered keys by handle: a handle has at most one. */
  private readonly keys = new Map<Handle, Registration<T>>();
  private fired: Registration<T>[] = [];
  private dirty: Registration<T>[] = [];
  private readonly timers = new TimerQueue();
  private beforeSleepHook: (() => void) | null = null;
  private selecting = false;
  /** Closed keys still sending their last output. */
  private readonly lingering = new Set<Registration<T>>();
  private running = false;
  private closed = false;
  /** When the latest sleep ended (-1: none yet): the start of the busy part of a tick. */
  private wokeAt = -1;
  /** When the current sleep in `backend.poll()` ends by itself; NOT_SLEEPING outside it. */
  private sleepingUntil = NOT_SLEEPING;
  /** Watcher calls so far: tells a catch-up pass whether it brought anything. */
  private firings = 0;
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

  /** Registered keys (not counting ones that are only lingering). */
  get size(): number {
    return this.keys.size;
  }

  /** Timers waiting to fire (a cancelled one is not among them). */
  get timerCount(): number {
    return this.timers.size;
  }

  /** Keys closed with output still on its way out (see `closeKey()`). */
  get lingeringCount(): number {
    return this.lingering.size;
  }

  /** Give up on lingering keys' unsent output and reset them now. */
  abortLingering(): void {
    for (const key of [...this.lingering]) this.finishClose(key, true);
  }

  /**
   * Start watching `handle` for `interest` (`Interest` bits). The key is
   * typed by the handle: a connection's key can be written to. A handle
   * already registered here is an `AlreadyRegisteredError`.
   */
  register<H extends Handle>(handle: H, interest: number, data: T): SelectorKey<T, H> {
    if (this.closed) throw new ReactorError("register() on a closed reactor");
    if (this.keys.has(handle)) throw new AlreadyRegisteredError(handle);
    const key = new Registration<T, H>(this, handle, interest, data);
    this.keys.set(handle, key);
    handle.watch(() => this.fire(key));
    handle.setReading((interest & Interest.READ) !== 0);
    // Bytes or connections may have arrived before registration; level
    // triggering means they must be reported now, not after the next event.
    if (handle.readiness() & (interest | Ready.ERRORED)) this.fire(key);
    return key;
  }

  /** Change a key's interest. */
  modify(key: SelectorKey<T>, interest: number): void {
    const registration = this.own(key);
    if (!registration.valid) throw new ReactorError("modify() on a cancelled key");
    registration.interest = interest;
    registration.handle.setReading((interest & Interest.READ) !== 0);
    this.fire(registration);
  }

  /**
   * Stop watching the key's handle (it stays open). Output still queued is
   * dropped. A key cancelled during a dispatch stays in that tick's ready
   * sets with `valid === false`; dispatchers skip such keys.
   */
  unregister(key: SelectorKey<T>): void {
    const registration = this.own(key);
    if (!registration.valid) return;
    registration.valid = false;
    this.keys.delete(registration.handle);
    registration.handle.watch(null);
    registration.out?.clear();
  }

  /**
   * Queue `bytes` for the key's connection. Nothing is sent now: the flush
   * phase before the next sleep sends each connection's queue at once.
   * The bytes are kept by reference; do not change them afterwards.
   * Returns false when the key can no longer be written to.
   */
  write(key: SelectorKey<T, Connection>, bytes: Uint8Array): boolean {
    const registration = this.own(key);
    if (!registration.valid) return false;
    // The type admits only connections' keys; this is for callers that got around it.
    if (registration.handle.kind !== "connection") throw new ReactorError(`write() to a ${registration.handle.kind}`);
    (registration.out ??= new OutboundQueue()).push(bytes);
    this.markDirty(registration);
    return true;
  }

  /**
   * Close the key's handle once its queued output is sent (or the
   * connection fails). The key is cancelled at once. With `abort`, output
   * is dropped and the connection is reset now.
   */
  closeKey(key: SelectorKey<T>, abort = false): void {
    const registration = this.own(key);
    const pending = registration.valid && registration.pendingBytes > 0;
    if (registration.valid) {
      registration.valid = false;
      this.keys.delete(registration.handle);
    }
    registration.handle.setReading(false);
    if (abort || !pending) {
      this.finishClose(registration, abort);
      return;
    }
    // Keep the watcher: the drain that lets the rest out must still reach us.
    registration.lingering = true;
    this.lingering.add(registration);
    this.markDirty(registration);
  }

  /** Run `fn` after `delayMs`, inside the select() whose wait it ends. */
  setTimer(delayMs: number, fn: () => void): Timer {
    const deadline = this.now() + Math.max(0, delayMs);
    if (deadline < this.sleepingUntil) this.endSleep();
    return this.timers.add(deadline, fn);
  }

  /**
   * Make `timer` (one of this reactor's, pending, fired or cancelled) fire
   * `delayMs` from now, in place: a timeout pushed back on every message
   * costs no allocation and leaves nothing behind in the heap.
   */
  rearm(timer: Timer, delayMs: number): void {
    if (timer.queue !== this.timers) throw new ReactorError("a timer of another reactor");
    const deadline = this.now() + Math.max(0, delayMs);
    if (deadline < this.sleepingUntil) this.endSleep();
    this.timers.schedule(timer, deadline);
  }

  /**
   * Run `hook` at every flush phase, before queued output is sent (null:
   * none). One hook, replacing any earlier one, as Redis's
   * aeSetBeforeSleepProc: the program that owns the loop calls its parts
   * from it in an order it states, instead of the order they happened to
   * register in.
   */
  setBeforeSleep(hook: (() => void) | null): void {
    this.beforeSleepHook = hook;
  }

  /**
   * One tick: flush, sleep until something is ready or `timeoutMs` passes
   * (timers shorten the sleep), run due timers, and return the ready sets.
   * A sleep ended by a write or an earlier timer made during it returns
   * empty sets; the next select() flushes that write or runs that timer.
   */
  async select(timeoutMs = Infinity): Promise<ReadySets<T>> {
    if (this.selecting) throw new ReactorError("select() is already waiting");
    if (this.closed) throw new ReactorError("select() on a closed reactor");
    this.selecting = true;
    try {
      this.runBeforeSleep();
      const wait = this.pruneFired() ? 0 : Math.min(timeoutMs, this.timers.nextDeadline() - this.now());
      const sleepMs = Math.max(0, wait);
      const sleptAt = this.now();
      const busyMs = this.wokeAt >= 0 ? sleptAt - this.wokeAt : 0;
      if (this.wokeAt >= 0) this.stats.tickTime.record(busyMs);
      const wakeAt = sleptAt + sleepMs;
      this.sleepingUntil = wakeAt;
      try {
        await this.backend.poll(sleepMs);
        // Woken late (the process was stopped or starved) or after a long
        // busy part: input piled up in the kernel, and the runtime hands it
        // over in several I/O passes. Let it in before the timers run, so
        // that an idle timeout or a tail flush never acts on a connection
        // whose bytes are already here.
        if (busyMs > LATE_WAKE_MS || this.now() - wakeAt > LATE_WAKE_MS) await this.catchUp();
      } finally {
        this.sleepingUntil = NOT_SLEEPING;
      }
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
    if (!this.closed) this.runBeforeSleep();
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
    for (const key of [...this.keys.values()]) this.closeKey(key, true);
    this.abortLingering();
    this.closed = true;
  }

  /**
   * The flush phase of a tick, now: run the before-sleep hook (the
   * application's end of tick), then send every queued output once. A
   * program shutting down calls it to push its last words out at once.
   */
  runBeforeSleep(): void {
    this.beforeSleepHook?.();
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
  flushKey(key: SelectorKey<T, Connection>): void {
    this.sendQueued(this.own(key));
  }

  /** The reactor's record behind a key it handed out (keys are Registrations; no lookup). */
  private own<H extends Handle>(key: SelectorKey<T, H>): Registration<T, H> {
    if (!(key instanceof Registration) || key.owner !== this) throw new ReactorError("a key of another reactor");
    return key;
  }

  private sendQueued(key: Registration<T>): void {
    if (key.blocked || !key.out || key.out.empty) return;
    const handle = key.handle;
    if (handle.kind !== "connection") return; // write() queues only for connections
    const n = key.out.flushTo(handle);
    if (n > 0) {
      this.stats.sends++;
      this.stats.bytesSent += n;
    }
    if (n < 0) {
      // The handle is ERRORED now and its watcher has fired: the
      // dispatcher evicts it from the errored set. A lingering key just goes.
      key.out.clear();
      if (key.lingering) this.finishClose(key, true);
    } else if (!key.out.empty) {
      key.blocked = true;
    } else if (key.lingering) {
      this.finishClose(key, false);
    }
  }

  /** Finish I/O passes without sleeping until one brings no new readiness (at most `CATCH_UP_PASSES`). */
  private async catchUp(): Promise<void> {
    for (let pass = 0; pass < CATCH_UP_PASSES; pass++) {
      const before = this.firings;
      await this.backend.poll(0);
      if (this.firings === before) return;
    }
  }

  private fire(key: Registration<T>): void {
    this.firings++;
    if (!key.fired) {
      key.fired = true;
      this.fired.push(key);
    }
    this.backend.wakeup();
  }

  private markDirty(key: Registration<T>): void {
    if (!key.dirty) {
      key.dirty = true;
      this.dirty.push(key);
    }
    // Written outside a tick: flush it now, not after the next I/O event.
    if (this.sleepingUntil !== NOT_SLEEPING) this.endSleep();
  }

  /** End the current sleep in the backend's poll; select() returns and the next one does the work. */
  private endSleep(): void {
    this.sleepingUntil = NOT_SLEEPING;
    this.backend.wakeup();
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
      // Blocked and lingering keys wait for collect() to see WRITABLE or ERRORED.
      if (wanted || key.blocked || key.lingering) {
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
    for (let timer = this.timers.popDue(now); timer; timer = this.timers.popDue(now)) {
      ran++;
      timer.fn();
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
      const readiness = key.handle.readiness();
      if (key.blocked && readiness & (Ready.WRITABLE | Ready.ERRORED)) {
        // The socket took the last send only in part; now it has room again
        // (or failed, which the send will report): retry at the next flush.
        key.blocked = false;
        this.markDirty(key);
      }
      if (!key.valid) {
        if (key.lingering && readiness & Ready.ERRORED) this.finishClose(key, true);
        continue;
      }
      const ready = readiness & (key.interest | Ready.ERRORED);
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

  private finishClose(key: Registration<T>, abort: boolean): void {
    this.lingering.delete(key);
    key.lingering = false;
    key.out?.clear();
    const handle = key.handle;
    handle.watch(null);
    if (abort && handle.kind === "connection") handle.abort();
    else handle.close();
  }
}
