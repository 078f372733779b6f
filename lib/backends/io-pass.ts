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
export type PassScheduler = (fn: (pass: number) => void, pass: number) => void;

const afterPass: PassScheduler = (fn, pass) => setImmediate(fn, pass);

/** What a backend's `poll()` sleeps on: woken by I/O, ended at the end of the pass (or by a timeout). */
export class PassWaiter {
  private woken = false;
  /** Id of the end-of-pass callback in flight (0: none); a late one that lost the race is ignored. */
  private pending = 0;
  private passes = 0;
  private resolve: (() => void) | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setTimeout> | null = null;

  /** @param schedule how the end of a pass is found (tests replace it). */
  constructor(private readonly schedule: PassScheduler = afterPass) {}

  poll(timeoutMs: number): Promise<void> {
    if (this.resolve) throw new Error("poll() is already waiting");
    return new Promise<void>((resolve) => {
      this.resolve = resolve;
      if (this.woken || timeoutMs <= 0) this.endOfPass();
      else if (timeoutMs !== Infinity) {
        // setTimeout takes a signed 32-bit delay; longer waits wake early and poll again.
        this.timer = setTimeout(this.endOfPass, Math.min(timeoutMs, 2 ** 31 - 1));
      }
    });
  }

  wakeup(): void {
    this.woken = true;
    if (this.resolve) this.endOfPass();
  }

  private endOfPass = (): void => {
    if (this.pending) return;
    this.pending = ++this.passes;
    this.schedule(this.finish, this.pending);
    // One reusable timer, re-armed per pass: no allocation per tick. It
    // stays referenced, like the immediate it stands in for: it fires at
    // most once after the last pass, so it delays an exit by LATE_PASS_MS.
    if (this.watchdog) this.watchdog.refresh();
    else this.watchdog = setTimeout(this.late, LATE_PASS_MS);
  };

  private late = (): void => {
    if (this.pending) this.finish(this.pending);
  };

  private finish = (pass: number): void => {
    if (pass !== this.pending) return; // the watchdog (or a newer pass) got there first
    this.pending = 0;
    const resolve = this.resolve;
    if (!resolve) return;
    this.resolve = null;
    this.woken = false;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    resolve();
  };
}

/**
 * What the Bun and Node backends share: the monotonic clock, the pass-based
 * `poll()`/`wakeup()` and stdin. Each adds only its sockets.
 */
export abstract class PassBackend implements Backend {
  abstract readonly name: string;
  private readonly waiter = new PassWaiter();
  private stdinHandle: StdinHandle | null = null;

  now(): number {
    return performance.now();
  }

  poll(timeoutMs: number): Promise<void> {
    return this.waiter.poll(timeoutMs);
  }

  wakeup(): void {
    this.waiter.wakeup();
  }

  stdin(): InputStream {
    return (this.stdinHandle ??= new StdinHandle());
  }

  abstract listen(options: ListenOptions): Promise<Listener>;
  abstract connect(options: ConnectOptions): Promise<Connection>;
}
