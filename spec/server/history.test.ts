// The room's log (lib/server/history.ts): numbering, the ring, resume and
// its counters, and ids.
import t from "tap";
import { EntryKind, type EntryContent, formatId, newEpoch, parseId } from "../../lib/chat/entry.ts";
import { MemberName } from "../../lib/chat/naming.ts";
import { RoomLog } from "../../lib/server/history.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const bob = new MemberName("bob", "127.0.0.1", 5555, "");
const content = (text: string): EntryContent => ({
  time: 1_764_072_000_000,
  kind: EntryKind.LINE,
  sender: bob,
  text: enc(text),
  newName: "",
});
const texts = (entries: { text: Uint8Array }[]) => entries.map((e) => new TextDecoder().decode(e.text));

t.test("append numbers 1, 2, 3...; the ring keeps the newest `capacity`, oldest first, growing as it fills", async (t) => {
  const log = new RoomLog(2000, "ep");
  for (let i = 1; i <= 2500; i++) log.append(content(`m${i}`));
  t.equal(log.lastSeq, 2500);
  t.equal(log.size, 2000);
  t.equal(log.oldestSeq, 501, "the oldest 500 are gone");
  t.same(texts(log.latest(3)), ["m2498", "m2499", "m2500"]);
  t.same(texts(log.latest(5000)).slice(0, 2), ["m501", "m502"], "asking for more gives what is kept");
  t.equal(log.lastId, "ep:2500");
});

t.test("an entry is data: kind, sender, new name and time kept as given, the text copied into the log", async (t) => {
  const log = new RoomLog(10, "ep");
  const said = enc("hi");
  const e = log.append({ ...content(""), text: said });
  said[0] = 0x23; // the caller's buffer (a socket's chunk) is reused
  t.same(texts([e]), ["hi"], "a copy: the caller's bytes may be reused");
  t.equal(e.sender, bob, "the same MemberName: a codec's prefix kept for it stays valid");
  const rob = bob.renamed("rob");
  const nick = log.append({ time: 5, kind: EntryKind.NICK, sender: bob, text: new Uint8Array(0), newName: "rob" });
  t.same([nick.seq, nick.time, nick.kind, nick.newName, nick.text.length], [2, 5, EntryKind.NICK, "rob", 0]);
  const notice = log.append({ time: 6, kind: EntryKind.NOTICE, sender: null, text: enc("Server is shutting down"), newName: "" });
  t.equal(notice.sender, null, "the server's own: no sender");
  log.insert({ seq: 4, time: 7, kind: EntryKind.ACTION, sender: rob, text: enc("waves"), newName: "" });
  t.same(
    log.latest(10).map((x) => [x.seq, x.kind, x.sender?.shown(false) ?? null]),
    [
      [1, EntryKind.LINE, "bob"],
      [2, EntryKind.NICK, "bob"],
      [3, EntryKind.NOTICE, null],
      [4, EntryKind.ACTION, "rob"],
    ],
  );
  t.same(texts(log.latest(10)), ["hi", "", "Server is shutting down", "waves"]);
});

t.test("since: complete when the oldest kept is at most the id + 1, a quiet client included; counted", async (t) => {
  const log = new RoomLog(3, "ep");
  for (let i = 1; i <= 5; i++) log.append(content(`m${i}`));
  // kept: 3, 4, 5
  const quiet = log.since("ep", 2);
  t.same([texts(quiet.entries), quiet.missed, quiet.reset], [["m3", "m4", "m5"], 0, false], "id 2 left the ring, but nothing after it did");
  const gap = log.since("ep", 0);
  t.same([texts(gap.entries), gap.missed], [["m3", "m4", "m5"], 2], "entries 1 and 2 are missed");
  const upToDate = log.since("ep", 5);
  t.same([upToDate.entries.length, upToDate.missed], [0, 0], "nothing new");
  const other = log.since("old", 5);
  t.same([texts(other.entries), other.reset], [["m3", "m4", "m5"], true], "another epoch: everything kept, reset");
  const future = log.since("ep", 9);
  t.equal(future.reset, true, "an id past the newest is from another life of the log");
  t.same(log.resumes, { complete: 2, gaps: 3, missed: 2 });
});

t.test("insert: entries numbered elsewhere; a jump drops what is older, so the ring never holds a gap", async (t) => {
  const log = new RoomLog(10, "ep");
  for (const seq of [1, 2, 3]) log.insert({ ...content(`m${seq}`), seq });
  log.insert({ ...content("m2 again"), seq: 2 });
  t.equal(log.size, 3, "an entry already seen is ignored");
  log.insert({ ...content("m7"), seq: 7 });
  t.same([log.oldestSeq, log.lastSeq, texts(log.latest(10))], [7, 7, ["m7"]]);
  const r = log.since("ep", 3);
  t.equal(r.missed, 3, "4, 5 and 6 were never here: a resume from 3 misses them");
  log.reset("ep2", 40);
  t.same([log.epoch, log.lastSeq, log.size], ["ep2", 40, 0], "reset: another epoch, empty");
  t.equal(log.append(content("x")).seq, 41);
});

t.test("takeUnsaved hands each entry to the store once; restore loads a store's entries", async (t) => {
  const log = new RoomLog(5, "ep");
  log.append(content("a"));
  log.append(content("b"));
  t.same(texts(log.takeUnsaved()), ["a", "b"]);
  t.same(log.takeUnsaved(), [], "nothing twice");
  const other = new RoomLog(5);
  other.restore("ep", [
    { ...content("a"), seq: 8 },
    { ...content("b"), seq: 9 },
  ]);
  t.same(
    [other.epoch, other.oldestSeq, other.lastSeq, other.takeUnsaved().length],
    ["ep", 8, 9, 0],
    "restored entries are not written back",
  );
  t.equal(other.append(content("c")).seq, 10, "numbering goes on");
});

t.test("capacity 0 keeps nothing but still numbers", async (t) => {
  const log = new RoomLog(0, "ep");
  log.append(content("a"));
  t.same([log.size, log.lastSeq, log.latest(5).length], [0, 1, 0]);
  t.same(log.since("ep", 0).missed, 1);
});

t.test("ids: EPOCH:SEQ, parsed strictly; new epochs differ", async (t) => {
  t.equal(formatId("lq3k9z0a1b", 42), "lq3k9z0a1b:42");
  t.same(parseId("lq3k9z0a1b:42"), { epoch: "lq3k9z0a1b", seq: 42 });
  for (const bad of ["", "x", ":1", "ab:", "ab:-1", "ab:1.5", "AB:1", "a b:1", `${"a".repeat(33)}:1`, "ab:1234567890123456"]) {
    t.equal(parseId(bad), null, `refused: ${JSON.stringify(bad)}`);
  }
  t.not(
    newEpoch(1000, () => 0.1),
    newEpoch(1000, () => 0.2),
    "same millisecond, different epochs",
  );
  t.ok(parseId(formatId(newEpoch(), 1)), "a new epoch makes a valid id");
});

/** A text of `size` bytes that says which entry it is, so that reused bytes show. */
function sized(n: number, size: number): EntryContent {
  const tag = `${n}:`;
  return { ...content(""), text: enc(tag + String.fromCharCode(97 + (n % 26)).repeat(Math.max(0, size - tag.length))) };
}

/** Deterministic pseudo-random numbers (an LCG), so a failure can be replayed. */
function lcg(seed: number): (below: number) => number {
  let x = seed >>> 0;
  return (below) => {
    x = (Math.imul(x, 1_664_525) + 1_013_904_223) >>> 0;
    return x % below;
  };
}

t.test("the byte ring: grows from small only as needed, keeps lines intact, and never reuses a tick's bytes", async (t) => {
  for (const [seed, capacity, maxBytes] of [
    [1, 1000, 8 * 1024 * 1024],
    [2, 50, 256 * 1024],
    [3, 3, 64 * 1024],
    [4, 400, 96 * 1024],
  ] as const) {
    const random = lcg(seed);
    const log = new RoomLog(capacity, "ep", maxBytes);
    const model: string[] = [];
    const decode = (e: { text: Uint8Array }) => new TextDecoder().decode(e.text);
    let wrong = 0;
    for (let tick = 0; tick < 300; tick++) {
      const said: string[] = [];
      // Mostly short lines, now and then a long one; some ticks far bigger than the ring.
      const lines = random(10) === 0 ? 400 + random(400) : random(20);
      for (let i = 0; i < lines; i++) {
        const size = random(50) === 0 ? 2000 + random(14_000) : 20 + random(100);
        const entry = log.append(sized(model.length + said.length + 1, size));
        said.push(decode(entry));
      }
      model.push(...said);
      // What the store gets at the end of the tick is what was said, byte for byte.
      if (log.takeUnsaved().map(decode).join("\n") !== said.join("\n")) wrong++;
      const kept = log.latest(log.size).map(decode);
      if (kept.join("\n") !== model.slice(model.length - kept.length).join("\n")) wrong++;
    }
    const keptBytes = log.latest(log.size).reduce((sum, e) => sum + e.text.length, 0);
    t.equal(wrong, 0, `seed ${seed}: every tick's entries and every kept line intact`);
    t.ok(log.size <= capacity && keptBytes <= maxBytes, `seed ${seed}: within both bounds (${log.size} entries, ${keptBytes} bytes)`);
    t.ok(log.bytesAllocated <= maxBytes, `seed ${seed}: ${log.bytesAllocated} bytes allocated`);
  }
});

t.test("the byte ring starts small; a room of short lines never needs the largest size", async (t) => {
  const log = new RoomLog(1000, "ep");
  t.equal(log.bytesAllocated, 0, "nothing before the first entry");
  for (let i = 1; i <= 10_000; i++) {
    log.append(sized(i, 60));
    if (i % 10 === 0) log.takeUnsaved();
  }
  t.equal(log.size, 1000, "bounded by count");
  t.ok(log.bytesAllocated <= 256 * 1024, `1000 lines of 60 bytes: ${log.bytesAllocated} bytes allocated, not 8 MiB`);
  const big = new RoomLog(1000, "ep", 1024 * 1024);
  for (let i = 1; i <= 2000; i++) {
    big.append(sized(i, 4000));
    big.takeUnsaved();
  }
  t.equal(big.bytesAllocated, 1024 * 1024, "long lines: the ring grows to its largest size");
  t.ok(big.size < 1000 && big.size >= 200, `and the byte bound keeps the newest that fit (${big.size} of 4000 bytes)`);
  t.same(new TextDecoder().decode(big.latest(1)[0]!.text).split(":")[0], "2000", "the newest is kept");
});

t.test("maxAgeMs: entries past the age go as new ones come and when the log is read; a resume counts them as missed", async (t) => {
  const t0 = 1_764_072_000_000;
  const log = new RoomLog(100, "ep");
  log.maxAgeMs = 60_000;
  let clock = t0;
  log.now = () => clock;
  for (const [i, dt] of [0, 10_000, 50_000, 70_000].entries()) log.append({ ...content(`m${i + 1}`), time: t0 + dt });
  t.same([log.size, log.oldestSeq], [3, 2], "the entry 70 s older than the newest went as it came; one of 60 s stays");
  clock = t0 + 115_000;
  t.same(texts(log.latest(10)), ["m4"], "read at +115 s: only what is under a minute old");
  const gap = log.since("ep", 1);
  t.same([texts(gap.entries), gap.missed], [["m4"], 2], "entries 2 and 3 aged out: missed");
  t.same(log.since("ep", 3).missed, 0, "from id 3 nothing is missing");
});
