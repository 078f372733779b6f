// Unit tests of the limit policy (lib/server/limits.ts): pure code, run in-process.
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
  t.same(verdicts, [LineVerdict.PASS, LineVerdict.PASS, LineVerdict.PASS, LineVerdict.DROP_AND_WARN, LineVerdict.DROP, LineVerdict.DROP]);
  clock.advance(100);
  limits.noteActivity(clock.now());
  t.equal(limits.admitLine(), LineVerdict.PASS, "a token came back");
  t.equal(limits.admitLine(), LineVerdict.DROP_AND_WARN, "a new run of drops warns again");
});

t.test("client limits: rate 0 means no flood limit", async (t) => {
  const clock = new FakeClock();
  const limits = new ClientLimits(clock, { ...defaultLimits, rate: 0, burst: 1 }, () => {});
  let passed = 0;
  for (let i = 0; i < 10_000; i++) if (limits.admitLine() === LineVerdict.PASS) passed++;
  t.equal(passed, 10_000, "every line passes");
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

t.test("BacklogWatch: over half the limit lags; evicted after staying over the limit, or past twice it at once", async (t) => {
  const reader = (pendingBytes: number) => ({ key: { pendingBytes } });
  const sizes = (keys: { pendingBytes: number }[]) => keys.map((k) => k.pendingBytes);
  const fast = reader(50);
  const lagging = reader(60);
  const over = reader(150);
  const watch = new BacklogWatch<{ pendingBytes: number }>();
  t.same(sizes(watch.check([fast, lagging, over], 100, 0)), [], "over the limit for the first time: not yet");
  t.equal(watch.lagging, 2, "two readers lag (over half the limit)");
  for (let now = 250; now < SLOW_READER_GRACE_MS; now += 250) {
    t.same(sizes(watch.check([fast, lagging, over], 100, now)), [], `still over at ${now} ms, within the grace period`);
  }
  t.same(sizes(watch.check([fast, lagging, over], 100, SLOW_READER_GRACE_MS)), [150], "over for the whole grace period");
  t.same(sizes(watch.check([reader(201)], 100, SLOW_READER_GRACE_MS)), [201], "over twice the limit: at once");

  const back = reader(150);
  const w2 = new BacklogWatch<{ pendingBytes: number }>();
  w2.check([back], 100, 0);
  back.key.pendingBytes = 90;
  w2.check([back], 100, 500);
  back.key.pendingBytes = 150;
  t.same(sizes(w2.check([back], 100, SLOW_READER_GRACE_MS)), [], "dropping under the limit starts the period again");

  const w3 = new BacklogWatch<{ pendingBytes: number }>();
  const sleeper = reader(150);
  w3.check([sleeper], 100, 0);
  t.same(sizes(w3.check([sleeper], 100, 5000)), [], "the server itself was stopped 5 s: one look after is not enough");
  t.same(sizes(w3.check([sleeper], 100, 5001)), [], "nor are quick looks right after it");
  t.same(sizes(w3.check([sleeper], 100, 5250)), [sleeper.key.pendingBytes], "a second spaced look that finds it still over is");

  const w4 = new BacklogWatch<{ pendingBytes: number }>();
  t.same(sizes(w4.check([reader(10_000)], 0, 0)), [], "0: no limit");
  t.equal(w4.lagging, 0, "and nobody lags without a limit");
});

t.test("max clients fit under the open-file limit", async (t) => {
  t.equal(clientsWithinFdLimit(10_000, 20_000), 10_000, "a roomy limit keeps the setting");
  t.equal(clientsWithinFdLimit(10_000, 1024), 1024 - RESERVED_FDS, "a low limit lowers it");
  t.equal(clientsWithinFdLimit(10_000, null), 10_000, "unknown limit: unchanged");
  t.equal(clientsWithinFdLimit(10, 8), 1, "never below one");
});
