// The descriptor budget (lib/reactor/descriptors.ts), pure code, in-process:
// leases up to the limit, refusals past it, and provisional leases (TLS
// handshakes in progress) given up oldest first to make room.
import t from "tap";
import { DescriptorBudget } from "../../lib/reactor/descriptors.ts";

t.test("leases up to the limit; past it acquire() refuses and counts it; a release frees one, once", async (t) => {
  const budget = new DescriptorBudget(2);
  const a = budget.acquire();
  const b = budget.acquire();
  t.ok(a && b, "two leases within a limit of two");
  t.equal(budget.acquire(), null, "a third is refused");
  t.equal(budget.refusals, 1, "the refusal is counted");
  t.equal(budget.used, 2, "two held");
  a!.release();
  a!.release();
  t.equal(budget.used, 1, "a lease released twice frees one descriptor");
  t.notOk(a!.isHeld, "and is no longer held");
  t.ok(budget.acquire(), "the freed descriptor can be leased again");
  t.equal(budget.peak, 2, "peak use is kept");
});

t.test("when the budget is exhausted, the oldest provisional lease is given up for the newcomer", async (t) => {
  const budget = new DescriptorBudget(3);
  const givenUp: string[] = [];
  const member = budget.acquire();
  const first = budget.acquire(() => givenUp.push("first"));
  const second = budget.acquire(() => givenUp.push("second"));
  t.equal(budget.pending, 2, "two provisional leases");
  const newcomer = budget.acquire(() => givenUp.push("newcomer"));
  t.ok(newcomer, "the newcomer gets a descriptor");
  t.same(givenUp, ["first"], "the oldest provisional lease was given up");
  t.notOk(first!.isHeld, "and released");
  t.equal(budget.sheds, 1, "one shed counted");
  t.equal(budget.refusals, 0, "no refusal");
  t.equal(budget.used, 3, "still three held");
  first!.release();
  t.equal(budget.used, 3, "its holder's own release afterwards changes nothing");

  second!.confirm();
  const another = budget.acquire(() => givenUp.push("another"));
  t.ok(another, "the next newcomer also gets one");
  t.same(givenUp, ["first", "newcomer"], "a confirmed lease is never given up: the oldest provisional one is");
  t.ok(member!.isHeld && second!.isHeld, "plain and confirmed leases are kept");

  another!.release();
  t.equal(budget.pending, 0, "a released provisional lease is no longer provisional");
  t.ok(budget.acquire(), "one more fits in its place");
  t.equal(budget.acquire(), null, "with nothing provisional left, a newcomer is refused");
  t.equal(budget.refusals, 1, "and counted");
});

t.test("under pressure once provisional leases hold more than half the budget", async (t) => {
  const budget = new DescriptorBudget(4);
  const leases = [budget.acquire(() => {}), budget.acquire(() => {})];
  t.notOk(budget.underPressure, "half is not more than half");
  leases.push(budget.acquire(() => {}));
  t.ok(budget.underPressure, "three of four is");
  for (const lease of leases) lease!.confirm();
  t.notOk(budget.underPressure, "confirmed leases are not pending");
});

t.test("without a limit nothing is refused", async (t) => {
  const budget = new DescriptorBudget(Infinity);
  for (let i = 0; i < 10_000; i++) budget.acquire(() => {});
  t.equal(budget.refusals + budget.sheds, 0, "ten thousand leases, none refused or shed");
  t.notOk(budget.underPressure, "and never under pressure");
});
