// The client's line editor, without a terminal: keys in, text and escape sequences out.
import t from "tap";
import { displayWidth, escapeLength, LineEditor } from "../../lib/client/line-editor.ts";

const newEditor = (columns = 80) => new LineEditor({ prompt: "> ", columns: () => columns });
const submitted = (actions: ReturnType<LineEditor["feed"]>) => actions.flatMap((action) => (action.kind === "submit" ? [action.line] : []));

t.test("typing, moving and deleting", async (t) => {
  const editor = newEditor();
  t.same(editor.feed("helo"), []);
  editor.feed("\x1b[D"); // left
  editor.feed("l");
  t.equal(editor.text, "hello");
  t.equal(editor.position, 4);
  editor.feed("\x01"); // Ctrl-A
  editor.feed("\x1b[3~"); // Delete
  t.equal(editor.text, "ello");
  editor.feed("\x05 world\x17"); // Ctrl-E, type, Ctrl-W
  t.equal(editor.text, "ello ");
  editor.feed("\x7f\x7f");
  t.equal(editor.text, "ell");
  editor.feed("\x15");
  t.equal(editor.text, "");
  editor.feed("héllo → ✓");
  t.equal(editor.text, "héllo → ✓", "non-ASCII characters are one character each");
  editor.feed("\x1b[H\x0b");
  t.equal(editor.text, "", "Home then Ctrl-K clears");
});

t.test("Enter submits and clears; Ctrl-C quits; Ctrl-D quits only on an empty line", async (t) => {
  const editor = newEditor();
  t.same(submitted(editor.feed("one\rtwo\r")), ["one", "two"]);
  t.equal(editor.text, "");
  editor.feed("x");
  t.same(editor.feed("\x04"), [], "Ctrl-D with text deletes under the cursor");
  t.same(editor.feed("\x1b[D\x04"), []);
  t.equal(editor.text, "");
  t.same(editor.feed("\x04"), [{ kind: "quit" }]);
  t.same(newEditor().feed("abc\x03def"), [{ kind: "quit" }]);
});

t.test("history with the arrow keys keeps the line being typed", async (t) => {
  const editor = newEditor();
  editor.feed("first\rsecond\r");
  editor.feed("draft");
  editor.feed("\x1b[A");
  t.equal(editor.text, "second");
  editor.feed("\x1b[A\x1b[A");
  t.equal(editor.text, "first", "stops at the oldest");
  editor.feed("\x1b[B\x1b[B");
  t.equal(editor.text, "draft", "down past the newest brings the draft back");
  editor.feed("\x1bOA"); // application-mode arrow
  t.equal(editor.text, "second");
  t.same(submitted(editor.feed("\r")), ["second"]);
});

t.test("an escape sequence split across reads is put back together", async (t) => {
  const editor = newEditor();
  editor.feed("ab\x1b");
  editor.feed("[");
  t.equal(editor.text, "ab", "nothing is inserted while the sequence is incomplete");
  editor.feed("Dc");
  t.equal(editor.text, "acb");
  t.equal(escapeLength("\x1b[1;5C", 0), 6);
  t.equal(escapeLength("\x1b[1;5", 0), 0);
  t.equal(escapeLength("\x1bx", 0), 2);
});

t.test("render draws prompt and input with the cursor in place; printAbove keeps the input", async (t) => {
  const editor = newEditor();
  editor.feed("hello\x1b[D\x1b[D");
  t.equal(editor.render(), "\r\x1b[2K> hello\x1b[6G");
  const out = editor.printAbove("<bob> hi");
  t.equal(out, "\r\x1b[2K<bob> hi\r\n\r\x1b[2K> hello\x1b[6G", "the incoming line, then the input drawn again");
  t.equal(editor.text, "hello");
});

t.test("a line wider than the terminal scrolls sideways around the cursor", async (t) => {
  const editor = newEditor(12); // room for 9 characters after "> "
  editor.feed("abcdefghijklmno");
  t.equal(editor.render(), "\r\x1b[2K> ghijklmno\x1b[12G");
  editor.feed("\x01");
  t.equal(editor.render(), "\r\x1b[2K> abcdefghi\x1b[3G");
});

t.test("every key in the key table does what it is bound to", async (t) => {
  /** The editor after typing `before`, then `keys`: its text and cursor. */
  const after = (keys: string, before = "abcd\x1b[D\x1b[D") => {
    const editor = newEditor();
    editor.feed(before);
    editor.feed(keys);
    return [editor.text, editor.position];
  };
  // Cursor starts between "ab" and "cd".
  for (const left of ["\x02", "\x1b[D", "\x1bOD"]) t.same(after(left), ["abcd", 1], `${JSON.stringify(left)}: left`);
  for (const right of ["\x06", "\x1b[C", "\x1bOC"]) t.same(after(right), ["abcd", 3], `${JSON.stringify(right)}: right`);
  for (const home of ["\x01", "\x1b[H", "\x1bOH", "\x1b[1~", "\x1b[7~"]) t.same(after(home), ["abcd", 0], `${JSON.stringify(home)}: home`);
  for (const end of ["\x05", "\x1b[F", "\x1bOF", "\x1b[4~", "\x1b[8~"]) t.same(after(end), ["abcd", 4], `${JSON.stringify(end)}: end`);
  for (const back of ["\x7f", "\b"]) t.same(after(back), ["acd", 1], `${JSON.stringify(back)}: delete backward`);
  for (const del of ["\x1b[3~", "\x04"]) t.same(after(del), ["abd", 2], `${JSON.stringify(del)}: delete forward`);
  t.same(after("\x0b"), ["ab", 2], "Ctrl-K: delete to the end");
  t.same(after("\x15"), ["cd", 0], "Ctrl-U: delete to the start");
  t.same(after("\x17", "one two"), ["one ", 4], "Ctrl-W: delete the word before the cursor");
  t.same(after("\x17", "one two  "), ["one ", 4], "Ctrl-W: spaces before the cursor go with the word");
  t.same(submitted(newEditor().feed("a\nb\r")), ["a", "b"], "LF and CR both submit");

  const editor = newEditor();
  editor.feed("first\rsecond\r");
  for (const [back, forward] of [
    ["\x10", "\x0e"],
    ["\x1b[A", "\x1b[B"],
    ["\x1bOA", "\x1bOB"],
  ] as const) {
    editor.feed(back);
    editor.feed(back);
    t.equal(editor.text, "first", `${JSON.stringify(back)}: back through history`);
    editor.feed(forward);
    t.equal(editor.text, "second", `${JSON.stringify(forward)}: forward through history`);
    editor.feed(forward);
    t.equal(editor.text, "", "forward past the newest: the (empty) draft");
  }
});

t.test("keys not in the table change nothing", async (t) => {
  const editor = newEditor();
  editor.feed("ab\x1b[D");
  const unbound = ["\x07", "\x00", "\x0c", "\x1b[2~", "\x1b[15~", "\x1bOP", "\x1bx", "\x1b[1;5C"];
  for (const key of unbound) {
    t.same(editor.feed(key), [], `${JSON.stringify(key)}: no action`);
    t.same([editor.text, editor.position], ["ab", 1], `${JSON.stringify(key)}: text and cursor unchanged`);
  }
});

t.test("wide characters: CJK and emoji take two columns, and the cursor is placed by columns", async (t) => {
  const editor = newEditor();
  editor.feed("日本語");
  t.equal(editor.column, 6);
  t.equal(editor.render(), "\r\x1b[2K> 日本語\x1b[9G", "prompt 2 + 6 columns: the cursor in column 9");
  editor.feed("\x1b[D");
  t.equal(editor.render(), "\r\x1b[2K> 日本語\x1b[7G", "one Left is one character, two columns");
  editor.feed("x");
  t.equal(editor.text, "日本x語");
  t.equal(editor.render(), "\r\x1b[2K> 日本x語\x1b[8G");
  const emoji = newEditor();
  emoji.feed("a😀b");
  t.equal(emoji.render(), "\r\x1b[2K> a😀b\x1b[7G", "an emoji is two columns");
  t.same([displayWidth("日"), displayWidth("😀"), displayWidth("a"), displayWidth("e\u0301"), displayWidth("👩‍💻")], [2, 2, 1, 1, 2]);
});

t.test("a character is a grapheme cluster: emoji sequences and combining marks move and delete as one", async (t) => {
  const editor = newEditor();
  editor.feed("a👩‍💻b");
  t.equal(editor.position, 3, "a, the woman technologist (four code points), b");
  editor.feed("\x1b[D\x7f");
  t.equal(editor.text, "ab", "Backspace deletes the whole sequence");
  t.equal(editor.render(), "\r\x1b[2K> ab\x1b[4G");
  const flags = newEditor();
  flags.feed("🇫🇷🇯🇵\x1b[D\x1b[3~");
  t.equal(flags.text, "🇫🇷", "Delete takes a whole flag (two regional indicators)");
  const accent = newEditor();
  accent.feed("cafe");
  accent.feed("\u0301"); // a combining acute accent typed after the e
  t.equal(accent.position, 4, "the accent joins the e");
  t.equal(accent.render(), "\r\x1b[2K> cafe\u0301\x1b[7G", "and takes no column");
  accent.feed("\x7f");
  t.equal(accent.text, "caf", "Backspace takes the e and its accent");
  const tone = newEditor();
  tone.feed("👍");
  tone.feed("🏽"); // a skin tone typed after the emoji
  t.equal(tone.position, 1, "a skin tone joins the emoji before it");
  t.same(submitted(tone.feed("\r")), ["👍🏽"]);
  tone.feed("\x1b[A");
  t.equal(tone.position, 1, "a line recalled from history is split the same way");
});

t.test("a line of wide characters wider than the terminal scrolls by columns", async (t) => {
  const editor = newEditor(12); // room for 9 columns after "> "
  editor.feed("日本語日本語"); // 12 columns
  t.equal(editor.render(), "\r\x1b[2K> 語日本語\x1b[11G", "the last four (8 columns) fit before the cursor");
  editor.feed("\x01");
  t.equal(editor.render(), "\r\x1b[2K> 日本語日\x1b[3G", "from the start: four characters, a fifth would not fit");
  const mixed = newEditor(12);
  mixed.feed("abcdefgh日");
  t.equal(mixed.render(), "\r\x1b[2K> bcdefgh日\x1b[12G", "a wide character at the edge pushes the view by as much as needed");
});

t.test("C1 control characters are not typed into the line", async (t) => {
  const editor = newEditor();
  editor.feed("a\u0085\u009bb");
  t.equal(editor.text, "ab");
});

/** An editor whose Tab completes the word after `/join ` from `words` (what rooms.ts does, reduced to its shape). */
const completing = (words: string[], columns = 80) => {
  const asked: string[] = [];
  const editor = new LineEditor({
    prompt: "> ",
    columns: () => columns,
    complete: (before) => {
      asked.push(before);
      const typed = /^(\/join )(\S*)$/.exec(before);
      if (!typed) return null;
      return { start: typed[1]!.length, candidates: words.filter((word) => word.startsWith(typed[2]!)), none: "nothing" };
    },
  });
  return { editor, asked };
};

t.test("Tab: one candidate replaces the word before the cursor", async (t) => {
  const { editor, asked } = completing(["#rust", "#go"]);
  editor.feed("/join #r\t");
  t.equal(editor.text, "/join #rust");
  t.equal(editor.position, 11, "the cursor after the completed word");
  t.same(asked, ["/join #r"], "the hook is given the text before the cursor");
  t.same(editor.feed("\t"), [], "Tab on a word that is already the one candidate: nothing to do, nothing to list");
  t.equal(editor.text, "/join #rust");
  t.same(submitted(editor.feed("\r")), ["/join #rust"]);
});

t.test("Tab: several candidates put their common start in, then are listed", async (t) => {
  const { editor } = completing(["#golang", "#gossip", "#rust"]);
  t.same(editor.feed("/join #g\t"), [], "the common start #go is added: nothing to show");
  t.equal(editor.text, "/join #go");
  t.same(editor.feed("\t"), [{ kind: "candidates", candidates: ["#golang", "#gossip"], none: "nothing" }], "a second Tab lists them");
  t.equal(editor.text, "/join #go", "listing changes nothing");
  editor.feed("s\t");
  t.equal(editor.text, "/join #gossip");
  const empty = completing(["#rust"]).editor;
  t.same(empty.feed("/join #x\t"), [{ kind: "candidates", candidates: [], none: "nothing" }], "no candidate: the hook's word for it");
  t.equal(empty.text, "/join #x");
});

t.test("Tab in the middle of the line completes the word before the cursor, keeps what follows", async (t) => {
  const { editor } = completing(["#rust"]);
  editor.feed("/join #ru later\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D");
  t.equal(editor.position, 9);
  editor.feed("\t");
  t.equal(editor.text, "/join #rust later");
  t.equal(editor.position, 11);
  t.equal(editor.render(), "\r\x1b[2K> /join #rust later\x1b[14G");
});

t.test("Tab: nothing to complete, or no hook, leaves the line alone", async (t) => {
  const { editor } = completing(["#rust"]);
  t.same(editor.feed("hello\t"), [], "the hook says null: no action");
  t.equal(editor.text, "hello", "and no tab character typed");
  const plain = newEditor();
  t.same(plain.feed("/join #r\t"), [], "without a hook Tab is ignored, as before");
  t.equal(plain.text, "/join #r");
  const odd = new LineEditor({ prompt: "> ", columns: () => 80, complete: () => ({ start: 1, candidates: ["x"] }) });
  odd.feed("😀a\t");
  t.equal(odd.text, "😀a", "a start inside a character (half an emoji) completes nothing");
});

t.test("setPrompt: the next render draws the new prompt, the cursor placed after it", async (t) => {
  const editor = newEditor();
  editor.feed("hi");
  editor.setPrompt("#rust> ");
  t.equal(editor.currentPrompt, "#rust> ");
  t.equal(editor.render(), "\r\x1b[2K#rust> hi\x1b[10G");
  t.equal(editor.printAbove("You are now in #rust"), "\r\x1b[2KYou are now in #rust\r\n\r\x1b[2K#rust> hi\x1b[10G");
  const narrow = new LineEditor({ prompt: "> ", columns: () => 12 });
  narrow.feed("abcdefghij");
  narrow.setPrompt("#rust> ");
  t.equal(narrow.render(), "\r\x1b[2K#rust> ghij\x1b[12G", "a longer prompt leaves less room: the input scrolls");
});
