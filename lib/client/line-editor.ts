/**
 * The interactive client's input row: a one-line editor at the bottom of
 * the screen, with what others say printed above it.
 *
 * Pure logic, no I/O: keys go in (`feed`), escape sequences come out
 * (`render`, `printAbove`), so it is tested without a terminal. The
 * program puts stdin in raw mode and writes what comes out to stdout.
 *
 * Why not let the terminal echo: in cooked mode an incoming line is printed
 * in the middle of what the user is typing and the two are torn apart.
 * Here every incoming line clears the input row, prints itself, and draws
 * the input row again, cursor where it was.
 *
 * The input is kept as grapheme clusters (what a reader takes for one
 * character: `é` as e + combining accent, 👩‍💻, 🇫🇷), each with its width in
 * terminal columns from `string-width`: CJK and emoji take two, combining
 * marks none. The cursor moves, and Backspace deletes, a whole cluster; the
 * cursor is placed by columns, not characters. A line wider than the
 * terminal scrolls sideways.
 *
 * Tab asks the program what the word before the cursor may become
 * (`complete`): one candidate replaces it; several put their common start
 * in its place, or, when that adds nothing, are handed back to be listed
 * (bash's way, in one press instead of two).
 */
import stringWidth from "string-width";

/** What a key press asks the program to do. */
export type EditorAction =
  | { readonly kind: "submit"; readonly line: string }
  | { readonly kind: "quit" }
  /** Tab could not settle on one word: show these (none: show `none`, when given). */
  | { readonly kind: "candidates"; readonly candidates: readonly string[]; readonly none?: string };

/** What Tab may put in place of the word before the cursor. */
export interface EditorCompletion {
  /** Where the word starts, in UTF-16 units of the text before the cursor (the word runs to the cursor). */
  start: number;
  /** What the word may become, whole. */
  candidates: readonly string[];
  /** What to say when there is no candidate. */
  none?: string;
}

/** Editor settings. */
export interface EditorOptions {
  /** Shown before the input, e.g. `> `. */
  prompt: string;
  /** The terminal's width now (it may change). */
  columns: () => number;
  /** Lines kept for the arrow keys. */
  historySize?: number;
  /**
   * Tab: given the text before the cursor, what the word before the
   * cursor may become, or null when there is nothing to complete (Tab
   * then does nothing). Without it Tab is ignored.
   */
  complete?: (before: string) => EditorCompletion | null;
}

/** What a bound key does to the editor. */
type Command =
  | "submit"
  | "quit"
  | "deleteOrQuit"
  | "deleteForward"
  | "deleteBackward"
  | "deleteWordBackward"
  | "deleteToEnd"
  | "deleteToStart"
  | "left"
  | "right"
  | "home"
  | "end"
  | "historyBack"
  | "historyForward"
  | "complete";

/**
 * The key table: a control character or a complete escape sequence, and
 * the command it runs. Keys not listed (other control characters, function
 * keys, Alt combinations) are ignored: they would corrupt the row.
 */
const KEYS: ReadonlyMap<string, Command> = new Map<string, Command>([
  ["\r", "submit"],
  ["\n", "submit"],
  ["\x03", "quit"], // Ctrl-C
  ["\x04", "deleteOrQuit"], // Ctrl-D: end of input on an empty line, else delete
  ["\x7f", "deleteBackward"], // Backspace (DEL)
  ["\b", "deleteBackward"], // Ctrl-H
  ["\x1b[3~", "deleteForward"], // Delete
  ["\x17", "deleteWordBackward"], // Ctrl-W
  ["\x0b", "deleteToEnd"], // Ctrl-K
  ["\x15", "deleteToStart"], // Ctrl-U
  ["\x02", "left"], // Ctrl-B
  ["\x1b[D", "left"],
  ["\x1bOD", "left"],
  ["\x06", "right"], // Ctrl-F
  ["\x1b[C", "right"],
  ["\x1bOC", "right"],
  ["\x01", "home"], // Ctrl-A
  ["\x1b[H", "home"],
  ["\x1bOH", "home"],
  ["\x1b[1~", "home"],
  ["\x1b[7~", "home"],
  ["\x05", "end"], // Ctrl-E
  ["\x1b[F", "end"],
  ["\x1bOF", "end"],
  ["\x1b[4~", "end"],
  ["\x1b[8~", "end"],
  ["\x10", "historyBack"], // Ctrl-P
  ["\x1b[A", "historyBack"], // Up
  ["\x1bOA", "historyBack"],
  ["\x0e", "historyForward"], // Ctrl-N
  ["\x1b[B", "historyForward"], // Down
  ["\x1bOB", "historyForward"],
  ["\t", "complete"], // Tab
]);

const ESC = "\x1b";
/** Move to column 1 and clear the row. */
const CLEAR_ROW = "\r\x1b[2K";

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** `text` split into grapheme clusters. */
export function clusters(text: string): string[] {
  return Array.from(graphemes.segment(text), (s) => s.segment);
}

/** Columns a terminal gives `text` (East Asian wide characters and emoji: 2; combining marks: 0). */
export function displayWidth(text: string): number {
  return stringWidth(text);
}

/** A line editor with history: Emacs-style keys, arrows, Home/End, Delete. */
export class LineEditor {
  /** The input, one grapheme cluster per element. */
  private chars: string[] = [];
  /** Each cluster's width in columns, as `chars`. */
  private widths: number[] = [];
  /** Before which cluster the cursor is. */
  private cursor = 0;
  /** First cluster shown when the input is wider than the terminal. */
  private scroll = 0;
  private readonly history: string[] = [];
  /** Position while browsing history (history.length: the line being typed). */
  private browsing = 0;
  private draft = "";
  /** An escape sequence split across reads. */
  private pending = "";

  /** Each command of the key table; an action when the program must act on it. */
  private readonly commands: Record<Command, () => EditorAction | void> = {
    submit: () => this.submit(),
    quit: () => ({ kind: "quit" }),
    deleteOrQuit: () => (this.chars.length === 0 ? { kind: "quit" } : this.deleteForward()),
    deleteForward: () => this.deleteForward(),
    deleteBackward: () => {
      if (this.cursor > 0) this.remove(--this.cursor, 1);
    },
    deleteWordBackward: () => this.deleteWordBackward(),
    deleteToEnd: () => this.remove(this.cursor, this.chars.length - this.cursor),
    deleteToStart: () => {
      this.remove(0, this.cursor);
      this.cursor = 0;
    },
    left: () => {
      this.cursor = Math.max(0, this.cursor - 1);
    },
    right: () => {
      this.cursor = Math.min(this.chars.length, this.cursor + 1);
    },
    home: () => {
      this.cursor = 0;
    },
    end: () => {
      this.cursor = this.chars.length;
    },
    historyBack: () => this.recall(-1),
    historyForward: () => this.recall(1),
    complete: () => this.complete(),
  };

  /** Shown before the input; `setPrompt` changes it. */
  private prompt: string;

  constructor(private readonly options: EditorOptions) {
    this.prompt = options.prompt;
  }

  /** Show `prompt` before the input from now on (drawn by the next `render` or `printAbove`). */
  setPrompt(prompt: string): void {
    this.prompt = prompt;
  }

  /** The prompt shown now. */
  get currentPrompt(): string {
    return this.prompt;
  }

  /** The input as typed so far. */
  get text(): string {
    return this.chars.join("");
  }

  /** Where the cursor is, in grapheme clusters from the start of the input. */
  get position(): number {
    return this.cursor;
  }

  /** Where the cursor is, in columns from the start of the input. */
  get column(): number {
    return this.widthOf(0, this.cursor);
  }

  /** Handle typed input (as decoded from stdin); returns what the program must do. */
  feed(input: string): EditorAction[] {
    const actions: EditorAction[] = [];
    const text = this.pending + input;
    this.pending = "";
    let i = 0;
    while (i < text.length) {
      let key: string;
      if (text[i] === ESC) {
        const length = escapeLength(text, i);
        if (length === 0) {
          this.pending = text.slice(i); // the rest of the sequence comes with the next read
          break;
        }
        key = text.slice(i, i + length);
      } else {
        // A run of printable characters is inserted at once, so that a
        // character and the combining marks after it form one cluster.
        let end = i;
        while (end < text.length && isPrintable(text.charCodeAt(end))) end++;
        if (end > i) {
          this.insert(text.slice(i, end));
          i = end;
          continue;
        }
        key = String.fromCodePoint(text.codePointAt(i)!);
      }
      i += key.length;
      const command = KEYS.get(key);
      const action = command === undefined ? undefined : this.commands[command]();
      if (!action) continue;
      actions.push(action);
      if (action.kind === "quit") break;
    }
    return actions;
  }

  /**
   * Escape sequences that draw the input row, cursor in place. What fits
   * is counted in columns: the row holds the prompt, then as much of the
   * input as fits before the last column (kept for the cursor).
   */
  render(): string {
    const { prompt } = this;
    const promptWidth = displayWidth(prompt);
    const room = Math.max(2, this.options.columns() - promptWidth - 1);
    const { widths } = this;
    const n = widths.length;
    // The cursor in view: `before` columns from the first shown character to it.
    if (this.cursor < this.scroll) this.scroll = this.cursor;
    let before = this.widthOf(this.scroll, this.cursor);
    while (before > room) before -= widths[this.scroll++]!;
    // Then as little hidden on the left as fits.
    let toEnd = before + this.widthOf(this.cursor, n);
    while (this.scroll > 0 && toEnd + widths[this.scroll - 1]! <= room) {
      this.scroll--;
      before += widths[this.scroll]!;
      toEnd += widths[this.scroll]!;
    }
    let end = this.scroll;
    for (let used = 0; end < n && used + widths[end]! <= room; end++) used += widths[end]!;
    const shown = this.chars.slice(this.scroll, end).join("");
    return `${CLEAR_ROW}${prompt}${shown}\x1b[${promptWidth + before + 1}G`;
  }

  /** Print `text` (one line, already styled) above the input row, then redraw the input. */
  printAbove(text: string): string {
    return `${CLEAR_ROW}${text}\r\n${this.render()}`;
  }

  /** Clear the input row (when the program ends). */
  clear(): string {
    return CLEAR_ROW;
  }

  /**
   * Insert typed text at the cursor, split into clusters together with the
   * cluster before the cursor: a combining mark typed after a letter, or
   * a skin tone after an emoji, joins it.
   */
  private insert(text: string): void {
    const start = Math.max(0, this.cursor - 1);
    const added = clusters(this.chars.slice(start, this.cursor).join("") + text);
    // concat, not splice(...added): a long paste would be too many arguments.
    this.chars = this.chars.slice(0, start).concat(added, this.chars.slice(this.cursor));
    this.widths = this.widths.slice(0, start).concat(added.map(displayWidth), this.widths.slice(this.cursor));
    this.cursor = start + added.length;
  }

  private deleteForward(): void {
    this.remove(this.cursor, 1);
  }

  /** Remove `count` clusters from `start`. */
  private remove(start: number, count: number): void {
    this.chars.splice(start, count);
    this.widths.splice(start, count);
  }

  /** Replace the input with these clusters (the cursor is the caller's). */
  private setText(chars: string[]): void {
    this.chars = chars;
    this.widths = chars.map(displayWidth);
  }

  /** Columns taken by the clusters from `from` up to `to`. */
  private widthOf(from: number, to: number): number {
    let width = 0;
    for (let i = from; i < to; i++) width += this.widths[i]!;
    return width;
  }

  private submit(): EditorAction {
    const line = this.text;
    if (line && this.history[this.history.length - 1] !== line) {
      this.history.push(line);
      if (this.history.length > (this.options.historySize ?? 500)) this.history.shift();
    }
    this.browsing = this.history.length;
    this.draft = "";
    this.setText([]);
    this.cursor = 0;
    this.scroll = 0;
    return { kind: "submit", line };
  }

  /** Up (-1) or down (+1) through history; the line being typed is kept as a draft. */
  private recall(step: -1 | 1): void {
    const next = this.browsing + step;
    if (next < 0 || next > this.history.length) return;
    if (this.browsing === this.history.length) this.draft = this.text;
    this.browsing = next;
    this.setText(clusters(next === this.history.length ? this.draft : this.history[next]!));
    this.cursor = this.chars.length;
  }

  /**
   * Tab: the word before the cursor becomes the one candidate, or the
   * candidates' common start when that changes it; otherwise the
   * candidates (or none) go back to the program to be shown.
   */
  private complete(): EditorAction | void {
    const found = this.options.complete?.(this.chars.slice(0, this.cursor).join(""));
    if (!found) return;
    // The word's first cluster: `start` must fall between clusters.
    let first = 0;
    for (let units = 0; units < found.start; first++) {
      if (first >= this.cursor) return;
      units += this.chars[first]!.length;
      if (units > found.start) return;
    }
    const word = this.chars.slice(first, this.cursor).join("");
    const { candidates } = found;
    const common = candidates.length === 1 ? candidates[0]! : commonStart(candidates);
    if (candidates.length > 0 && common !== word && common.length >= word.length) {
      const added = clusters(common);
      this.chars = this.chars.slice(0, first).concat(added, this.chars.slice(this.cursor));
      this.widths = this.widths.slice(0, first).concat(added.map(displayWidth), this.widths.slice(this.cursor));
      this.cursor = first + added.length;
      return;
    }
    if (candidates.length === 1) return; // the word is the one candidate already
    return { kind: "candidates", candidates, ...(found.none === undefined ? {} : { none: found.none }) };
  }

  /** Ctrl-W: the spaces before the cursor, then the word before them. */
  private deleteWordBackward(): void {
    let start = this.cursor;
    while (start > 0 && this.chars[start - 1] === " ") start--;
    while (start > 0 && this.chars[start - 1] !== " ") start--;
    this.remove(start, this.cursor - start);
    this.cursor = start;
  }
}

/** The longest start, in whole grapheme clusters, all of `words` share ("" for none). */
function commonStart(words: readonly string[]): string {
  if (words.length === 0) return "";
  let common = clusters(words[0]!);
  for (const word of words) {
    const other = clusters(word);
    let same = 0;
    while (same < common.length && same < other.length && common[same] === other[same]) same++;
    common = common.slice(0, same);
  }
  return common.join("");
}

/** Whether a UTF-16 code unit is typed text rather than a control key. */
function isPrintable(code: number): boolean {
  return code >= 0x20 && code !== 0x7f && (code < 0x80 || code > 0x9f);
}

/**
 * Length of the escape sequence at `s[i]` (an ESC), or 0 when it is not
 * complete yet. CSI is ESC [ parameters final-byte; SS3 is ESC O letter;
 * anything else is ESC plus one character (Alt+key).
 */
export function escapeLength(s: string, i: number): number {
  if (i + 1 >= s.length) return 0;
  const kind = s[i + 1];
  if (kind === "O") return i + 2 < s.length ? 3 : 0;
  if (kind !== "[") return 2;
  for (let j = i + 2; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c >= 0x40 && c <= 0x7e) return j - i + 1;
  }
  return 0;
}
