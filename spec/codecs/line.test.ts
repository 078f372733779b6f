// The line codec (lib/codecs/line.ts, LineCodec): the TCP wording of every
// kind of entry, the `/history` marks and answer, the presence line, and
// how members of this and other cluster nodes are named, live and replayed.
import t from "tap";
import { ByteBuilder } from "../../lib/bytes.ts";
import { EntryKind, type EntryContent } from "../../lib/chat/entry.ts";
import { LineFramer } from "../../lib/chat/framing.ts";
import { MemberName } from "../../lib/chat/naming.ts";
import { LineCodec } from "../../lib/codecs/line.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");
const NONE = new Uint8Array(0);
/** 2023-11-14T22:13:20.123Z */
const TIME = 1_700_000_000_123;

const content = (kind: EntryKind, sender: MemberName | null, text: string | Uint8Array = NONE, newName = ""): EntryContent => ({
  time: TIME,
  kind,
  sender,
  text: typeof text === "string" ? enc(text) : text,
  newName,
});
/** What `codec` sends for `e`, as text (latin1: bytes as they are). */
const words = (codec: LineCodec, e: EntryContent, id: string | null = null, replayed = false) => {
  const out = new ByteBuilder();
  codec.entry(out, "chat", e, id, replayed);
  return latin1(out.take());
};

const lone = new LineCodec("");
const n1 = new LineCodec("n1");
const bob = new MemberName("bob", "127.0.0.1", 5555, "");
const nickOf = (nick: string) => new MemberName(nick, "127.0.0.1", 5555, "n1");
const address = new MemberName(null, "127.0.0.1", 5555, "");

t.test("what the codec is: the seed's byte stream, unnumbered, no echo, a bare q quits", async (t) => {
  t.same([lone.name, lone.echo, lone.numbered, lone.rawStream, lone.bareQuit], ["line", false, false, true, true]);
  const framer = lone.newFramer(64);
  t.ok(framer instanceof LineFramer);
  t.equal(framer.maxLine, 64);
});

t.test("every kind of entry, one line each, in the seed's words", async (t) => {
  t.equal(words(lone, content(EntryKind.LINE, bob, "hi")), "<bob> hi\n");
  t.equal(words(lone, content(EntryKind.LINE, address, "hi")), "<127.0.0.1:5555> hi\n", "no nickname: the address");
  t.equal(words(lone, content(EntryKind.ACTION, bob, "waves")), "* bob waves\n");
  t.equal(words(lone, content(EntryKind.ACTION, address, "waves")), "* 127.0.0.1:5555 waves\n");
  t.equal(words(lone, content(EntryKind.JOIN, address)), "Client (127.0.0.1, 5555) connected\n");
  t.equal(words(lone, content(EntryKind.QUIT, address)), "Client (127.0.0.1, 5555) quits\n");
  t.equal(words(lone, content(EntryKind.QUIT, bob)), "bob quits\n");
  t.equal(words(lone, content(EntryKind.LEAVE, bob, "too slow")), "bob is offline (too slow)\n");
  t.equal(words(lone, content(EntryKind.LEAVE, address)), "Client (127.0.0.1, 5555) is offline\n", "no reason said");
  t.equal(words(lone, content(EntryKind.NICK, address, NONE, "bob")), "Client (127.0.0.1, 5555) is now bob\n");
  t.equal(words(lone, content(EntryKind.NICK, bob, NONE, "rob")), "bob is now rob\n");
  t.equal(words(lone, content(EntryKind.NOTICE, null, "Server is shutting down")), "Server is shutting down\n", "the server's own");
  const v6 = new MemberName(null, "::1", 7, "");
  t.equal(words(lone, content(EntryKind.LINE, v6, "hi")), "<[::1]:7> hi\n", "IPv6: the address bracketed");
  t.equal(
    words(lone, content(EntryKind.NICK, v6, NONE, "bob")),
    "Client (::1, 7) is now bob\n",
    "IPv6: the notice's tuple without brackets",
  );
  t.equal(lone.words(content(EntryKind.JOIN, address)), "Client (127.0.0.1, 5555) connected", "words: the notice without newline");
});

t.test("a member coming into the room or leaving it for another, the server staying", async (t) => {
  t.equal(words(lone, content(EntryKind.ENTER, bob)), "bob joined\n");
  t.equal(words(lone, content(EntryKind.ENTER, address)), "Client (127.0.0.1, 5555) joined\n");
  t.equal(words(lone, content(EntryKind.PART, bob, "rust")), "bob left for #rust\n", "the room it went to, with its #");
  t.equal(words(lone, content(EntryKind.PART, bob)), "bob left\n", "no room: it left for none (/part)");
  t.equal(words(lone, content(EntryKind.PART, address, "rust")), "Client (127.0.0.1, 5555) left for #rust\n");
  const there = new MemberName(null, "127.0.0.1", 5555, "n2");
  t.equal(words(n1, content(EntryKind.ENTER, there)), "Client (127.0.0.1, 5555)@n2 joined\n", "another node's: @NODE");
  t.equal(words(n1, content(EntryKind.PART, there, "go")), "Client (127.0.0.1, 5555)@n2 left for #go\n");
  const here = new MemberName(null, "127.0.0.1", 5555, "n1");
  t.equal(words(n1, content(EntryKind.ENTER, here)), "Client (127.0.0.1, 5555) joined\n");
  const mark = "[history ep:3 2023-11-14T22:13:20Z] ";
  t.equal(words(n1, content(EntryKind.ENTER, here), "ep:3", true), `${mark}Client (127.0.0.1, 5555)@n1 joined\n`, "replayed: @NODE");
  t.equal(words(n1, content(EntryKind.PART, here, "rust"), "ep:3", true), `${mark}Client (127.0.0.1, 5555)@n1 left for #rust\n`);
  t.equal(n1.words(content(EntryKind.PART, nickOf("carol"), "rust")), "carol left for #rust", "words: without newline");
});

t.test("a private message: the receiver reads `[private] <FROM> TEXT`; the sender gets nothing back", async (t) => {
  const ann = new MemberName("ann", "127.0.0.1", 6000, "n1");
  const pm = (from: MemberName, text: string | Uint8Array, action = false) => ({
    time: TIME,
    from,
    to: ann,
    action,
    text: typeof text === "string" ? enc(text) : text,
  });
  const got = (codec: LineCodec, m: ReturnType<typeof pm>) => {
    const bytes = codec.privateMessage(m, false);
    return bytes === null ? null : latin1(bytes);
  };
  t.equal(got(lone, pm(bob, "hi")), "[private] <bob> hi\n");
  t.equal(got(lone, pm(bob, "waves", true)), "[private] * bob waves\n", "a /me");
  t.equal(got(lone, pm(address, "hi")), "[private] <127.0.0.1:5555> hi\n", "no nickname: the address");
  const there = new MemberName(null, "127.0.0.1", 5555, "n2");
  t.equal(got(n1, pm(there, "hi")), "[private] <127.0.0.1:5555@n2> hi\n", "from another node: @NODE");
  t.equal(got(n1, pm(new MemberName(null, "127.0.0.1", 5555, "n1"), "hi")), "[private] <127.0.0.1:5555> hi\n", "from this node: as it is");
  const raw = Uint8Array.of(0xff, 0x0d, 0x00, 0xc3, 0x28);
  t.equal(got(lone, pm(bob, raw)), `[private] <bob> ${latin1(raw)}\n`, "the bytes unchanged");
  t.equal(lone.privateMessage(pm(bob, "hi"), true), null, "no echo: a line client's own lines never come back");
  t.equal(lone.privateMessage(pm(bob, "waves", true), true), null);
});

t.test("a message's bytes go out unchanged: invalid UTF-8, CR, NUL, an address in the text", async (t) => {
  const raw = Uint8Array.of(0xff, 0x0d, 0x00, 0xc3, 0x28, 0x1b, 0x5b, 0x47);
  t.equal(words(lone, content(EntryKind.LINE, bob, raw)), `<bob> ${latin1(raw)}\n`);
  t.equal(words(lone, content(EntryKind.ACTION, bob, raw)), `* bob ${latin1(raw)}\n`);
  const there = new MemberName(null, "127.0.0.1", 5555, "n2");
  t.equal(
    words(n1, content(EntryKind.LINE, there, "127.0.0.1:5555")),
    "<127.0.0.1:5555@n2> 127.0.0.1:5555\n",
    "the text is the sender's: not touched",
  );
});

t.test("@NODE only for members of other nodes, and only for addresses", async (t) => {
  const here = new MemberName(null, "127.0.0.1", 5555, "n1");
  const there = new MemberName(null, "127.0.0.1", 5555, "n2");
  t.equal(words(n1, content(EntryKind.LINE, here, "hi")), "<127.0.0.1:5555> hi\n", "this server's own member: as it is");
  t.equal(words(n1, content(EntryKind.LINE, there, "hi")), "<127.0.0.1:5555@n2> hi\n", "another server's address-named member");
  t.equal(words(n1, content(EntryKind.ACTION, there, "waves")), "* 127.0.0.1:5555@n2 waves\n");
  t.equal(words(n1, content(EntryKind.JOIN, there)), "Client (127.0.0.1, 5555)@n2 connected\n");
  t.equal(words(n1, content(EntryKind.JOIN, here)), "Client (127.0.0.1, 5555) connected\n");
  t.equal(words(n1, content(EntryKind.QUIT, there)), "Client (127.0.0.1, 5555)@n2 quits\n");
  t.equal(words(n1, content(EntryKind.LEAVE, there, "too slow")), "Client (127.0.0.1, 5555)@n2 is offline (too slow)\n");
  t.equal(words(n1, content(EntryKind.NICK, there, NONE, "bob")), "Client (127.0.0.1, 5555)@n2 is now bob\n");
  t.equal(
    words(n1, content(EntryKind.NICK, new MemberName(null, "::1", 7, "n2"), NONE, "bob")),
    "Client (::1, 7)@n2 is now bob\n",
    "IPv6: the notice's tuple has no brackets",
  );
  t.equal(words(n1, content(EntryKind.LINE, new MemberName(null, "::1", 7, "n2"), "hi")), "<[::1]:7@n2> hi\n");
  const nick = new MemberName("bob", "127.0.0.1", 5555, "n2");
  t.equal(words(n1, content(EntryKind.LINE, nick, "hi")), "<bob> hi\n", "a nickname is unique as it is");
  t.equal(words(n1, content(EntryKind.QUIT, nick)), "bob quits\n");
  t.equal(words(n1, content(EntryKind.NOTICE, null, "Server is shutting down")), "Server is shutting down\n");
  t.equal(words(lone, content(EntryKind.LINE, there, "hi")), "<127.0.0.1:5555@n2> hi\n", "a lone server's codec: any node is another");
  t.equal(words(lone, content(EntryKind.LINE, address, "hi")), "<127.0.0.1:5555> hi\n");
  t.same(
    [n1.shown(there), n1.shown(here), n1.noticeName(there), n1.noticeName(nick)],
    ["127.0.0.1:5555@n2", "127.0.0.1:5555", "Client (127.0.0.1, 5555)@n2", "bob"],
  );
});

/** A batch that records what was appended, by reference (it still copies, as a ByteBuilder does). */
class RecordingBuilder extends ByteBuilder {
  readonly parts: Uint8Array[] = [];
  override append(bytes: Uint8Array): void {
    this.parts.push(bytes);
    super.append(bytes);
  }
}

t.test("a message's prefix is made once per name and kept: three appends, the member's bytes as they are", async (t) => {
  const codec = new LineCodec("n1");
  const there = new MemberName(null, "127.0.0.1", 5555, "n2");
  const first = codec.prefix(there);
  t.equal(latin1(first), "<127.0.0.1:5555@n2> ");
  t.equal(codec.prefix(there), first, "the same bytes object for the same name");
  const twin = new MemberName(null, "127.0.0.1", 5555, "n2");
  t.equal(latin1(codec.prefix(twin)), "<127.0.0.1:5555@n2> ", "an equal name words the same");
  const renamed = there.renamed("bob");
  t.not(codec.prefix(renamed), first, "a rename is a new name: a prefix of its own");
  t.equal(latin1(codec.prefix(renamed)), "<bob> ");
  t.equal(codec.prefix(there), first, "the old name's prefix is still kept");
  t.equal(latin1(new LineCodec("n2").prefix(there)), "<127.0.0.1:5555> ", "per codec: another node's codec words it its way");

  const text = enc("hi");
  const out = new RecordingBuilder();
  codec.entry(out, "chat", content(EntryKind.LINE, there, text), null, false);
  codec.entry(out, "rust", content(EntryKind.LINE, there, text), "ep:1", false);
  t.equal(out.parts.length, 6, "three appends per message");
  t.equal(out.parts[0], first, "the kept prefix");
  t.equal(out.parts[1], text, "the member's bytes, not a copy");
  t.equal(latin1(out.parts[2]!), "\n");
  t.equal(out.parts[3], first, "the same prefix for the next message");
  t.equal(latin1(out.take()), "<127.0.0.1:5555@n2> hi\n<127.0.0.1:5555@n2> hi\n", "a live entry has no mark, numbered or not");
});

t.test("replayed entries carry `[history ID TIME] `; an unnumbered one has no id to show", async (t) => {
  t.equal(
    words(lone, content(EntryKind.LINE, bob, "hi"), "ep:3", true),
    "[history ep:3 2023-11-14T22:13:20Z] <bob> hi\n",
    "UTC, to the second",
  );
  t.equal(words(lone, content(EntryKind.QUIT, bob), "ep:4", true), "[history ep:4 2023-11-14T22:13:20Z] bob quits\n");
  t.equal(
    words(lone, content(EntryKind.NOTICE, null, "Server is shutting down"), "ep:5", true),
    "[history ep:5 2023-11-14T22:13:20Z] Server is shutting down\n",
  );
  t.equal(words(lone, content(EntryKind.LINE, bob, "hi"), null, true), "<bob> hi\n");
});

t.test("in a replay every address gets @NODE, this server's too, so /history answers alike on every server", async (t) => {
  const here = new MemberName(null, "127.0.0.1", 5555, "n1");
  const there = new MemberName(null, "127.0.0.1", 6666, "n2");
  const nick = new MemberName("bob", "127.0.0.1", 7777, "n1");
  const mark = "[history ep:3 2023-11-14T22:13:20Z] ";
  const replay = (codec: LineCodec, e: EntryContent) => words(codec, e, "ep:3", true);
  t.equal(replay(n1, content(EntryKind.LINE, here, "hi")), `${mark}<127.0.0.1:5555@n1> hi\n`);
  t.equal(replay(n1, content(EntryKind.ACTION, here, "waves")), `${mark}* 127.0.0.1:5555@n1 waves\n`);
  t.equal(replay(n1, content(EntryKind.JOIN, here)), `${mark}Client (127.0.0.1, 5555)@n1 connected\n`);
  t.equal(replay(n1, content(EntryKind.NICK, here, NONE, "bob")), `${mark}Client (127.0.0.1, 5555)@n1 is now bob\n`);
  t.equal(replay(n1, content(EntryKind.LEAVE, here, "too slow")), `${mark}Client (127.0.0.1, 5555)@n1 is offline (too slow)\n`);
  t.equal(replay(n1, content(EntryKind.QUIT, here)), `${mark}Client (127.0.0.1, 5555)@n1 quits\n`);
  const n2 = new LineCodec("n2");
  for (const e of [
    content(EntryKind.LINE, here, "hi"),
    content(EntryKind.LINE, there, "hi"),
    content(EntryKind.ACTION, there, "waves"),
    content(EntryKind.JOIN, there),
    content(EntryKind.LINE, nick, "hi"),
    content(EntryKind.NOTICE, null, "Server is shutting down"),
  ]) {
    t.equal(replay(n1, e), replay(n2, e), `alike on n1 and n2: ${replay(n1, e).trim()}`);
  }
  t.equal(replay(n1, content(EntryKind.LINE, nick, "hi")), `${mark}<bob> hi\n`, "a nickname as it is");
  t.equal(replay(lone, content(EntryKind.LINE, address, "hi")), `${mark}<127.0.0.1:5555> hi\n`, "a lone server's members are on no node");
  const prefix = n1.prefix(here);
  replay(n1, content(EntryKind.LINE, here, "hi"));
  t.equal(n1.prefix(here), prefix, "the live prefix is kept as it was");
  t.equal(latin1(prefix), "<127.0.0.1:5555> ");
  t.equal(words(n1, content(EntryKind.LINE, here, "hi")), "<127.0.0.1:5555> hi\n", "live, this server's own member as it is");
  const answer = latin1(
    n1.history({
      room: "chat",
      epoch: "ep",
      entries: [{ ...content(EntryKind.LINE, here, "hi"), seq: 3 }],
      missed: 0,
      reset: false,
      since: null,
      last: "ep:3",
    }),
  );
  t.equal(answer, `${mark}<127.0.0.1:5555@n1> hi\n[history end] 1 entry, last ep:3\n`, "the answer replays so too");
});

t.test("presence: who else is here, named as this server's readers see them", async (t) => {
  const you = new MemberName(null, "127.0.0.1", 4, "n1");
  const nick = (name: string) => new MemberName(name, "127.0.0.1", 1, "n1");
  const chat = { room: "chat", isDefault: true };
  t.equal(latin1(n1.presence({ ...chat, you, names: [], others: 0, last: null })), "In the room: nobody else yet\n");
  t.equal(latin1(n1.presence({ ...chat, you, names: [nick("alice")], others: 1, last: "ep:1" })), "In the room: alice (1 other)\n");
  t.equal(
    latin1(
      n1.presence({
        ...chat,
        you,
        names: [nick("alice"), new MemberName(null, "127.0.0.1", 5555, "n2"), new MemberName(null, "127.0.0.1", 6, "n1")],
        others: 6,
        last: null,
      }),
    ),
    "In the room: alice, 127.0.0.1:5555@n2, 127.0.0.1:6 and 3 more (6 others)\n",
  );
  // Any other room is named, with its #.
  const rust = { room: "rust", isDefault: false };
  t.equal(latin1(n1.presence({ ...rust, you, names: [], others: 0, last: null })), "In #rust: nobody else yet\n");
  t.equal(
    latin1(n1.presence({ ...rust, you, names: [nick("alice"), new MemberName(null, "::1", 7, "n2")], others: 2, last: "ep:4" })),
    "In #rust: alice, [::1]:7@n2 (2 others)\n",
  );
  t.equal(
    latin1(n1.presence({ room: "chat", isDefault: false, you, names: [nick("alice")], others: 1, last: null })),
    "In #chat: alice (1 other)\n",
    "the seed's words for the default room only, whatever its name",
  );
});

t.test("a /history answer: the gap or reset first, the entries marked, then the end line", async (t) => {
  const e = (seq: number, kind: EntryKind, text = "", sender: MemberName | null = bob) => ({ ...content(kind, sender, text), seq });
  const answer = (over: Partial<Parameters<LineCodec["history"]>[0]>) =>
    latin1(lone.history({ room: "chat", epoch: "ep", entries: [], missed: 0, reset: false, since: null, last: null, ...over })).split("\n");
  const two = [e(8, EntryKind.LINE, "one"), e(9, EntryKind.ACTION, "two")];
  t.same(answer({ entries: two, last: "ep:9" }), [
    "[history ep:8 2023-11-14T22:13:20Z] <bob> one",
    "[history ep:9 2023-11-14T22:13:20Z] * bob two",
    "[history end] 2 entries, last ep:9",
    "",
  ]);
  t.same(answer({ entries: two, missed: 2, since: "ep:5", last: "ep:9" }).slice(0, 2), [
    "[history] 2 entries missed: no longer kept",
    "[history ep:8 2023-11-14T22:13:20Z] <bob> one",
  ]);
  t.same(answer({ entries: two.slice(1), missed: 1, since: "ep:7", last: "ep:9" }), [
    "[history] 1 entry missed: no longer kept",
    "[history ep:9 2023-11-14T22:13:20Z] * bob two",
    "[history end] 1 entry, last ep:9",
    "",
  ]);
  t.same(answer({ entries: two, reset: true, since: "old:40", last: "ep:9" }).slice(0, 2), [
    "[history] the log started over since old:40: what was missed is unknown",
    "[history ep:8 2023-11-14T22:13:20Z] <bob> one",
  ]);
  t.same(answer({}), ["[history end] 0 entries, last none", ""], "an empty log");
});

t.test("replies and errors: the text and a newline; shared parts go by reference", async (t) => {
  t.equal(latin1(lone.reply("Online (1): a (you)")), "Online (1): a (you)\n");
  t.equal(latin1(lone.error("Error: line too long")), "Error: line too long\n");
  const parts = [enc("Online (2): "), enc("a, b\n")];
  const sent = lone.replyParts(parts);
  t.equal(sent, parts, "the same parts");
});
