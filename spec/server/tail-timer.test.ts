// The tail timer of a client that trickles a line a byte at a time: one
// timer, pushed back in place on every chunk, so the reactor's timer heap
// does not grow with the bytes (the dispatcher used to cancel it and set a
// new one per chunk, and cancelled timers waited in the heap until their
// deadline: thousands of trickling clients kept thousands alive). --tail-ms
// is a minute here, so the timer never fires during the test: nothing
// depends on timing; each byte is waited for through the server's ticks.
import t from "tap";
import { startInProcess } from "../support/in-process-server.ts";
import { LineClient } from "../support/line-client.ts";

const BYTES = 300;

t.test("a line trickled a byte at a time keeps one tail timer, re-armed in place", async (t) => {
  const { reactor, port, ticks, sessionOf } = await startInProcess(t, { tailMs: 60_000 });
  const [watcher, sender] = (await LineClient.connectAll(port, 2)) as [LineClient, LineClient];
  const peer = sessionOf(sender)!;
  const took = (n: number) => ticks.until(() => peer.framer.pending === n, `the server to hold ${n} bytes of the tail`, 10_000);

  sender.send("x");
  await took(1);
  const timer = peer.tailTimer;
  t.ok(timer?.pending, "the first byte arms the tail timer");
  // The watcher's presence timer may fire meanwhile: the count can only go down.
  const timers = reactor.timerCount;
  let most = timers;
  let same = true;
  for (let n = 2; n <= BYTES; n++) {
    sender.send("x");
    await took(n);
    most = Math.max(most, reactor.timerCount);
    same &&= peer.tailTimer === timer;
  }
  t.ok(most <= timers, `the reactor's timers stay at ${timers} or fewer over ${BYTES} chunks (most: ${most})`);
  t.ok(same, "the session keeps the same Timer object throughout");
  t.ok(timer!.pending, "and it is still pending");

  sender.send("\n");
  await watcher.waitFor(`${sender.from} ${"x".repeat(BYTES)}\n`);
  t.pass("the newline delivers the whole line");
  t.notOk(timer!.pending, "with no tail left the timer is cancelled (out of the heap)");
  t.ok(reactor.timerCount < timers, "so the reactor holds one timer fewer");
  watcher.end();
  sender.end();
});
