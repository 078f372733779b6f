// Unit tests of the pure-TS parts of the harness (run under Node).
import t from "tap";
import { Accounting } from "../../bench/accounting.ts";
import { bucketIndex, bucketRange, Histogram } from "../../bench/histogram.ts";
import { formatMessage, scanChunk, type Parsed } from "../../bench/message.ts";

t.test("clean delivery: counts add up", async (t) => {
  const acc = new Accounting(3, 2); // clients 0,1 send; 0,1,2 receive
  for (let seq = 0; seq < 5; seq++)
    for (const sender of [0, 1]) {
      acc.recordSent(sender);
      for (let receiver = 0; receiver < 3; receiver++) if (receiver !== sender) acc.deliver(receiver, sender, seq, 100);
    }
  const totals = acc.totals();
  t.equal(totals.sent, 10);
  t.equal(totals.expected, 20);
  t.equal(totals.delivered, 20);
  t.equal(totals.lost, 0);
  t.equal(totals.duplicates, 0);
  t.equal(totals.orderViolations, 0);
  t.equal(acc.latency.count, 20);
  t.equal(acc.highestSeen(2, 1), 4);
});

t.test("a dropped message is lost", async (t) => {
  const acc = new Accounting(2, 1);
  for (let seq = 0; seq < 4; seq++) {
    acc.recordSent(0);
    if (seq !== 2) acc.deliver(1, 0, seq, 1);
  }
  const totals = acc.totals();
  t.equal(totals.lost, 1);
  t.equal(totals.delivered, 3);
  t.equal(totals.orderViolations, 0);
});

t.test("a late message is an order violation, not a loss", async (t) => {
  const acc = new Accounting(2, 1);
  for (let i = 0; i < 3; i++) acc.recordSent(0);
  acc.deliver(1, 0, 0, 1);
  acc.deliver(1, 0, 2, 1);
  acc.deliver(1, 0, 1, 1);
  const totals = acc.totals();
  t.equal(totals.orderViolations, 1);
  t.equal(totals.lost, 0);
  t.equal(totals.duplicates, 0);
});

t.test("a repeated message is a duplicate", async (t) => {
  const acc = new Accounting(2, 1);
  acc.recordSent(0);
  acc.recordSent(0);
  acc.deliver(1, 0, 0, 1);
  acc.deliver(1, 0, 1, 1);
  acc.deliver(1, 0, 1, 1);
  acc.deliver(1, 0, 0, 1);
  const totals = acc.totals();
  t.equal(totals.duplicates, 2);
  t.equal(totals.delivered, 2);
  t.equal(totals.lost, 0);
  t.equal(totals.orderViolations, 0);
});

t.test("unknown senders are foreign, not deliveries", async (t) => {
  const acc = new Accounting(2, 1);
  acc.deliver(1, 5, 0, 1);
  t.equal(acc.totals().foreign, 1);
  t.equal(acc.totals().delivered, 0);
});

t.test("histogram buckets are contiguous and tight", async (t) => {
  let prevHigh = -1;
  for (let i = 0; i < 64 + 20 * 32; i++) {
    const [lo, hi] = bucketRange(i);
    t.equal(lo, prevHigh + 1, `bucket ${i} starts where ${i - 1} ended`);
    if (lo >= 64) t.ok((hi - lo + 1) / lo <= 1 / 32 + 1e-9, "relative width <= 1/32");
    prevHigh = hi;
    if (bucketIndex(lo) !== i || bucketIndex(hi) !== i) t.fail(`value range of bucket ${i} maps back`);
  }
});

t.test("percentiles on known data", async (t) => {
  const small = new Histogram();
  for (let value = 1; value <= 50; value++) small.record(value); // exact range
  t.equal(small.percentile(50), 25);
  t.equal(small.percentile(90), 45);
  t.equal(small.percentile(100), 50);
  t.equal(small.min, 1);

  const big = new Histogram();
  for (let value = 1; value <= 100_000; value++) big.record(value);
  for (const [p, want] of [
    [50, 50_000],
    [90, 90_000],
    [99, 99_000],
    [99.9, 99_900],
  ] as const) {
    const got = big.percentile(p);
    t.ok(got >= want && got <= want * (1 + 1 / 32), `p${p}=${got} within one bucket above ${want}`);
  }
  t.equal(big.percentile(100), 100_000);
  t.equal(big.summary().max, 100_000);
  t.equal(Math.round(big.summary().mean), 50_001);

  const merged = new Histogram();
  merged.merge(small);
  merged.merge(big);
  t.equal(merged.count, 100_050);
  t.equal(merged.min, 1);
});

t.test("message format and scanning survive prefixes and split lines", async (t) => {
  const m1 = formatMessage(3, 7, 42, 123456, 64);
  t.equal(m1.length, 64);
  const text = `Client (127.0.0.1, 5000) connected\n<127.0.0.1:5001> ${m1}${formatMessage(3, 1, 0, 9, 64)}Client (1.2.3.4, 1) connected\r\npartial ~b 3`;
  const buf = Buffer.from(text);
  const seen: Parsed[] = [];
  const out: Parsed = { phase: 0, sender: 0, seq: 0, tUs: 0 };
  const scan = scanChunk(buf, out, (message) => seen.push({ ...message }));
  t.same(seen, [
    { phase: 3, sender: 7, seq: 42, tUs: 123456 },
    { phase: 3, sender: 1, seq: 0, tUs: 9 },
  ]);
  t.equal(scan.joins, 2);
  t.equal(buf.subarray(scan.consumed).toString(), "partial ~b 3");
});
