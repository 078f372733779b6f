// Unit tests of the server's commands (lib/server/commands.ts) on a fake
// host: what they cost against the rate limit, that /who's answer is one
// shared list built once per change of the room, and that replies stop
// (with one error) while the asker has too much output waiting.
import t from "tap";
import { commandCost, REPLIES_REFUSED, REPLY_SHARE, runCommand, WHO_MEMBERS_PER_TOKEN } from "../../lib/server/commands.ts";
import { ClientLimits, defaultLimits, LineVerdict } from "../../lib/server/limits.ts";
import { TimerQueue } from "../../lib/reactor/timers.ts";
import { FakeCommandHost, line } from "../support/command-host.ts";

const enc = (s: string) => new TextEncoder().encode(s);

t.test("commandCost: /who costs 1 + members/100 tokens, any other line 1", async (t) => {
  t.equal(WHO_MEMBERS_PER_TOKEN, 100);
  t.equal(commandCost(enc("/who"), 300), 4, "/who in a room of 300");
  t.equal(commandCost(enc("/WHO"), 3000), 31, "in any case");
  t.equal(commandCost(enc("/who everyone"), 99), 1, "with an argument, in a room under 100");
  for (const other of ["/whois", "//who", "/nick bob", "/me waves", "/help", "/x"]) {
    t.equal(commandCost(enc(other), 3000), 1, `${other} costs one line`);
  }
});

t.test("admitLine(cost): a costly command takes its tokens; one dearer than the burst still passes when the bucket is full", async (t) => {
  const clock = { now: () => 1000, setTimer: (ms: number, fn: () => void) => new TimerQueue().add(ms, fn) };
  const limits = new ClientLimits(clock, { ...defaultLimits, rate: 200, burst: 1000 }, () => {});
  let passed = 0;
  while (limits.admitLine(commandCost(enc("/who"), 300)) === LineVerdict.PASS) passed++;
  t.equal(passed, 250, "a burst of 1000 tokens is 250 /who in a room of 300");
  const dear = new ClientLimits(clock, { ...defaultLimits, rate: 200, burst: 10 }, () => {});
  t.equal(dear.admitLine(31), LineVerdict.PASS, "a /who dearer than the whole burst passes on a full bucket");
  t.equal(dear.admitLine(1), LineVerdict.DROP_AND_WARN, "and empties it");
});

t.test("/who: the same answer as before, as views of one shared list around ' (you)'", async (t) => {
  const host = new FakeCommandHost();
  const [a, b, c] = [host.join(), host.join(), host.join()];
  runCommand(host, a!, line("/nick ann"));
  host.drain();
  runCommand(host, b!, line("/who"));
  runCommand(host, a!, line("/who"));
  t.equal(host.received(b!), `Online (3): ann ${a!.name}, ${b!.name} (you), ${c!.name}\n`);
  t.equal(host.received(a!), `Online (3): ann ${a!.name} (you), ${b!.name}, ${c!.name}\n`);
  const [bHead, , bTail] = host.sent.get(b!)!;
  const [aHead, , aTail] = host.sent.get(a!)!;
  t.equal(bHead!.buffer, aHead!.buffer, "both answers are views of one buffer");
  t.equal(bTail!.buffer, aTail!.buffer);
  runCommand(host, c!, line("/who"));
  t.equal(host.received(c!), `Online (3): ann ${a!.name}, ${b!.name}, ${c!.name} (you)\n`, "the last member: ' (you)' before the newline");
});

t.test("/who: the list is built again after a join, a leave and a rename, and only then", async (t) => {
  const host = new FakeCommandHost();
  const a = host.join();
  const b = host.join();
  const whoBuffer = (peer = a) => {
    host.drain();
    runCommand(host, peer, line("/who"));
    return host.sent.get(peer)![0]!.buffer;
  };
  const first = whoBuffer();
  t.equal(whoBuffer(b), first, "no change: the same list");
  const c = host.join();
  const afterJoin = whoBuffer();
  t.not(afterJoin, first, "rebuilt after a join");
  t.match(host.received(a), `, ${c.name}\n`);
  host.leave(b);
  const afterLeave = whoBuffer();
  t.not(afterLeave, afterJoin, "rebuilt after a leave");
  t.match(host.received(a), /^Online \(2\): /);
  t.notMatch(host.received(a), b.name);
  runCommand(host, c, line("/nick cat"));
  whoBuffer();
  t.match(host.received(a), `cat ${c.name}`, "rebuilt after a rename");
  // A leave and a join in between: same size, different members.
  host.leave(c);
  const d = host.join();
  whoBuffer();
  t.match(host.received(a), d.name, "a member who replaced another is listed");
  t.notMatch(host.received(a), c.name);
});

t.test("replies stop while the asker's queued output is over its share of --max-outbound: one error per run", async (t) => {
  const host = new FakeCommandHost();
  host.maxOutbound = 40_000;
  const asker = host.join();
  for (let i = 0; i < 200; i++) host.join(); // a list of about 4.5 KB
  for (let i = 0; i < 100; i++) runCommand(host, asker, line("/who"));
  const got = host.received(asker);
  const answers = got.split("Online (201)").length - 1;
  t.ok(answers >= 1 && answers < 5, `${answers} answers fit in ${40_000 / REPLY_SHARE} bytes`);
  t.equal(got.split(REPLIES_REFUSED).length - 1, 1, "told once that replies are refused");
  t.ok(
    asker.key.pendingBytes <= 40_000 / REPLY_SHARE + REPLIES_REFUSED.length + 1,
    "the queue stays within the share (plus the one error)",
  );
  host.send(asker, new Uint8Array(40_000 / REPLY_SHARE)); // what the room said meanwhile
  const before = asker.key.pendingBytes;
  runCommand(host, asker, line("/help"));
  runCommand(host, asker, line("/bogus"));
  runCommand(host, asker, line("/nick bob"));
  t.equal(asker.key.pendingBytes, before, "other replies are refused too, silently");
  t.equal(asker.nick, null, "a refused /nick does not rename");
  host.drain(); // the client read its output
  runCommand(host, asker, line("/who"));
  t.match(host.received(asker), /^Online \(201\)/, "answered again once it has read");
  for (let i = 0; i < 100; i++) runCommand(host, asker, line("/who"));
  t.equal(host.received(asker).split(REPLIES_REFUSED).length - 1, 1, "a new run of refusals is told once again");
});

t.test("with --max-outbound 0 replies are never refused", async (t) => {
  const host = new FakeCommandHost();
  host.maxOutbound = 0;
  const asker = host.join();
  for (let i = 0; i < 100; i++) host.join();
  for (let i = 0; i < 50; i++) runCommand(host, asker, line("/who"));
  t.equal(host.received(asker).split("Online (101)").length - 1, 50);
});

t.test("/me, //escape and /quit are not replies: never refused", async (t) => {
  const host = new FakeCommandHost();
  host.maxOutbound = 1000;
  const a = host.join();
  host.join();
  host.send(a, new Uint8Array(5000)); // far over its share
  runCommand(host, a, line("/me waves"));
  runCommand(host, a, line("//slash"));
  t.same(host.said, [`* ${a.address} waves`, `<${a.address}> /slash`]);
  t.equal(runCommand(host, a, line("/quit")), false, "/quit still quits");
  t.notOk(a.member.joined);
});
