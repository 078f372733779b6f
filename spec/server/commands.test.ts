// Unit tests of the server's commands (lib/server/commands.ts) on the real
// room service without sockets: what they cost against the rate limit,
// that /who's answer is one shared list built once per change of the room
// (members of other servers included), and that replies stop (with one
// error) while the asker has too much output waiting.
import t from "tap";
import { EntryKind } from "../../lib/chat/entry.ts";
import { MemberName } from "../../lib/chat/naming.ts";
import { EventsCodec } from "../../lib/codecs/events.ts";
import { commandCost, parseHistoryRequest, REPLIES_REFUSED, REPLY_SHARE, WHO_MEMBERS_PER_TOKEN } from "../../lib/server/commands.ts";
import { ClientLimits, defaultLimits, LineVerdict } from "../../lib/server/limits.ts";
import { TimerQueue } from "../../lib/reactor/timers.ts";
import { CommandHarness } from "../support/command-host.ts";

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
  const host = new CommandHarness();
  const [a, b, c] = [host.join(), host.join(), host.join()];
  host.run(a!, "/nick ann");
  host.drain();
  host.run(b!, "/who");
  host.run(a!, "/who");
  const [an, bn, cn] = [a!, b!, c!].map((p) => p.name.address);
  t.equal(host.received(b!), `Online (3): ann (${an}), ${bn} (you), ${cn}\n`, "by address, or nickname and address");
  t.equal(host.received(a!), `Online (3): ann (${an}) (you), ${bn}, ${cn}\n`);
  const [bHead, , bTail] = host.sent.get(b!)!;
  const [aHead, , aTail] = host.sent.get(a!)!;
  t.equal(bHead!.buffer, aHead!.buffer, "both answers are views of one buffer");
  t.equal(bTail!.buffer, aTail!.buffer);
  host.run(c!, "/who");
  t.equal(host.received(c!), `Online (3): ann (${an}), ${bn}, ${cn} (you)\n`, "the last member: ' (you)' before the newline");
});

t.test("/who: the list is built again after a join, a leave and a rename, and only then", async (t) => {
  const host = new CommandHarness();
  const a = host.join();
  const b = host.join();
  const whoBuffer = (peer = a) => {
    host.drain();
    host.run(peer, "/who");
    return host.sent.get(peer)![0]!.buffer;
  };
  const first = whoBuffer();
  t.equal(whoBuffer(b), first, "no change: the same list");
  const c = host.join();
  const afterJoin = whoBuffer();
  t.not(afterJoin, first, "rebuilt after a join");
  t.match(host.received(a), `, ${c.name.address}\n`);
  host.leave(b);
  const afterLeave = whoBuffer();
  t.not(afterLeave, afterJoin, "rebuilt after a leave");
  t.match(host.received(a), /^Online \(2\): /);
  t.notMatch(host.received(a), b.name.address);
  host.run(c, "/nick cat");
  whoBuffer();
  t.match(host.received(a), `cat (${c.name.address})`, "rebuilt after a rename");
  // A leave and a join in between: same size, different members.
  host.leave(c);
  const d = host.join();
  whoBuffer();
  t.match(host.received(a), d.name.address, "a member who replaced another is listed");
  t.notMatch(host.received(a), c.name.address);
});

t.test("replies stop while the asker's queued output is over its share of --max-outbound: one error per run", async (t) => {
  const host = new CommandHarness(40_000);
  const asker = host.join();
  for (let i = 0; i < 200; i++) host.join(); // a list of about 4.5 KB
  host.drain(); // the join notices were read
  for (let i = 0; i < 100; i++) host.run(asker, "/who");
  const got = host.received(asker);
  const answers = got.split("Online (201)").length - 1;
  t.ok(answers >= 1 && answers < 5, `${answers} answers fit in ${40_000 / REPLY_SHARE} bytes`);
  t.equal(got.split(REPLIES_REFUSED).length - 1, 1, "told once that replies are refused");
  t.ok(
    asker.key.pendingBytes <= 40_000 / REPLY_SHARE + REPLIES_REFUSED.length + 1,
    "the queue stays within the share (plus the one error)",
  );
  host.fill(asker, 40_000 / REPLY_SHARE); // what the room said meanwhile
  const before = asker.key.pendingBytes;
  host.run(asker, "/help");
  host.run(asker, "/bogus");
  host.run(asker, "/nick bob");
  t.equal(asker.key.pendingBytes, before, "other replies are refused too, silently");
  t.equal(asker.name.nick, null, "a refused /nick does not rename");
  host.drain(); // the client read its output
  host.run(asker, "/who");
  t.match(host.received(asker), /^Online \(201\)/, "answered again once it has read");
  for (let i = 0; i < 100; i++) host.run(asker, "/who");
  t.equal(host.received(asker).split(REPLIES_REFUSED).length - 1, 1, "a new run of refusals is told once again");
});

t.test("with --max-outbound 0 replies are never refused", async (t) => {
  const host = new CommandHarness(0);
  const asker = host.join();
  for (let i = 0; i < 100; i++) host.join();
  host.drain();
  for (let i = 0; i < 50; i++) host.run(asker, "/who");
  t.equal(host.received(asker).split("Online (101)").length - 1, 50);
});

t.test("/me, //escape and /quit are not replies: never refused", async (t) => {
  const host = new CommandHarness(1000);
  const a = host.join();
  const b = host.join();
  host.drain();
  host.fill(a, 5000); // far over its share
  host.run(a, "/me waves");
  host.run(a, "//slash");
  t.equal(host.received(b), `* ${a.name.address} waves\n<${a.name.address}> /slash\n`, "the room heard both");
  t.equal(host.run(a, "/quit"), false, "/quit still quits");
  t.equal(a.rooms.size, 0, "in no room any more");
});

t.test("/who lists the members of other servers too, with their server, and agrees with the presence line", async (t) => {
  const host = new CommandHarness(defaultLimits.maxOutbound, "n1");
  const a = host.join();
  host.run(a, "/nick fay");
  const roster = host.service.defaultRoom.roster;
  const join = (sender: MemberName, seq: number) =>
    roster.note({ seq, time: 0, kind: EntryKind.JOIN, sender, text: new Uint8Array(0), newName: "" });
  join(new MemberName("erin", "10.0.0.2", 7, "n2"), 1);
  join(new MemberName(null, "10.0.0.3", 8, "n3"), 2);
  host.drain();
  host.run(a, "/who");
  t.equal(host.received(a), `Online (3): fay (${a.name.address}) (you), erin (on n2), 10.0.0.3:8@n3\n`);
  const b = host.join();
  host.service.tellPresence(host.service.defaultRoom, b);
  t.match(host.received(b), "In the room: fay, erin, 10.0.0.3:8@n3 (3 others)");
  roster.note({
    seq: 3,
    time: 0,
    kind: EntryKind.QUIT,
    sender: new MemberName("erin", "10.0.0.2", 7, "n2"),
    text: new Uint8Array(0),
    newName: "",
  });
  host.drain();
  host.run(a, "/who");
  t.equal(
    host.received(a),
    `Online (3): fay (${a.name.address}) (you), ${b.name.address}, 10.0.0.3:8@n3\n`,
    "rebuilt when the roster changed",
  );
});

t.test("/who to a web client is one reply event with the same list", async (t) => {
  const host = new CommandHarness();
  const a = host.join();
  const web = host.join(new EventsCodec(""));
  host.drain();
  host.run(web, "/who");
  t.same(JSON.parse(host.received(web)), { k: "reply", x: `Online (2): ${a.name.address}, ${web.name.address} (you)` });
});

t.test("/history's argument: one parser for its cost and its answer", async (t) => {
  t.same(parseHistoryRequest(""), { count: 50, since: null });
  t.same(parseHistoryRequest("7"), { count: 7, since: null });
  t.same(parseHistoryRequest("99999"), { count: 1000, since: null }, "at most 1000");
  t.same(parseHistoryRequest("since ab12:9"), { count: 1000, since: { epoch: "ab12", seq: 9 } });
  t.match(parseHistoryRequest("since nope"), /nope is not an entry id/);
  t.match(parseHistoryRequest("7 8"), /usage/);
  t.equal(commandCost(enc("/history 7"), 0), 2, "a small replay: 1 + 7/100 rounded up");
  t.equal(commandCost(enc("/history since ab12:9"), 0), 11, "a resume may be the whole replay: 1 + 1000/100");
  t.equal(commandCost(enc("/history   7  "), 0), 2, "spaces as the answer's parser reads them");
  t.equal(commandCost(enc("/history 7 8"), 0), 1, "a line the command refuses costs one line");
});

t.test("a reply's size is counted in bytes, not UTF-16 units", async (t) => {
  // 40 000 / 4 = 10 000 bytes of replies; /nick's error about a name of 16 two-byte letters is longer in bytes than in units.
  const host = new CommandHarness(4 * 100);
  const a = host.join();
  host.drain();
  host.fill(a, 100 - 60);
  host.run(a, "/x" + "é".repeat(30)); // "Error: unknown command /xéé… (try /help)": 43 + 30 units, 43 + 60 bytes
  t.match(host.received(a), REPLIES_REFUSED, "refused: its bytes do not fit, though its length in units would");
});

t.test("/part without a name leaves the room the line was said in (a page names it), not the one joined last", async (t) => {
  const host = new CommandHarness();
  const web = host.join(new EventsCodec(""));
  host.run(web, "/join ops");
  host.run(web, "/join dev");
  t.same([...web.rooms.keys()], ["chat", "ops", "dev"]);
  host.runIn(web, "#ops", "/part");
  t.same([...web.rooms.keys()], ["chat", "dev"], "#ops left, #dev (joined last) kept");
  const line = host.join();
  host.run(line, "/join ops");
  host.run(line, "/part");
  t.same([...line.rooms.keys()], ["chat"], "a line client's /part still goes back to the room everyone starts in");
});
