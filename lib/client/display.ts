/**
 * What a terminal is shown of a received line: neutralised (`visible`),
 * then styled (colours, timestamps).
 *
 * `visible` is a security property, not cosmetics: a peer's bytes reach
 * the user's terminal, and a control character, C1 code or escape sequence
 * in them could move the cursor, clear the screen, set the window title,
 * or tear the input row; a bidi override could make the text read
 * differently from what it is.
 */

/** How received lines are shown. */
export interface StyleOptions {
  /** ANSI colours (off for NO_COLOR or a pipe). */
  color: boolean;
  /** `[HH:MM:SS] ` before each line. */
  timestamps: boolean;
  /** Wall clock, ms since the epoch. */
  now?: () => number;
}

/** Not fatal: invalid UTF-8 becomes U+FFFD rather than failing the line. */
const utf8 = new TextDecoder();

/** A received line's bytes as text; invalid UTF-8 shows as U+FFFD, never as raw bytes. */
export function decodeLine(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** Colours names are drawn from: the same name always gets the same one. */
const PALETTE = [31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96];

/** The colour code for a sender's name: a hash (FNV-1a), so it is stable across lines and sessions. */
export function colorFor(name: string): number {
  let hash = 2166136261;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 16777619);
  return PALETTE[(hash >>> 0) % PALETTE.length]!;
}

/** `text` in the SGR style `code`, then back to normal. */
const sgr = (code: string, text: string) => `\x1b[${code}m${text}\x1b[0m`;

/** `[HH:MM:SS] `, local time. */
export function timestamp(ms: number): string {
  const date = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `[${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}] `;
}

/**
 * Control characters shown as `^X` (and DEL as `^?`), C1 codes as `\xNN`:
 * a received line must not move the cursor or change colours, or the
 * input row is torn. Bidi embedding/override/isolate controls are shown
 * as `<U+XXXX>` too: they would make a peer's text read differently from
 * what it is.
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
