// Reactor timers (lib/reactor/timers.ts, Reactor.setTimer/rearm): a
// cancelled timer leaves the heap at once and a re-armed one moves in place,
// so a timeout pushed back on every message (the dispatcher's tail timer)
// never grows the heap. Time is the test's: a queue with explicit deadlines,
// and a reactor on a backend whose clock moves only while it sleeps.
import t from "tap";
import type { Backend } from "../../lib/reactor/backend.ts";
import { Reactor, ReactorError } from "../../lib/reactor/reactor.ts";
import { type Timer, TimerQueue } from "../../lib/reactor/timers.ts";

/** A backend with a clock and nothing else: a poll with a timeout lets that much time pass. */
class ClockBackend implements Backend {
  readonly name = "clock";
  clock = 0;
  now(): number {
    return this.clock;
  }
  async poll(timeoutMs: number): Promise<void> {
    if (timeoutMs === Infinity) throw new Error("would sleep for ever");
    this.clock += timeoutMs;
  }
  wakeup(): void {}
  listen(): never {
    throw new Error("not used");
  }
  connect(): never {
    throw new Error("not used");
  }
  stdin(): never {
    throw new Error("not used");
  }
}

t.test("cancel() takes a timer out of the heap at once", async (t) => {
  const q = new TimerQueue();
  const timers = Array.from({ length: 1000 }, (_, i) => q.add(1000 + i, () => {}));
  t.equal(q.size, 1000);
  for (const timer of timers) timer.cancel();
  t.equal(q.size, 0, "nothing waits for its deadline to be dropped");
  t.equal(q.nextDeadline(), Infinity);
  timers[0]!.cancel();
  t.equal(q.size, 0, "cancel() is idempotent");
});

t.test("cancel and set again on every message (what armTail did) keeps one timer in the heap", async (t) => {
  const { reactor } = setupReactor();
  let timer: Timer | null = null;
  for (let i = 0; i < 10_000; i++) {
    timer?.cancel();
    timer = reactor.setTimer(100, () => {});
  }
  t.equal(reactor.timerCount, 1, "cancelled timers are not kept until their deadline");
});

t.test("rearm() moves a timer in place: one object, one entry, the latest deadline", async (t) => {
  const { reactor, backend } = setupReactor();
  let runs = 0;
  const timer = reactor.setTimer(100, () => runs++);
  for (let i = 0; i < 10_000; i++) {
    backend.clock += 1;
    reactor.rearm(timer, 100);
    if (reactor.timerCount !== 1) break;
  }
  t.equal(reactor.timerCount, 1, "re-arming never grows the heap");
  t.equal(timer.deadline, 10_100, "due 100 ms after the last re-arm");
  await reactor.select(99);
  t.equal(runs, 0, "not before its new deadline");
  await reactor.select(1000);
  t.equal(runs, 1, "then once");
  t.equal(reactor.timerCount, 0);
  t.notOk(timer.pending);
  reactor.rearm(timer, 10);
  t.ok(timer.pending, "a fired timer can be armed again");
  await reactor.select(1000);
  t.equal(runs, 2, "and fires again");
  timer.cancel();
  reactor.rearm(timer, 10);
  await reactor.select(1000);
  t.equal(runs, 3, "so can a cancelled one");
});

t.test("rearm() keeps the order: earlier deadlines first, equal ones in the order set", async (t) => {
  const { reactor } = setupReactor();
  const fired: string[] = [];
  const a = reactor.setTimer(10, () => fired.push("a"));
  reactor.setTimer(20, () => fired.push("b"));
  const c = reactor.setTimer(30, () => fired.push("c"));
  reactor.rearm(a, 40); // a moves after c
  reactor.rearm(c, 20); // c now ties with b, set later
  await reactor.select(1000);
  t.same(fired, ["b", "c"], "b and c at 20, b first: c was re-armed after b was set");
  await reactor.select(1000);
  t.same(fired, ["b", "c", "a"]);
});

t.test("rearm() of another reactor's timer is refused", async (t) => {
  const one = setupReactor().reactor;
  const other = setupReactor().reactor;
  const timer = one.setTimer(10, () => {});
  t.throws(() => other.rearm(timer, 10), ReactorError);
  t.equal(other.timerCount, 0);
});

t.test("the heap stays a heap under any mix of add, cancel and reschedule", async (t) => {
  // A seeded generator: the same sequence every run.
  let seed = 12345;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const q = new TimerQueue();
  const live = new Map<Timer, string>();
  const all: Timer[] = [];
  let now = 0;
  let mismatches = 0;
  for (let step = 0; step < 20_000; step++) {
    const op = random(10);
    if (op < 4 || all.length === 0) {
      const label = `t${step}`;
      const timer = q.add(now + random(1000), () => {});
      all.push(timer);
      live.set(timer, label);
    } else if (op < 6) {
      const timer = all[random(all.length)]!;
      timer.cancel();
      live.delete(timer);
    } else if (op < 9) {
      const timer = all[random(all.length)]!;
      q.schedule(timer, now + random(1000));
      live.set(timer, `r${step}`);
    } else {
      now += random(200);
      // Everything due must come out earliest first, and only what is live.
      let last = -Infinity;
      for (let timer = q.popDue(now); timer; timer = q.popDue(now)) {
        if (timer.deadline < last || timer.deadline > now || !live.has(timer)) mismatches++;
        last = timer.deadline;
        live.delete(timer);
      }
    }
    if (q.size !== live.size) mismatches++;
  }
  t.equal(mismatches, 0, "popDue gives live timers in deadline order, and size counts exactly the live ones");
  let left = 0;
  while (q.popDue(Infinity)) left++;
  t.equal(left, live.size, "what is left is what is live");
});

function setupReactor() {
  const backend = new ClockBackend();
  const reactor = new Reactor<string>(backend);
  return { backend, reactor };
}
