// What the client's terminal is shown of a received line: `visible` (the
// neutralising of control characters, a security property) and styling.
import t from "tap";
import { colorFor, decodeLine, styleLine, styleOwn, visible } from "../../lib/client/display.ts";

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
  t.equal(visible("\u2029\u2070"), "\u2029\u2070", "neighbours of the bidi ranges are left alone");
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
  t.equal(styleLine("<bob> hi", color), `\x1b[1;${colorFor("bob")}m<bob>\x1b[0m hi`);
  t.equal(colorFor("bob"), 93, "a name's colour is a hash of it: the same in every session");
  t.not(colorFor("alice"), colorFor("bob"), "different names get different colours here");
  t.equal(styleLine("* bob waves", color), `\x1b[1;${colorFor("bob")}m* bob\x1b[0m waves`);
  t.equal(styleLine("Client (127.0.0.1, 5) connected", color), "\x1b[2mClient (127.0.0.1, 5) connected\x1b[0m");
  t.equal(styleLine("Error: no", color), "\x1b[31mError: no\x1b[0m");
  t.equal(styleLine("<x> \x1b[31m", plain), "<x> ^[[31m", "a sender cannot inject escape sequences");
  t.equal(styleLine("<x> \x1b[31m", color), `\x1b[1;${colorFor("x")}m<x>\x1b[0m ^[[31m`, "not with colour on either");
  t.equal(styleOwn("me\x1b[2J", plain), "> me^[[2J", "the user's own line is neutralised too");
  const at = new Date(2024, 0, 1, 9, 5, 7).getTime();
  t.equal(styleLine("<bob> hi", { ...plain, timestamps: true, now: () => at }), "[09:05:07] <bob> hi");
  t.equal(styleOwn("me", plain), "> me");
  t.equal(styleOwn("me", color), "\x1b[2m> me\x1b[0m", "the user's own line is dimmed");
});
