/**
 * The interactive client's terminal: a one-line editor at the bottom of
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
 * Limitation: characters are assumed one column wide (no CJK or emoji
 * widths); a line longer than the terminal scrolls sideways.
 */

/** What a key press asks the program to do. */
export type EditorAction = { readonly kind: "submit"; readonly line: string } | { readonly kind: "quit" };

/** Editor settings. */
export interface EditorOptions {
  /** Shown before the input, e.g. `> `. */
  prompt: string;
  /** The terminal's width now (it may change). */
  columns: () => number;
  /** Lines kept for the arrow keys. */
  historySize?: number;
}

const ESC = "\x1b";
/** Move to column 1 and clear the row. */
const CLEAR_ROW = "\r\x1b[2K";

/** A line editor with history: Emacs-style keys, arrows, Home/End, Delete. */
export class LineEditor {
  /** The input, one code point per element. */
  private chars: string[] = [];
  private cursor = 0;
  /** First character shown when the input is wider than the terminal. */
  private scroll = 0;
  private readonly history: string[] = [];
  /** Position while browsing history (history.length: the line being typed). */
  private browsing = 0;
  private draft = "";
  /** An escape sequence split across reads. */
  private pending = "";

  constructor(private readonly options: EditorOptions) {}

  /** The input as typed so far. */
  get text(): string {
    return this.chars.join("");
  }

  /** Where the cursor is, in characters from the start of the input. */
  get position(): number {
    return this.cursor;
  }

  /** Handle typed input (as decoded from stdin); returns what the program must do. */
  feed(input: string): EditorAction[] {
    const actions: EditorAction[] = [];
    const s = this.pending + input;
    this.pending = "";
    let i = 0;
    while (i < s.length) {
      const c = s[i]!;
      if (c === ESC) {
        const len = escapeLength(s, i);
        if (len === 0) {
          this.pending = s.slice(i); // the rest of the sequence comes with the next read
          break;
        }
        this.escape(s.slice(i, i + len));
        i += len;
        continue;
      }
      const cp = s.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      i += ch.length;
      if (cp >= 0x20 && cp !== 0x7f) {
        this.insert(ch);
        continue;
      }
      const action = this.control(ch);
      if (action) actions.push(action);
      if (action?.kind === "quit") break;
    }
    return actions;
  }

  /** Escape sequences that draw the input row, cursor in place. */
  render(): string {
    const { prompt } = this.options;
    const room = Math.max(1, this.options.columns() - prompt.length - 1);
    if (this.cursor < this.scroll) this.scroll = this.cursor;
    if (this.cursor > this.scroll + room) this.scroll = this.cursor - room;
    if (this.chars.length - this.scroll < room) this.scroll = Math.max(0, this.chars.length - room);
    const shown = this.chars.slice(this.scroll, this.scroll + room).join("");
    return `${CLEAR_ROW}${prompt}${shown}\x1b[${prompt.length + this.cursor - this.scroll + 1}G`;
  }

  /** Print `text` (one line, already styled) above the input row, then redraw the input. */
  printAbove(text: string): string {
    return `${CLEAR_ROW}${text}\r\n${this.render()}`;
  }

  /** Clear the input row (when the program ends). */
  clear(): string {
    return CLEAR_ROW;
  }

  private insert(ch: string): void {
    this.chars.splice(this.cursor, 0, ch);
    this.cursor++;
  }

  private control(ch: string): EditorAction | null {
    switch (ch) {
      case "\r":
      case "\n":
        return this.submit();
      case "\x03": // Ctrl-C
        return { kind: "quit" };
      case "\x04": // Ctrl-D: end of input on an empty line, else delete
        if (this.chars.length === 0) return { kind: "quit" };
        this.chars.splice(this.cursor, 1);
        return null;
      case "\x7f":
      case "\b":
        if (this.cursor > 0) this.chars.splice(--this.cursor, 1);
        return null;
      case "\x01": // Ctrl-A
        this.cursor = 0;
        return null;
      case "\x05": // Ctrl-E
        this.cursor = this.chars.length;
        return null;
      case "\x02": // Ctrl-B
        this.cursor = Math.max(0, this.cursor - 1);
        return null;
      case "\x06": // Ctrl-F
        this.cursor = Math.min(this.chars.length, this.cursor + 1);
        return null;
      case "\x0b": // Ctrl-K: delete to the end
        this.chars.length = this.cursor;
        return null;
      case "\x15": // Ctrl-U: delete to the start
        this.chars.splice(0, this.cursor);
        this.cursor = 0;
        return null;
      case "\x17": // Ctrl-W: delete the word before the cursor
        this.deleteWord();
        return null;
      case "\x10": // Ctrl-P
        this.recall(-1);
        return null;
      case "\x0e": // Ctrl-N
        this.recall(1);
        return null;
      default:
        return null; // other control characters would corrupt the row
    }
  }

  private escape(seq: string): void {
    switch (seq) {
      case "\x1b[A":
      case "\x1bOA":
        return this.recall(-1);
      case "\x1b[B":
      case "\x1bOB":
        return this.recall(1);
      case "\x1b[C":
      case "\x1bOC":
        this.cursor = Math.min(this.chars.length, this.cursor + 1);
        return;
      case "\x1b[D":
      case "\x1bOD":
        this.cursor = Math.max(0, this.cursor - 1);
        return;
      case "\x1b[H":
      case "\x1bOH":
      case "\x1b[1~":
      case "\x1b[7~":
        this.cursor = 0;
        return;
      case "\x1b[F":
      case "\x1bOF":
      case "\x1b[4~":
      case "\x1b[8~":
        this.cursor = this.chars.length;
        return;
      case "\x1b[3~":
        this.chars.splice(this.cursor, 1);
        return;
      default:
        return; // function keys, Alt combinations: ignored
    }
  }

  private submit(): EditorAction {
    const line = this.text;
    if (line && this.history[this.history.length - 1] !== line) {
      this.history.push(line);
      if (this.history.length > (this.options.historySize ?? 500)) this.history.shift();
    }
    this.browsing = this.history.length;
    this.draft = "";
    this.chars = [];
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
    this.chars = Array.from(next === this.history.length ? this.draft : this.history[next]!);
    this.cursor = this.chars.length;
  }

  private deleteWord(): void {
    let start = this.cursor;
    while (start > 0 && this.chars[start - 1] === " ") start--;
    while (start > 0 && this.chars[start - 1] !== " ") start--;
    this.chars.splice(start, this.cursor - start);
    this.cursor = start;
  }
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

/** How received lines are shown. */
export interface StyleOptions {
  /** ANSI colours (off for NO_COLOR or a pipe). */
  color: boolean;
  /** `[HH:MM:SS] ` before each line. */
  timestamps: boolean;
  /** Wall clock, ms since the epoch. */
  now?: () => number;
}

/** Colours names are drawn from: the same name always gets the same one. */
const PALETTE = [31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96];

/** The colour code for a sender's name: a hash, so it is stable across lines and sessions. */
export function colorFor(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return PALETTE[(h >>> 0) % PALETTE.length]!;
}

const sgr = (code: string, text: string) => `\x1b[${code}m${text}\x1b[0m`;

/** `[HH:MM:SS] `, local time. */
export function timestamp(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `[${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}] `;
}

/**
 * Control characters shown as `^X` (and DEL as `^?`): a received line must
 * not move the cursor or change colours, or the input row is torn. Bidi
 * embedding/override/isolate controls are shown as `<U+XXXX>` too: they
 * would make a peer's text read differently from what it is.
 */
export function visible(text: string): string {
  return text.replace(/[\x00-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0);
    if (code >= 0x2000) return `<U+${code.toString(16).toUpperCase()}>`;
    return code === 0x7f ? "^?" : code < 0x20 ? `^${String.fromCharCode(code + 0x40)}` : `\\x${code.toString(16)}`;
  });
}

/**
 * A received line, ready for the terminal: `<NAME> text` with NAME in its
 * colour, `* NAME action` likewise, server notices dimmed, errors in red.
 */
export function styleLine(line: string, options: StyleOptions): string {
  const text = visible(line);
  const stamp = options.timestamps ? timestamp((options.now ?? Date.now)()) : "";
  if (!options.color) return stamp + text;
  const dimStamp = stamp ? sgr("2", stamp) : "";
  const message = /^<([^>]+)> /.exec(text);
  if (message) return dimStamp + sgr(`1;${colorFor(message[1]!)}`, `<${message[1]}>`) + text.slice(message[0].length - 1);
  const action = /^\* (\S+) /.exec(text);
  if (action) return dimStamp + sgr(`1;${colorFor(action[1]!)}`, `* ${action[1]}`) + text.slice(action[0].length - 1);
  if (text.startsWith("Error: ")) return dimStamp + sgr("31", text);
  return dimStamp + sgr("2", text);
}

/** The user's own line, echoed above the input once sent. */
export function styleOwn(line: string, options: StyleOptions): string {
  const stamp = options.timestamps ? timestamp((options.now ?? Date.now)()) : "";
  const text = `${stamp}> ${visible(line)}`;
  return options.color ? sgr("2", text) : text;
}
