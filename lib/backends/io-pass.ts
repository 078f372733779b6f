import type { Backend, ConnectOptions, Connection, InputStream, Listener, ListenOptions } from "../reactor/backend.ts";
import { StdinHandle } from "./stdin.ts";

/**
 * Finding the end of an I/O poll pass, for runtimes built on a libuv-style
 * loop (Node's libuv, Bun's uSockets loop).
 *
 * Both runtimes deliver socket events as callbacks, one per socket, while
 * they walk the results of one epoll_wait. A tick must hold all of them,
 * so `poll()` does not end on the first callback: the first wakeup in a pass
 * schedules a `setImmediate`, and immediates run only after the loop has
 * finished dispatching that pass's I/O callbacks (Node's "check" phase
 * follows "poll"; Bun drains its immediate queue after the uSockets pass).
 * Everything that fired in between lands in the same tick. A timeout works
 * the same way: the timer only schedules the immediate, so I/O of the
 * pass in which it fires still joins the tick.
 */

/**
 * How long an end-of-pass immediate may be late before a timer ends the
 * pass instead. Bun 1.4 sometimes never runs an immediate scheduled from a
 * listener's `open` callback during an accept burst (until some later
 * `setImmediate` call), which would leave select() asleep with connections
 * waiting. Timers run between passes too, so ending a pass from one keeps
 * the tick boundary where it belongs.
 */
export const LATE_PASS_MS = 2;

/** Runs `fn(pass)` once the runtime's current I/O pass is over. */
export type EndOfPassScheduler = (fn: (pass: number) => void, pass: number) => void;

const afterImmediates: EndOfPassScheduler = (fn, pass) => setImmediate(fn, pass);

/** What a backend's `poll()` sleeps on: woken by I/O, ended at the end of the pass (or by a timeout). */
export class IoPassPoller {
  private woken = false;
  /** Id of the end-of-pass callback in flight (0: none); a late one that lost the race is ignored. */
  private pendingPass = 0;
  private passCount = 0;
  private resolve: (() => void) | null = null;
  /** When the waiting poll's timeout ends it (performance.now() ms); Infinity: no timeout, or no poll waiting. */
  private wakeAt = Infinity;
  /**
   * One timeout timer kept from poll to poll, and when it fires. A poll
   * nearly always ends by I/O long before its timeout, and the next one
   * wants about the same wake time: a new timer per poll would be a
   * runtime timer object per tick for the collector, thousands a second
   * under load. A timer that fires before the poll's wake time sets the
   * rest; referenced only while a poll waits, so it never holds up an exit.
   */
  private timeoutTimer: ReturnType<typeof setTimeout> | null = null;
  private timerAt = Infinity;
  private timerRef = false;
  private latePassWatchdog: ReturnType<typeof setTimeout> | null = null;

  /** @param schedule how the end of a pass is found (tests replace it). */
  constructor(private readonly schedule: EndOfPassScheduler = afterImmediates) {}

  poll(timeoutMs: number): Promise<void> {
    if (this.resolve) throw new Error("poll() is already waiting");
    return new Promise<void>((resolve) => {
      this.resolve = resolve;
      if (this.woken || timeoutMs <= 0) this.endOfPass();
      else if (timeoutMs !== Infinity) this.armTimeout(performance.now() + timeoutMs);
    });
  }

  /** Have the timeout timer end the waiting poll at `at`, reusing the one there is when it fires no later. */
  private armTimeout(at: number): void {
    this.wakeAt = at;
    if (this.timeoutTimer !== null && this.timerAt <= at) {
      if (!this.timerRef) this.timeoutTimer.ref();
      this.timerRef = true;
      return;
    }
    if (this.timeoutTimer !== null) clearTimeout(this.timeoutTimer);
    // setTimeout takes a signed 32-bit delay; longer waits wake early and poll again.
    this.timeoutTimer = setTimeout(this.onTimeout, Math.min(Math.max(0, at - performance.now()), 2 ** 31 - 1));
    this.timerAt = at;
    this.timerRef = true;
  }

  private onTimeout = (): void => {
    this.timeoutTimer = null;
    this.timerAt = Infinity;
    this.timerRef = false;
    if (this.resolve === null || this.wakeAt === Infinity) return;
    // Set for an earlier poll: sleep on until this poll's own wake time
    // (within a millisecond: the runtime's timers have that resolution).
    if (performance.now() < this.wakeAt - 1) this.armTimeout(this.wakeAt);
    else this.endOfPass();
  };

  wakeup(): void {
    this.woken = true;
    if (this.resolve) this.endOfPass();
  }

  private endOfPass = (): void => {
    if (this.pendingPass) return;
    this.pendingPass = ++this.passCount;
    this.schedule(this.finish, this.pendingPass);
    // One reusable timer, re-armed per pass: no allocation per tick. It
    // stays referenced, like the immediate it stands in for: it fires at
    // most once after the last pass, so it delays an exit by LATE_PASS_MS.
    if (this.latePassWatchdog) this.latePassWatchdog.refresh();
    else this.latePassWatchdog = setTimeout(this.onLatePass, LATE_PASS_MS);
  };

  private onLatePass = (): void => {
    if (this.pendingPass) this.finish(this.pendingPass);
  };

  private finish = (pass: number): void => {
    if (pass !== this.pendingPass) return; // the watchdog (or a newer pass) got there first
    this.pendingPass = 0;
    const resolve = this.resolve;
    if (!resolve) return;
    this.resolve = null;
    this.woken = false;
    this.wakeAt = Infinity;
    if (this.timerRef) {
      this.timeoutTimer!.unref();
      this.timerRef = false;
    }
    resolve();
  };
}

/**
 * What the callback-driven backends (Bun, Node) share: the monotonic clock,
 * the pass-based `poll()`/`wakeup()` and stdin. Each adds only its sockets.
 */
export abstract class CallbackBackend implements Backend {
  abstract readonly name: string;
  private readonly poller = new IoPassPoller();
  private stdinHandle: StdinHandle | null = null;

  now(): number {
    return performance.now();
  }

  poll(timeoutMs: number): Promise<void> {
    return this.poller.poll(timeoutMs);
  }

  wakeup(): void {
    this.poller.wakeup();
  }

  stdin(): InputStream {
    return (this.stdinHandle ??= new StdinHandle());
  }

  abstract listen(options: ListenOptions): Promise<Listener>;
  abstract connect(options: ConnectOptions): Promise<Connection>;
}
