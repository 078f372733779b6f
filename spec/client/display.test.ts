// What the client's terminal is shown of a received line: `visible` (the
// neutralising of control characters, a security property) and styling.
import t from "tap";
import {
  colorFor,
  decodeLine,
  HISTORY_NOTHING,
  HISTORY_SEPARATOR,
  HistoryView,
  NameColors,
  PALETTE,
  styleLine,
  styleOwn,
  visible,
} from "../../lib/client/display.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);
/** A received line as the program shows it: decoded, then neutralised. */
const shown = (bytes: Uint8Array) => visible(decodeLine(bytes));

t.test("visible: ordinary text is unchanged", async (t) => {
  for (const text of [
    "",
    "hello, world",
    "héllo wörld → ✓ 日本語 😀",
    "tabs? no: spaces   only",
    "<bob> hi ~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./",
  ]) {
    t.equal(visible(text), text, JSON.stringify(text));
  }
  const printableAscii = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join("");
  t.equal(visible(printableAscii), printableAscii, "every printable ASCII character");
  const latin1 = Array.from({ length: 0x100 - 0xa0 }, (_, i) => String.fromCharCode(0xa0 + i)).join("");
  t.equal(visible(latin1), latin1, "Latin-1 letters and signs (U+00A0-U+00FF)");
});

t.test("visible: every C0 control character is shown as ^X", async (t) => {
  for (let code = 0; code < 0x20; code++) {
    t.equal(visible(`a${String.fromCharCode(code)}b`), `a^${String.fromCharCode(code + 0x40)}b`, `U+${code.toString(16).padStart(4, "0")}`);
  }
  t.equal(visible("\x1b[2J\x1b[H"), "^[[2J^[[H", "clear screen shown, not run");
  t.equal(visible("\x1b]0;pwned\x07"), "^[]0;pwned^G", "window title (OSC) neutralised");
  t.equal(visible("fake\rreal"), "fake^Mreal", "carriage return cannot overwrite the line");
  t.equal(visible("one\ntwo"), "one^Jtwo", "a newline cannot start a fake line");
  t.equal(visible("a\x1b[2Jb\x07\x7f"), "a^[[2Jb^G^?");
});

t.test("visible: DEL is shown as ^?", async (t) => {
  t.equal(visible("x\x7fy"), "x^?y");
  t.equal(shown(new Uint8Array([0x61, 0x00, 0x7f, 0x08])), "a^@^?^H", "NUL, DEL, backspace");
});

t.test("visible: every C1 control character is shown as \\xNN", async (t) => {
  for (let code = 0x80; code < 0xa0; code++) {
    t.equal(visible(`a${String.fromCharCode(code)}b`), `a\\x${code.toString(16)}b`, `U+${code.toString(16).padStart(4, "0")}`);
  }
  t.equal(shown(utf8("\u009b31m")), "\\x9b31m", "C1 CSI (encoded as UTF-8) neutralised");
});

t.test("visible: bidi embeddings, overrides and isolates are shown as <U+XXXX>", async (t) => {
  const bidi = [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069];
  for (const code of bidi) {
    const name = code.toString(16).toUpperCase();
    t.equal(visible(`abc${String.fromCharCode(code)}dcba`), `abc<U+${name}>dcba`, `U+${name}`);
  }
  t.equal(shown(utf8("abc\u202edcba")), "abc<U+202E>dcba", "right-to-left override from the wire");
  t.equal(visible("\u2027\u2065\u206a\u2070"), "\u2027\u2065\u206a\u2070", "neighbours of the bidi ranges are left alone");
});

t.test("visible: zero-width characters, bidi marks, BOM and line/paragraph separators are shown as <U+XXXX>", async (t) => {
  const invisible = [
    0x200b, // zero-width space
    0x200c, // zero-width non-joiner
    0x200d, // zero-width joiner (outside an emoji sequence)
    0x200e, // left-to-right mark
    0x200f, // right-to-left mark
    0x061c, // Arabic letter mark
    0x2028, // line separator: some terminals start a new row
    0x2029, // paragraph separator
    0x2060, // word joiner
    0x2061,
    0x2062,
    0x2063,
    0x2064, // invisible operators
    0xfeff, // byte order mark, zero-width no-break space
  ];
  for (const code of invisible) {
    const name = code.toString(16).toUpperCase().padStart(4, "0");
    t.equal(visible(`a${String.fromCharCode(code)}b`), `a<U+${name}>b`, `U+${name}`);
  }
  t.equal(visible("\u200a\u2010\u205f\ufefe\ufffd"), "\u200a\u2010\u205f\ufefe\ufffd", "their neighbours are left alone");
  // A peer cannot end its line early and start one that reads like the server's.
  t.equal(
    styleLine("<eve> hi\u2028Server is shutting down", { color: false, timestamps: false }),
    "<eve> hi<U+2028>Server is shutting down",
  );
  t.equal(shown(utf8("<eve> \u200b\u200f\ufeff")), "<eve> <U+200B><U+200F><U+FEFF>", "from the wire too");
});

t.test("visible: a zero-width joiner inside an emoji sequence is kept, elsewhere shown", async (t) => {
  for (const emoji of ["👩‍💻", "👨‍👩‍👧", "🏳️‍🌈", "👩🏽‍🚀", "❤️‍🔥"]) t.equal(visible(emoji), emoji, emoji);
  t.equal(visible("a\u200db"), "a<U+200D>b", "between letters");
  t.equal(visible("😀\u200d"), "😀<U+200D>", "after an emoji, before nothing");
  t.equal(visible("\u200d😀"), "<U+200D>😀", "before an emoji, after nothing");
  t.equal(visible("x\u200d\u2028"), "x<U+200D><U+2028>");
});

t.test("visible: invalid UTF-8 shows as replacement characters, never as raw bytes", async (t) => {
  const bytes = (...b: number[]) => new Uint8Array(b);
  t.equal(shown(bytes(0xff, 0xfe, 0x41)), "\ufffd\ufffdA", "bytes that are never UTF-8");
  t.equal(shown(bytes(0x9b, 0x33, 0x31, 0x6d)), "\ufffd31m", "a lone C1 byte is not decoded as a CSI");
  t.equal(shown(bytes(0xc2, 0x1b, 0x5b)), "\ufffd^[[", "a truncated sequence does not swallow the ESC after it");
  t.equal(shown(bytes(0xe2, 0x80)), "\ufffd", "a sequence cut at the end of the line");
  t.equal(shown(bytes(0xc0, 0x8a)), "\ufffd\ufffd", "an overlong newline is not a newline");
  const everyByte = new Uint8Array(256).map((_, i) => i);
  t.notOk(/[\x00-\x1f\x7f-\x9f]/.test(shown(everyByte)), "no control character survives any byte value");
});

t.test("styling: names coloured consistently, plain without colour, control characters shown", async (t) => {
  const plain = { color: false, timestamps: false };
  const color = { color: true, timestamps: false };
  t.equal(styleLine("<bob> hi", plain), "<bob> hi");
  t.equal(styleLine("<bob> hi", color), `\x1b[1;38;5;${colorFor("bob")}m<bob>\x1b[0m hi`);
  t.equal(colorFor("bob"), 133, "a name's colour is a hash of it: the same in every session");
  t.not(colorFor("alice"), colorFor("bob"), "different names get different colours here");
  t.equal(styleLine("* bob waves", color), `\x1b[1;38;5;${colorFor("bob")}m* bob\x1b[0m waves`);
  t.equal(styleLine("Client (127.0.0.1, 5) connected", color), "\x1b[2mClient (127.0.0.1, 5) connected\x1b[0m");
  t.equal(styleLine("Error: no", color), "\x1b[31mError: no\x1b[0m");
  t.equal(styleLine("<x> \x1b[31m", plain), "<x> ^[[31m", "a sender cannot inject escape sequences");
  t.equal(styleLine("<x> \x1b[31m", color), `\x1b[1;38;5;${colorFor("x")}m<x>\x1b[0m ^[[31m`, "not with colour on either");
  t.equal(styleOwn("me\x1b[2J", plain), "> me^[[2J", "the user's own line is neutralised too");
  const at = new Date(2024, 0, 1, 9, 5, 7).getTime();
  t.equal(styleLine("<bob> hi", { ...plain, timestamps: true, now: () => at }), "[09:05:07] <bob> hi");
  t.equal(styleOwn("me", plain), "> me");
  t.equal(styleOwn("me", color), "\x1b[2m> me\x1b[0m", "the user's own line is dimmed");
});

t.test("the palette: seven 256-colour entries, readable on black and on white, far apart, none the error red", async (t) => {
  const levels = [0, 95, 135, 175, 215, 255]; // the xterm colour cube
  const rgb = (n: number) => [levels[Math.floor((n - 16) / 36)]!, levels[Math.floor((n - 16) / 6) % 6]!, levels[(n - 16) % 6]!];
  const linear = (c: number) => (c / 255 <= 0.04045 ? c / 255 / 12.92 : ((c / 255 + 0.055) / 1.055) ** 2.4);
  const luminance = (c: number[]) => 0.2126 * linear(c[0]!) + 0.7152 * linear(c[1]!) + 0.0722 * linear(c[2]!);
  const lab = (c: number[]) => {
    const [r, g, b] = c.map(linear) as [number, number, number];
    const f = (v: number) => (v > 0.008856 ? Math.cbrt(v) : 7.787 * v + 16 / 116);
    const x = f((r * 0.4124 + g * 0.3576 + b * 0.1805) / 0.95047);
    const y = f(r * 0.2126 + g * 0.7152 + b * 0.0722);
    const z = f((r * 0.0193 + g * 0.1192 + b * 0.9505) / 1.08883);
    return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
  };
  const distance = (a: number[], b: number[]) => Math.hypot(...lab(a).map((v, i) => v - lab(b)[i]!));
  t.equal(PALETTE.length, 7);
  const errorRed = [205, 0, 0]; // xterm's colour 1, which `Error:` lines use
  for (const n of PALETTE) {
    t.ok(n >= 16 && n < 232, `${n} is in the colour cube`);
    const l = luminance(rgb(n));
    t.ok((l + 0.05) / 0.05 >= 3.3, `${n}: contrast on black at least 3.3:1`);
    t.ok(1.05 / (l + 0.05) >= 3.3, `${n}: contrast on white at least 3.3:1`);
    t.ok(distance(rgb(n), errorRed) >= 60, `${n}: not read as an error`);
  }
  for (const [i, a] of PALETTE.entries()) {
    for (const b of PALETTE.slice(i + 1)) t.ok(distance(rgb(a), rgb(b)) >= 49, `${a} and ${b} are far apart`);
  }
  const seen = new Set(Array.from({ length: 200 }, (_, i) => colorFor(`user${i}`)));
  t.equal(seen.size, PALETTE.length, "names are spread over every colour");
});

t.test("NameColors: the colour follows the person through renames, not the name", async (t) => {
  const names = new NameColors("127.0.0.1:4000");
  const color = { color: true, timestamps: false, names };
  const colorIn = (styled: string) => Number(/38;5;(\d+)m/.exec(styled)![1]);
  const address = "127.0.0.1:5555";
  const original = colorIn(styleLine(`<${address}> hi`, color));
  t.equal(original, colorFor(address), "first seen: the colour of its hash");
  const nick = ["zed", "kai", "uma", "ivy", "rex"].find((name) => colorFor(name) !== original)!;
  styleLine(`Client (127.0.0.1, 5555) is now ${nick}`, color);
  t.equal(colorIn(styleLine(`<${nick}> hello`, color)), original, "an address's colour goes to its new nickname");
  t.equal(colorIn(styleLine(`* ${nick} waves`, color)), original, "actions too");
  styleLine(`${nick} is now ${nick}2`, color);
  t.equal(names.colorOf(`${nick}2`), original, "a nickname's colour goes to the next one");
  t.equal(names.colorOf(nick), colorFor(nick), "the old nickname is free again, with its own colour");
  styleLine("Client ([::1], 7) is now v6", color);
  t.equal(names.colorOf("v6"), colorFor("[::1]:7"), "IPv6 addresses are named as in messages");
  // Peers' words are not notices: they move nothing.
  styleLine(`<mallory> ${nick}2 is now mallory`, color);
  styleLine(`* mallory says ${nick}2 is now mallory`, color);
  t.equal(names.colorOf("mallory"), colorFor("mallory"));
  t.equal(names.colorOf(`${nick}2`), original);
});

t.test("styleOwn: /me is echoed as * NAME ACTION, NAME as the server last named the user", async (t) => {
  const names = new NameColors("127.0.0.1:4000");
  const plain = { color: false, timestamps: false, names };
  t.equal(styleOwn("/me waves", plain), "* 127.0.0.1:4000 waves", "before /nick: the address others see");
  styleLine("You are now bob", plain);
  t.equal(names.self, "bob");
  t.equal(styleOwn("/me waves  twice", plain), "* bob waves  twice", "the action as sent");
  t.equal(styleOwn("/ME shouts", plain), "* bob shouts", "the command in any case, as the server takes it");
  t.equal(styleOwn("/me", plain), "> /me", "without an action it is a command the server refuses: echoed as typed");
  t.equal(styleOwn("/me   ", plain), "> /me   ");
  t.equal(styleOwn("/meh", plain), "> /meh");
  t.equal(styleOwn("/me \x1b[2J", plain), "* bob ^[[2J", "neutralised like every line");
  t.equal(
    styleOwn("/me waves", { color: true, timestamps: false, names }),
    "\x1b[2m* bob waves\x1b[0m",
    "dimmed like the user's other lines",
  );
  t.equal(styleOwn("/me waves", { color: false, timestamps: false }), "> /me waves", "without names: as typed");
});

t.test("a /history replay on a terminal: dimmed, the entry's own time and no id; --show-ids keeps the server's mark", async (t) => {
  const line = "[history ep:7 2026-11-25T12:03:04Z] <bob> hi";
  const local = new Date(Date.parse("2026-11-25T12:03:04Z"));
  const hh = (n: number) => String(n).padStart(2, "0");
  const time = `[${hh(local.getHours())}:${hh(local.getMinutes())}:04]`;
  t.equal(styleLine(line, { color: true, timestamps: false }), `\x1b[2m${time} <bob> hi\x1b[0m`, "dim, local time, no id");
  t.equal(styleLine(line, { color: false, timestamps: false }), `${time} <bob> hi`, "without colour (NO_COLOR) no id either");
  t.equal(styleLine(line, { color: false, timestamps: false, showIds: true }), line, "--show-ids: as the server sent it");
  t.equal(styleLine(line, { color: true, timestamps: false, showIds: true }), `\x1b[2m${line}\x1b[0m`, "dimmed");
  t.equal(
    styleLine("[history end] 1 entry, last ep:7", { color: true, timestamps: false, showIds: true }),
    "\x1b[2m[history end] 1 entry, last ep:7\x1b[0m",
  );
  const names = new NameColors("127.0.0.1:4000");
  const style = { color: true, timestamps: false, names };
  styleLine("[history ep:8 2026-11-25T12:03:05Z] Client (127.0.0.1, 5555) is now zed", style);
  t.equal(names.colorOf("zed"), colorFor("127.0.0.1:5555"), "a replayed rename hands on the colour as a live one does");
});

t.test("HistoryView: the answer on joining is quiet; what the user asks for is closed by a separator", async (t) => {
  const self = "127.0.0.1:4000";
  const mark = (seq: number) => `[history ep:${seq} 2026-11-25T12:03:0${seq}Z] `;
  const take = (view: HistoryView, lines: string[]) => lines.map((line) => view.take(line));

  const alone = new HistoryView(self, true);
  t.same(
    take(alone, [`${mark(1)}Client (127.0.0.1, 4000) connected`, "[history end] 1 entry, last ep:1", "In the room: nobody else yet"]),
    [null, null, "In the room: nobody else yet"],
    "alone in a new room: neither the user's own join nor the end line",
  );

  const room = new HistoryView(self, true);
  t.same(
    take(room, [
      `${mark(1)}Client (127.0.0.1, 3999) connected`,
      `${mark(2)}<127.0.0.1:3999> hi`,
      `${mark(3)}Client (127.0.0.1, 4000) connected`,
      "[history end] 3 entries, last ep:3",
      "<127.0.0.1:3999> live",
    ]),
    [`${mark(1)}Client (127.0.0.1, 3999) connected`, `${mark(2)}<127.0.0.1:3999> hi`, null, HISTORY_SEPARATOR, "<127.0.0.1:3999> live"],
    "earlier entries, then a separator instead of the end line and its id",
  );
  t.same(take(room, ["[history end] 0 entries, last ep:3"]), [HISTORY_NOTHING], "a /history typed later that had nothing says so");
  t.same(
    take(room, ["[history] 2 entries missed: no longer kept", "[history end] 0 entries, last ep:3"]),
    ["[history] 2 entries missed: no longer kept", HISTORY_SEPARATOR],
    "a gap is shown, and closed like entries",
  );

  const notAsked = new HistoryView(self, false);
  t.same(take(notAsked, ["[history end] 0 entries, last none"]), [HISTORY_NOTHING], "--history 0, then /history typed");

  const ids = new HistoryView(self, true, true);
  const raw = [`${mark(3)}Client (127.0.0.1, 4000) connected`, "[history end] 1 entry, last ep:3"];
  t.same(take(ids, raw), raw, "--show-ids: every line as the server sent it");
  t.equal(
    styleLine(HISTORY_SEPARATOR, { color: true, timestamps: false }),
    `\x1b[2m${HISTORY_SEPARATOR}\x1b[0m`,
    "the separator is dimmed like a notice",
  );
});
