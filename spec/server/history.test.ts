// The room's log (lib/server/history.ts): numbering, the ring, resume and
// its counters, and ids.
import t from "tap";
import { EntryKind, type EntryContent, formatId, newEpoch, parseId } from "../../lib/chat/entry.ts";
import { RoomLog } from "../../lib/server/history.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const content = (text: string): EntryContent => ({
  time: 1_764_072_000_000,
  kind: EntryKind.LINE,
  sender: "bob",
  line: enc(`<bob> ${text}`),
  textStart: 6,
  newName: "",
  origin: "",
});
const texts = (entries: { line: Uint8Array }[]) => entries.map((e) => new TextDecoder().decode(e.line.subarray(6)));

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
