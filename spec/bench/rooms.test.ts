// The rooms scenarios' pieces without a server: the room tag a message
// carries and the scan that reads it back, the layout of clients in rooms,
// and the accounting of deliveries within rooms.
import t from "tap";
import { formatMessage, type Parsed, scanChunk } from "../../bench/message.ts";
import { RoomLayout, RoomsAccounting } from "../../bench/scenarios/rooms.ts";

t.test("a message tagged with its room is as long as any, and the scan reads the tag only when asked", async (t) => {
  const tagged = formatMessage(4, 17, 2, 123456, 64, 7);
  t.equal(tagged.length, 64, "the size holds with the tag");
  t.match(tagged, /^~b 4 17 2 123456 7 x+\n$/);
  t.equal(formatMessage(4, 17, 2, 123456, 64), `~b 4 17 2 123456 ${"x".repeat(64 - 17 - 1)}\n`, "untagged as before");
  const text = `<127.0.0.1:5001> ${tagged}Client (127.0.0.1, 9) joined\n${formatMessage(4, 3, 0, 9, 64, 12)}`;
  const seen: Parsed[] = [];
  const out: Parsed = { phase: 0, sender: 0, seq: 0, tUs: 0, room: -1 };
  scanChunk(Buffer.from(text), out, (message) => seen.push({ ...message }), false, 64, false, "connected", true);
  t.same(
    seen.map((m) => [m.phase, m.sender, m.seq, m.room]),
    [
      [4, 17, 2, 7],
      [4, 3, 0, 12],
    ],
  );
  const plain: Parsed[] = [];
  scanChunk(Buffer.from(text), { phase: 0, sender: 0, seq: 0, tUs: 0, room: -1 }, (m) => plain.push({ ...m }), false, 64, false);
  t.same(
    plain.map((m) => m.room),
    [-1, -1],
    "without withRoom the tag is not read",
  );
});

t.test("the layout: client i is in room i % R, the (i / R)-th member; a sender's observer is the next member", async (t) => {
  const layout = new RoomLayout(3, 4, 2);
  t.equal(layout.clients, 12);
  t.same(
    [0, 1, 2, 3, 4, 11].map((i) => [layout.roomOf(i), layout.slotOf(i)]),
    [
      [0, 0],
      [1, 0],
      [2, 0],
      [0, 1],
      [1, 1],
      [2, 3],
    ],
  );
  t.same([layout.next(0), layout.next(4), layout.next(10)], [3, 7, 1], "after the last member: the first");
  t.same([...layout.table()], [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
});

t.test("deliveries within rooms: each line is due to the other members of its room, nobody else", async (t) => {
  const layout = new RoomLayout(2, 3, 1); // senders: clients 0 (room 0) and 1 (room 1)
  const acc = new RoomsAccounting(layout);
  for (let seq = 0; seq < 3; seq++) acc.recordSent(0);
  acc.recordSent(1);
  // room 0 is clients 0, 2, 4; room 1 is 1, 3, 5
  for (const receiver of [2, 4]) for (const seq of [0, 1, 2]) acc.deliver(receiver, 0, seq, 10);
  acc.deliver(3, 1, 0, 10);
  t.same(acc.totals(), { sent: 4, expected: 8, delivered: 7, lost: 1, duplicates: 0, orderViolations: 0, foreign: 0 });
  t.equal(acc.highestSeen(2, 0), 2);
  t.equal(acc.highestSeen(5, 1), -1, "client 5 has not had client 1's line yet");
  acc.deliver(3, 0, 0, 10);
  t.equal(acc.totals().foreign, 1, "a line of room 0 at a member of room 1 is no delivery");
  acc.deliver(2, 0, 1, 10);
  t.equal(acc.totals().duplicates, 1);
  acc.deliver(5, 1, 0, 10);
  t.same(acc.totals(), { sent: 4, expected: 8, delivered: 8, lost: 0, duplicates: 1, orderViolations: 0, foreign: 1 });
  const gaps = new RoomsAccounting(layout);
  for (let seq = 0; seq < 3; seq++) gaps.recordSent(0);
  gaps.deliver(2, 0, 0, 1);
  gaps.deliver(2, 0, 2, 1);
  gaps.deliver(2, 0, 1, 1);
  t.equal(gaps.totals().orderViolations, 1, "a gap filled late is out of order, not lost");
  t.equal(gaps.latency.count, 3, "one latency sample per delivery");
});
