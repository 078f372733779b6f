// The client's line editor and line styling, without a terminal.
import t from "tap";
import { colorFor, escapeLength, LineEditor, styleLine, styleOwn, visible } from "../../lib/client/terminal.ts";

const editor = (columns = 80) => new LineEditor({ prompt: "> ", columns: () => columns });
const submitted = (actions: ReturnType<LineEditor["feed"]>) => actions.flatMap((a) => (a.kind === "submit" ? [a.line] : []));

t.test("typing, moving and deleting", async (t) => {
  const e = editor();
  t.same(e.feed("helo"), []);
  e.feed("\x1b[D"); // left
  e.feed("l");
  t.equal(e.text, "hello");
  t.equal(e.position, 4);
  e.feed("\x01"); // Ctrl-A
  e.feed("\x1b[3~"); // Delete
  t.equal(e.text, "ello");
  e.feed("\x05 world\x17"); // Ctrl-E, type, Ctrl-W
  t.equal(e.text, "ello ");
  e.feed("\x7f\x7f");
  t.equal(e.text, "ell");
  e.feed("\x15");
  t.equal(e.text, "");
  e.feed("héllo → ✓");
  t.equal(e.text, "héllo → ✓", "non-ASCII characters are one character each");
  e.feed("\x1b[H\x0b");
  t.equal(e.text, "", "Home then Ctrl-K clears");
});

t.test("Enter submits and clears; Ctrl-C quits; Ctrl-D quits only on an empty line", async (t) => {
  const e = editor();
  t.same(submitted(e.feed("one\rtwo\r")), ["one", "two"]);
  t.equal(e.text, "");
  e.feed("x");
  t.same(e.feed("\x04"), [], "Ctrl-D with text deletes under the cursor");
  t.same(e.feed("\x1b[D\x04"), []);
  t.equal(e.text, "");
  t.same(e.feed("\x04"), [{ kind: "quit" }]);
  t.same(editor().feed("abc\x03def"), [{ kind: "quit" }]);
});

t.test("history with the arrow keys keeps the line being typed", async (t) => {
  const e = editor();
  e.feed("first\rsecond\r");
  e.feed("draft");
  e.feed("\x1b[A");
  t.equal(e.text, "second");
  e.feed("\x1b[A\x1b[A");
  t.equal(e.text, "first", "stops at the oldest");
  e.feed("\x1b[B\x1b[B");
  t.equal(e.text, "draft", "down past the newest brings the draft back");
  e.feed("\x1bOA"); // application-mode arrow
  t.equal(e.text, "second");
  t.same(submitted(e.feed("\r")), ["second"]);
});

t.test("an escape sequence split across reads is put back together", async (t) => {
  const e = editor();
  e.feed("ab\x1b");
  e.feed("[");
  t.equal(e.text, "ab", "nothing is inserted while the sequence is incomplete");
  e.feed("Dc");
  t.equal(e.text, "acb");
  t.equal(escapeLength("\x1b[1;5C", 0), 6);
  t.equal(escapeLength("\x1b[1;5", 0), 0);
  t.equal(escapeLength("\x1bx", 0), 2);
});

t.test("render draws prompt and input with the cursor in place; printAbove keeps the input", async (t) => {
  const e = editor();
  e.feed("hello\x1b[D\x1b[D");
  t.equal(e.render(), "\r\x1b[2K> hello\x1b[6G");
  const out = e.printAbove("<bob> hi");
  t.equal(out, "\r\x1b[2K<bob> hi\r\n\r\x1b[2K> hello\x1b[6G", "the incoming line, then the input drawn again");
  t.equal(e.text, "hello");
});

t.test("a line wider than the terminal scrolls sideways around the cursor", async (t) => {
  const e = editor(12); // room for 9 characters after "> "
  e.feed("abcdefghijklmno");
  t.equal(e.render(), "\r\x1b[2K> ghijklmno\x1b[12G");
  e.feed("\x01");
  t.equal(e.render(), "\r\x1b[2K> abcdefghi\x1b[3G");
});

t.test("styling: names coloured consistently, plain without colour, control characters shown", async (t) => {
  const plain = { color: false, timestamps: false };
  const color = { color: true, timestamps: false };
  t.equal(styleLine("<bob> hi", plain), "<bob> hi");
  t.equal(styleLine("<bob> hi", color), `\x1b[1;${colorFor("bob")}m<bob>\x1b[0m hi`);
  t.equal(colorFor("bob"), colorFor("bob"));
  t.not(colorFor("alice"), colorFor("bob"), "different names get different colours here");
  t.equal(styleLine("* bob waves", color), `\x1b[1;${colorFor("bob")}m* bob\x1b[0m waves`);
  t.equal(styleLine("Client (127.0.0.1, 5) connected", color), "\x1b[2mClient (127.0.0.1, 5) connected\x1b[0m");
  t.equal(styleLine("Error: no", color), "\x1b[31mError: no\x1b[0m");
  t.equal(visible("a\x1b[2Jb\x07\x7f"), "a^[[2Jb^G^?");
  t.equal(styleLine("<x> \x1b[31m", plain), "<x> ^[[31m", "a sender cannot inject escape sequences");
  const at = new Date(2024, 0, 1, 9, 5, 7).getTime();
  t.equal(styleLine("<bob> hi", { ...plain, timestamps: true, now: () => at }), "[09:05:07] <bob> hi");
  t.equal(styleOwn("me", plain), "> me");
});
