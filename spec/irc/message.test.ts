// IRC messages (lib/irc/message.ts): parsing tags, source, command and
// parameters from a line's bytes, the limits (512 bytes without tags, the
// tag section), hostile shapes (a bare prefix, NUL bytes, spaces), tag
// escapes both ways, and serialising with the trailing parameter and
// without anything that would break a line.
import t from "tap";
import { bytesToLatin1, escapeTag, latin1ToBytes, parseLine, serialize, unescapeTag } from "../../lib/irc/message.ts";

const bytes = (s: string) => latin1ToBytes(s);
const ok = (line: string) => {
  const r = parseLine(bytes(line));
  if (!r.ok) throw new Error(`not parsed: ${r.problem}`);
  return { ...r.message, tags: Object.fromEntries(r.message.tags) };
};
const problem = (line: string | Uint8Array) => {
  const r = parseLine(typeof line === "string" ? bytes(line) : line);
  return r.ok ? null : r.problem;
};

t.test("commands, sources, middle and trailing parameters", async (t) => {
  t.same(ok("PRIVMSG #chat :hello there"), { tags: {}, source: null, command: "PRIVMSG", params: ["#chat", "hello there"] });
  t.same(ok("privmsg #chat hi").command, "PRIVMSG", "commands in any case");
  t.same(ok(":nick!u@h JOIN #a").source, "nick!u@h");
  t.same(ok("USER a 0 * :Real Name").params, ["a", "0", "*", "Real Name"]);
  t.same(ok("PRIVMSG #a ::)").params, ["#a", ":)"], "a trailing parameter may start with :");
  t.same(ok("PRIVMSG #a :").params, ["#a", ""], "an empty trailing parameter");
  t.same(ok("NICK   bob  ").params, ["bob"], "runs of spaces");
  t.same(ok("001 me :Welcome").command, "001", "numerics");
});

t.test("tags: values unescaped, keys checked, client tags", async (t) => {
  const m = ok("@time=2023-01-01T00:00:00.000Z;+draft/reply=a\\sb\\:c;flag :s PRIVMSG #a :x");
  t.same(m.tags, { time: "2023-01-01T00:00:00.000Z", "+draft/reply": "a b;c", flag: "" });
  t.same(m.source, "s");
  t.same(ok("@a/b/c=1;ok=2;=3 PING x").tags, { ok: "2" }, "keys that are none are dropped");
  t.equal(unescapeTag("a\\\\b\\r\\n\\x\\"), "a\\b\r\nx", "unknown escapes drop the backslash, a trailing one goes");
  t.equal(escapeTag("a b;c\\\r\n"), "a\\sb\\:c\\\\\\r\\n");
  t.equal(unescapeTag(escapeTag("a b;c\\\r\n")), "a b;c\\\r\n");
});

t.test("limits and hostile shapes", async (t) => {
  t.equal(problem(`PRIVMSG #a :${"x".repeat(498)}`), null, "510 bytes without CR LF pass");
  t.equal(problem(`PRIVMSG #a :${"x".repeat(499)}`), "too-long", "511 do not");
  t.equal(problem(`@a=${"v".repeat(5000)} PING x`), "tags-too-long");
  t.equal(problem(`@a=${"v".repeat(3000)} PRIVMSG #a :${"x".repeat(498)}`), null, "tags do not count against the 512");
  t.equal(problem(""), "empty");
  t.equal(problem("@a=b"), "empty", "tags and nothing else");
  t.equal(problem(":prefix-only"), "no-command", "a bare prefix");
  t.equal(problem(": PRIVMSG"), null, "an empty source is a source");
  t.equal(problem("\0\0\0"), "no-command", "NUL bytes are no command");
  t.equal(problem("PRIV\0MSG #a :x"), "no-command");
  t.same(ok("PRIVMSG #a :x\0y").params[1], "x\0y", "NUL in text is kept here (the codec never sends it on)");
  t.equal(problem("\u00ff\u00fe"), "no-command");
});

t.test("bytes round trip through latin1 whatever their encoding", async (t) => {
  const raw = new Uint8Array([0x50, 0x52, 0x49, 0x56, 0x4d, 0x53, 0x47, 0x20, 0x23, 0x61, 0x20, 0x3a, 0xe2, 0x82, 0xac, 0x80, 0x9f, 0xff]);
  const r = parseLine(raw);
  t.ok(r.ok);
  if (r.ok) t.same([...latin1ToBytes(r.message.params[1]!)], [0xe2, 0x82, 0xac, 0x80, 0x9f, 0xff]);
  t.equal(bytesToLatin1(new Uint8Array(20000).fill(0x41)).length, 20000, "long lines in chunks");
});

t.test("serialise", async (t) => {
  t.equal(serialize({ source: "srv", command: "001", params: ["bob", "Welcome home"] }), ":srv 001 bob :Welcome home\r\n");
  t.equal(serialize({ command: "JOIN", params: ["#a"] }), "JOIN #a\r\n", "a one-word last parameter as it is");
  t.equal(serialize({ command: "PRIVMSG", params: ["#a", "hi"], trailing: true }), "PRIVMSG #a :hi\r\n", "or after : when asked");
  t.equal(serialize({ command: "X", params: ["a", ":x"] }), "X a ::x\r\n", "a last parameter starting with : goes trailing");
  t.equal(
    serialize({ command: "PRIVMSG", params: ["#a", "one\r\nQUIT :two\0"] }),
    "PRIVMSG #a :one  QUIT :two \r\n",
    "CR, LF, NUL become spaces",
  );
  t.equal(serialize({ command: "X", params: ["a b", "c"] }), "X a_b c\r\n", "a space in a middle parameter cannot split it");
  const tags = new Map([
    ["time", "t"],
    ["msgid", "a b"],
    ["flag", ""],
  ]);
  t.equal(serialize({ tags, source: "s", command: "PING", params: ["x"] }), "@time=t;msgid=a\\sb;flag :s PING x\r\n");
  const back = parseLine(bytes(serialize({ tags, source: "s", command: "PRIVMSG", params: ["#a", "a :b c"] }).slice(0, -2)));
  t.ok(back.ok && back.message.params[1] === "a :b c" && back.message.tags.get("msgid") === "a b", "serialise then parse");
});
