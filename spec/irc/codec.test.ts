// The IRC codec (lib/irc/codec.ts): the IRC words of every kind of entry,
// with and without server-time and msgid tags; nicks for members named by
// their address (lib/irc/names.ts) and for members of other cluster nodes;
// what another transport sends can never break an IRC line (CR, LF, NUL,
// CTCP) and a long text is split within 512 bytes at a UTF-8 boundary;
// private messages and their echo; NAMES and history batches; one codec per
// capability set.
import t from "tap";
import { ByteBuilder } from "../../lib/bytes.ts";
import { EntryKind, type EntryContent, type LogEntry } from "../../lib/chat/entry.ts";
import { MemberName } from "../../lib/chat/naming.ts";
import { IrcCodec, IrcCodecs } from "../../lib/irc/codec.ts";
import { parseLine } from "../../lib/irc/message.ts";
import { ircMask, ircNick } from "../../lib/irc/names.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");
const NONE = new Uint8Array(0);
/** 2023-11-14T22:13:20.123Z */
const TIME = 1_700_000_000_123;
const plain = new IrcCodec("irc.test", "", { serverTime: false, messageTags: false, echo: false });
const tagged = new IrcCodec("irc.test", "", { serverTime: true, messageTags: true, echo: true });
const bob = new MemberName("bob", "127.0.0.1", 5555, "");
const anon = new MemberName(null, "127.0.0.1", 5556, "");

const content = (kind: EntryKind, sender: MemberName | null, text: string | Uint8Array = NONE, newName = ""): EntryContent => ({
  time: TIME,
  kind,
  sender,
  text: typeof text === "string" ? enc(text) : text,
  newName,
});
const words = (codec: IrcCodec, e: EntryContent, id: string | null = null, room = "chat") => {
  const out = new ByteBuilder();
  codec.entry(out, room, e, id, false);
  return latin1(out.take());
};

t.test("every kind of entry, as an IRC client expects it", async (t) => {
  t.equal(words(plain, content(EntryKind.LINE, bob, "hi all")), ":bob!u5555@127.0.0.1 PRIVMSG #chat :hi all\r\n");
  t.equal(
    words(plain, content(EntryKind.LINE, bob, "x"), null, "rust"),
    ":bob!u5555@127.0.0.1 PRIVMSG #rust :x\r\n",
    "the room is the channel",
  );
  t.equal(words(plain, content(EntryKind.ACTION, bob, "waves")), ":bob!u5555@127.0.0.1 PRIVMSG #chat :\x01ACTION waves\x01\r\n");
  t.equal(words(plain, content(EntryKind.JOIN, anon)), ":_127_0_0_1_5556!u5556@127.0.0.1 JOIN #chat\r\n");
  t.equal(words(plain, content(EntryKind.ENTER, bob)), ":bob!u5555@127.0.0.1 JOIN #chat\r\n");
  t.equal(words(plain, content(EntryKind.PART, bob)), ":bob!u5555@127.0.0.1 PART #chat\r\n");
  t.equal(
    words(plain, content(EntryKind.PART, bob, "rust")),
    ":bob!u5555@127.0.0.1 PART #chat :left for #rust\r\n",
    "a line client's move",
  );
  t.equal(words(plain, content(EntryKind.QUIT, bob)), ":bob!u5555@127.0.0.1 QUIT :Quit\r\n");
  t.equal(words(plain, content(EntryKind.LEAVE, bob, "too slow")), ":bob!u5555@127.0.0.1 QUIT :too slow\r\n");
  t.equal(words(plain, content(EntryKind.LEAVE, bob)), ":bob!u5555@127.0.0.1 QUIT :Connection closed\r\n");
  t.equal(words(plain, content(EntryKind.NICK, anon, NONE, "carol")), ":_127_0_0_1_5556!u5556@127.0.0.1 NICK carol\r\n");
  t.equal(words(plain, content(EntryKind.NOTICE, null, "Server is shutting down")), ":irc.test NOTICE #chat :Server is shutting down\r\n");
});

t.test("server-time and msgid tags when the capability set has them", async (t) => {
  t.equal(
    words(tagged, content(EntryKind.LINE, bob, "hi"), "k1:7"),
    "@time=2023-11-14T22:13:20.123Z;msgid=k1:7 :bob!u5555@127.0.0.1 PRIVMSG #chat :hi\r\n",
  );
  t.equal(
    words(tagged, content(EntryKind.JOIN, bob), null),
    "@time=2023-11-14T22:13:20.123Z :bob!u5555@127.0.0.1 JOIN #chat\r\n",
    "no id: no msgid",
  );
  t.equal(tagged.numbered, true, "with msgid a cluster's entries wait for their numbers");
  t.equal(plain.numbered, false);
});

t.test("nicks for address-named members, other nodes, and masks", async (t) => {
  t.equal(ircNick(anon, ""), "_127_0_0_1_5556");
  t.equal(ircNick(new MemberName(null, "10.0.0.2", 40000, "b7"), ""), "_10_0_0_2_40000_b7", "a member of another server");
  t.equal(ircNick(new MemberName(null, "10.0.0.2", 40000, "b7"), "b7"), "_10_0_0_2_40000", "on its own server");
  t.match(ircNick(new MemberName(null, "::1", 5, ""), ""), /^_h[0-9a-f]{8}_5$/, "IPv6: a hash of the host");
  t.equal(ircNick(new MemberName(null, "::1", 5, ""), ""), ircNick(new MemberName(null, "::1", 5, ""), ""), "stable");
  t.not(ircNick(new MemberName(null, "::1", 5, ""), ""), ircNick(new MemberName(null, "::2", 5, ""), ""));
  t.equal(ircMask(new MemberName(null, "::1", 5, ""), "").split("@")[1], "0::1", "a host never starts with :");
  t.equal(ircMask(new MemberName("amy", "10.0.0.2", 7, "b7"), ""), "amy!u7@10.0.0.2/b7");
  t.equal(ircNick(bob, ""), "bob", "a nickname is its own IRC nick");
  const parsed = parseLine(enc(`:${ircMask(anon, "")} PRIVMSG #chat :x`));
  t.ok(parsed.ok && parsed.message.source === "_127_0_0_1_5556!u5556@127.0.0.1", "a mask is one source");
});

t.test("another transport cannot break an IRC line", async (t) => {
  const hostile = words(plain, content(EntryKind.LINE, anon, "one\r\nQUIT :x\0\x01DCC SEND f 1 2 3\x01"));
  t.equal(
    hostile,
    ":_127_0_0_1_5556!u5556@127.0.0.1 PRIVMSG #chat :one  QUIT :x  DCC SEND f 1 2 3 \r\n",
    "CR, LF, NUL, \\x01 become spaces",
  );
  t.equal(hostile.split("\r\n").length, 2, "one line");
  const action = words(plain, content(EntryKind.ACTION, anon, "a\x01b"));
  t.equal(action, ":_127_0_0_1_5556!u5556@127.0.0.1 PRIVMSG #chat :\x01ACTION a b\x01\r\n", "an action keeps exactly one CTCP frame");
  t.equal(words(plain, content(EntryKind.LEAVE, anon, "why\r\nJOIN #x")), ":_127_0_0_1_5556!u5556@127.0.0.1 QUIT :why  JOIN #x\r\n");
});

t.test("a long text is split into lines of at most 512 bytes, at UTF-8 boundaries", async (t) => {
  const text = "é".repeat(1000); // 2000 bytes
  const out = words(tagged, content(EntryKind.LINE, bob, text), "k:1");
  const lines = out.split("\r\n").slice(0, -1);
  t.ok(lines.length >= 4, `${lines.length} lines`);
  let joined = "";
  for (const [i, line] of lines.entries()) {
    const body = line.slice(line.indexOf(" ") + 1);
    t.ok(body.length + 2 <= 512, `line ${i}: ${body.length + 2} bytes without tags`);
    t.match(line, i === 0 ? /msgid=k:1 / : new RegExp(`msgid=k:1\\.${i} `), "each line its own msgid");
    joined += body.slice(body.indexOf(" :", body.indexOf("PRIVMSG")) + 2);
  }
  t.equal(Buffer.from(joined, "latin1").toString("utf8"), text, "no character is cut in two");
  const act = words(plain, content(EntryKind.ACTION, bob, "y".repeat(1200)));
  for (const line of act.split("\r\n").slice(0, -1)) {
    t.ok(line.length + 2 <= 512);
    t.match(line, /:\x01ACTION y+\x01$/, "every part of an action is an action");
  }
  t.equal(words(plain, content(EntryKind.LINE, bob, "")), ":bob!u5555@127.0.0.1 PRIVMSG #chat :\r\n", "an empty text is one line");
});

t.test("private messages, and their echo only with echo-message", async (t) => {
  const m = { time: TIME, from: bob, to: new MemberName("amy", "127.0.0.1", 9, ""), action: false, text: enc("psst") };
  t.equal(latin1(plain.privateMessage(m, false)!), ":bob!u5555@127.0.0.1 PRIVMSG amy :psst\r\n");
  t.equal(plain.privateMessage(m, true), null, "no echo without the capability");
  t.equal(latin1(tagged.privateMessage(m, true)!), "@time=2023-11-14T22:13:20.123Z :bob!u5555@127.0.0.1 PRIVMSG amy :psst\r\n");
  t.equal(latin1(plain.privateMessage({ ...m, action: true }, false)!), ":bob!u5555@127.0.0.1 PRIVMSG amy :\x01ACTION psst\x01\r\n");
});

t.test("NAMES within 512 bytes; replies, errors; history as a batch or plain lines", async (t) => {
  const nicks = Array.from({ length: 100 }, (_, i) => `nick${i}_abcdef`);
  const lines = plain.namesLines("me", "chat", nicks).map(latin1);
  t.ok(lines.length > 2);
  for (const l of lines) t.ok(l.length <= 512, `${l.length} bytes`);
  t.equal(lines.at(-1), ":irc.test 366 me #chat :End of /NAMES list\r\n");
  t.equal(lines.slice(0, -1).flatMap((l) => l.slice(l.lastIndexOf(":") + 1, -2).split(" ")).length, 100, "everyone, once");
  t.equal(latin1(plain.error("Idle for 60 s, disconnecting")), "ERROR :Idle for 60 s, disconnecting\r\n");
  t.equal(latin1(plain.reply("You are now bob")), ":irc.test NOTICE * :You are now bob\r\n");
  const entries: LogEntry[] = [
    { ...content(EntryKind.LINE, bob, "one"), seq: 1 },
    { ...content(EntryKind.ACTION, anon, "two"), seq: 2 },
  ];
  const batch = latin1(tagged.historyLines("chat", "ep", entries, "h1"));
  t.equal(
    batch,
    ":irc.test BATCH +h1 chathistory #chat\r\n" +
      "@batch=h1;time=2023-11-14T22:13:20.123Z;msgid=ep:1 :bob!u5555@127.0.0.1 PRIVMSG #chat :one\r\n" +
      "@batch=h1;time=2023-11-14T22:13:20.123Z;msgid=ep:2 :_127_0_0_1_5556!u5556@127.0.0.1 PRIVMSG #chat :\x01ACTION two\x01\r\n" +
      ":irc.test BATCH -h1\r\n",
  );
  t.equal(latin1(plain.historyLines("chat", "ep", entries, null)).split("\r\n").length, 3, "without batch: the plain lines");
});

t.test("one codec per capability set", async (t) => {
  const codecs = new IrcCodecs("irc.test", "");
  const a = codecs.for({ serverTime: true, messageTags: false, echo: true });
  t.equal(codecs.for({ serverTime: true, messageTags: false, echo: true }), a, "the same set, the same codec");
  t.not(codecs.for({ serverTime: true, messageTags: false, echo: false }), a);
  t.equal(codecs.plain, codecs.for({ serverTime: false, messageTags: false, echo: false }));
  t.equal([...codecs.all()].length, 3, "only the sets asked for are made");
});

t.test("any bytes at all: every line parses back, one line each, within 512 bytes, no NUL/CR/LF", async (t) => {
  let seed = 42;
  const random = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const randomBytes = () => {
    const n = Math.floor(random() * (random() < 0.1 ? 3000 : 80));
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = random() < 0.2 ? [0, 1, 10, 13, 32, 58][Math.floor(random() * 6)]! : Math.floor(random() * 256);
    return b;
  };
  const kinds = [EntryKind.LINE, EntryKind.ACTION, EntryKind.LEAVE, EntryKind.NOTICE, EntryKind.PART];
  let problems = 0;
  let lines = 0;
  for (let i = 0; i < 3000; i++) {
    const kind = kinds[i % kinds.length]!;
    const text = kind === EntryKind.PART ? enc("rust") : randomBytes();
    for (const codec of [plain, tagged]) {
      const out = new ByteBuilder();
      codec.entry(out, "chat", content(kind, kind === EntryKind.NOTICE ? null : anon, text), "e:1", false);
      const all = out.take();
      const parts = latin1(all).split("\r\n");
      if (parts.pop() !== "") problems++;
      for (const line of parts) {
        lines++;
        const body = line.startsWith("@") ? line.slice(line.indexOf(" ") + 1) : line;
        const parsed = parseLine(Buffer.from(body, "latin1"));
        if (/[\0\r\n]/.test(line) || body.length + 2 > 512 || !parsed.ok) problems++;
      }
    }
  }
  t.equal(problems, 0, `${lines} lines, none broken`);
});
