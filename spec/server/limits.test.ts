// Unit tests of the limit policy (lib/chat/limits.ts) and of how the
// client neutralises what peers send before a terminal sees it
// (`visible` in lib/chat/terminal.ts): pure code, run in-process.
import t from "tap";
import {
  ClientLimits,
  clientsWithinFdLimit,
  defaultLimits,
  LineVerdict,
  RESERVED_FDS,
  BacklogWatch,
  SLOW_READER_GRACE_MS,
  TokenBucket,
} from "../../lib/server/limits.ts";
import { visible } from "../../lib/client/display.ts";
import { TimerQueue } from "../../lib/reactor/timers.ts";

/** A reactor stand-in whose clock the test moves. */
class FakeClock {
  time = 1000;
  private readonly timers = new TimerQueue();
  now(): number {
    return this.time;
  }
  setTimer(delayMs: number, fn: () => void) {
    return this.timers.add(this.time + delayMs, fn);
  }
  /** Move the clock and run what fell due. */
  advance(ms: number): void {
    this.time += ms;
    for (let due = this.timers.popDue(this.time); due; due = this.timers.popDue(this.time)) due.fn();
  }
  get pending(): number {
    return this.timers.nextDeadline() === Infinity ? 0 : 1;
  }
}

t.test("token bucket: a burst, then the rate", async (t) => {
  const b = new TokenBucket(10, 5, 0);
  let taken = 0;
  while (b.take()) taken++;
  t.equal(taken, 5, "starts full: the whole burst passes");
  b.refill(100); // 0.1 s at 10/s: one token
  t.ok(b.take(), "one token after 100 ms");
  t.notOk(b.take(), "and only one");
  b.refill(10_000);
  taken = 0;
  while (b.take()) taken++;
  t.equal(taken, 5, "a long pause refills to the burst, not beyond");
});

t.test("client limits: over the rate, lines are dropped and the client warned once per run", async (t) => {
  const clock = new FakeClock();
  const limits = new ClientLimits(clock, { ...defaultLimits, rate: 10, burst: 3 }, () => t.fail("not idle"));
  limits.noteActivity(clock.now());
  const verdicts = [1, 2, 3, 4, 5, 6].map(() => limits.admitLine());
  t.same(verdicts, [
    LineVerdict.PASS,
    LineVerdict.PASS,
    LineVerdict.PASS,
    LineVerdict.DROP_AND_WARN,
    LineVerdict.DROP,
    LineVerdict.DROP,
  ]);
  clock.advance(100);
  limits.noteActivity(clock.now());
  t.equal(limits.admitLine(), LineVerdict.PASS, "a token came back");
  t.equal(limits.admitLine(), LineVerdict.DROP_AND_WARN, "a new run of drops warns again");
});

t.test("client limits: rate 0 means no flood limit", async (t) => {
  const clock = new FakeClock();
  const limits = new ClientLimits(clock, { ...defaultLimits, rate: 0, burst: 1 }, () => {});
  for (let i = 0; i < 10_000; i++) if (limits.admitLine() !== LineVerdict.PASS) return t.fail(`line ${i} dropped`);
  t.pass("10000 lines passed");
});

t.test("client limits: idle timeout fires after a quiet period, measured from the last receive", async (t) => {
  const clock = new FakeClock();
  let idle = 0;
  const limits = new ClientLimits(clock, { ...defaultLimits, idleTimeoutMs: 1000 }, () => void idle++);
  clock.advance(600);
  limits.noteActivity(clock.now()); // activity at 1600: deadline moves to 2600
  clock.advance(400); // 2000: the first timer fires, sees activity, re-arms for the rest
  t.equal(idle, 0, "not idle: it spoke 400 ms ago");
  clock.advance(599); // 2599
  t.equal(idle, 0, "still not idle 1 ms before the deadline");
  clock.advance(1); // 2600
  t.equal(idle, 1, "idle at exactly 1000 ms of quiet");
  clock.advance(5000);
  t.equal(idle, 1, "fires once");
});

t.test("client limits: close() stops the idle timer; no timer without a timeout", async (t) => {
  const clock = new FakeClock();
  const limits = new ClientLimits(clock, { ...defaultLimits, idleTimeoutMs: 1000 }, () => t.fail("closed client went idle"));
  limits.close();
  clock.advance(5000);
  new ClientLimits(clock, { ...defaultLimits, idleTimeoutMs: 0 }, () => t.fail("no timeout set"));
  t.equal(clock.pending, 0, "idle-timeout 0 arms no timer");
});

t.test("BacklogWatch: evicts a reader over the limit for the grace period, or over twice it at once", async (t) => {
  const reader = (pendingBytes: number) => ({ key: { pendingBytes } });
  const fast = reader(50);
  const lagging = reader(150);
  const slow = reader(150);
  const huge = reader(250);
  const watch = new BacklogWatch<{ pendingBytes: number }>();
  const sizes = (keys: { pendingBytes: number }[]) => keys.map((k) => k.pendingBytes);
  t.same(sizes(watch.check([fast, slow], 100, 60, 0)), [], "over the limit for the first time: not yet");
  t.equal(watch.lagging, 1, "one reader is over the lag threshold");
  t.same(sizes(watch.check([fast, slow, huge], 100, 60, 10)), [250], "over twice the limit: at once");
  t.same(sizes(watch.check([fast, slow], 100, 60, SLOW_READER_GRACE_MS - 1)), [], "still within the grace period");
  t.same(sizes(watch.check([fast, slow], 100, 60, SLOW_READER_GRACE_MS)), [150], "over for the whole grace period");
  t.same(sizes(watch.check([lagging], 100, 60, 0)), [], "a new reader over the limit starts its own period");
  lagging.key.pendingBytes = 10;
  t.same(sizes(watch.check([lagging], 100, 60, 500)), [], "it drained");
  lagging.key.pendingBytes = 150;
  t.same(sizes(watch.check([lagging], 100, 60, SLOW_READER_GRACE_MS)), [], "draining below the limit restarts the period");
  t.same(sizes(watch.check([huge], 0, 60, 0)), [], "0: no limit");
});

t.test("max clients fit under the open-file limit", async (t) => {
  t.equal(clientsWithinFdLimit(10_000, 20_000), 10_000, "a roomy limit keeps the setting");
  t.equal(clientsWithinFdLimit(10_000, 1024), 1024 - RESERVED_FDS, "a low limit lowers it");
  t.equal(clientsWithinFdLimit(10_000, null), 10_000, "unknown limit: unchanged");
  t.equal(clientsWithinFdLimit(10, 8), 1, "never below one");
});

t.test("visible: escape sequences and control characters become visible text", async (t) => {
  const show = (b: Uint8Array) => visible(new TextDecoder().decode(b));
  const bytes = (...b: number[]) => new Uint8Array(b);
  const enc = (s: string) => new TextEncoder().encode(s);
  t.equal(show(enc("hello, wörld ✓")), "hello, wörld ✓", "printable UTF-8 unchanged");
  t.equal(show(enc("\x1b[2J\x1b[H")), "^[[2J^[[H", "clear screen shown, not run");
  t.equal(show(enc("\x1b]0;pwned\x07")), "^[]0;pwned^G", "window title (OSC) neutralised");
  t.equal(show(enc("fake\rreal")), "fake^Mreal", "carriage return cannot overwrite the line");
  t.equal(show(bytes(0x61, 0x00, 0x7f, 0x08)), "a^@^?^H", "NUL, DEL, backspace");
  t.equal(show(enc("\u009b31m")), "\\x9b31m", "C1 CSI neutralised");
  t.equal(show(enc("abc\u202edcba")), "abc<U+202E>dcba", "bidi override neutralised");
  t.equal(show(bytes(0xff, 0xfe, 0x41)), "\ufffd\ufffdA", "invalid UTF-8 shown as replacement characters");
  const all = new Uint8Array(256).map((_, i) => i);
  t.notOk(/[\x00-\x1f\x7f-\x9f]/.test(show(all)), "no control character survives any byte value");
});
