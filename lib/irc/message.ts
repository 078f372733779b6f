/**
 * IRC messages: parsed from a received line and written for the wire, as
 * modern.ircdocs.horse and the IRCv3 message-tags spec describe them:
 *
 *   [@tag=value;tag2 ]:[source ]COMMAND param param :trailing param
 *
 * Lines are bytes. A line is read as latin1 (one character per byte), so
 * the text of a message goes back to its exact bytes (`paramBytes`)
 * whatever its encoding; commands, nicks and channels are ASCII anyway.
 */

/** Longest line without its tags, CR LF included (RFC 1459's 512). */
export const MAX_LINE = 512;
/** Longest tag section a client may send, `@` and the space included (IRCv3 message-tags). */
export const MAX_CLIENT_TAGS = 4096;

/** One IRC message. */
export interface IrcMessage {
  /** Tags in the order given, values unescaped ("" for a tag without value). */
  readonly tags: ReadonlyMap<string, string>;
  /** The source (`nick!user@host` or a server), without the `:`; null when none. */
  readonly source: string | null;
  /** Upper-cased command or three-digit numeric. */
  readonly command: string;
  /** Parameters, the trailing one included, as latin1 strings (see the top of this file). */
  readonly params: readonly string[];
}

/** Why a line is not a message. */
export type ParseProblem = "empty" | "no-command" | "tags-too-long" | "too-long";

/** What `parseLine` makes of a line. */
export type Parsed = { ok: true; message: IrcMessage } | { ok: false; problem: ParseProblem };

/** A line's bytes as latin1 text (each byte one character). */
export function bytesToLatin1(bytes: Uint8Array): string {
  // Not TextDecoder("latin1"): that is windows-1252, whose 0x80-0x9f differ.
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

/** latin1 text back to its bytes (characters above U+00FF cannot occur in text from `bytesToLatin1`). */
export function latin1ToBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/**
 * Parse one line (without its CR LF). `maxBody` bounds the part after the
 * tags (510: 512 less CR LF), `maxTags` the tag section.
 */
export function parseLine(bytes: Uint8Array, maxBody = MAX_LINE - 2, maxTags = MAX_CLIENT_TAGS): Parsed {
  let line = bytesToLatin1(bytes);
  let tags: Map<string, string> = EMPTY_TAGS;
  if (line.startsWith("@")) {
    const space = line.indexOf(" ");
    const raw = space < 0 ? line.slice(1) : line.slice(1, space);
    if (raw.length + 2 > maxTags) return { ok: false, problem: "tags-too-long" };
    tags = parseTags(raw);
    line = space < 0 ? "" : line.slice(space + 1);
  }
  // Spaces before the body are tolerated, as many servers do.
  line = line.replace(/^ +/, "");
  if (line.length > maxBody) return { ok: false, problem: "too-long" };
  if (line.length === 0) return { ok: false, problem: "empty" };
  let source: string | null = null;
  if (line.startsWith(":")) {
    const space = line.indexOf(" ");
    if (space < 0) return { ok: false, problem: "no-command" };
    source = line.slice(1, space);
    line = line.slice(space + 1).replace(/^ +/, "");
  }
  const params: string[] = [];
  let command = "";
  let rest = line;
  const first = rest.indexOf(" ");
  command = (first < 0 ? rest : rest.slice(0, first)).toUpperCase();
  rest = first < 0 ? "" : rest.slice(first + 1);
  if (!/^([A-Z]+|[0-9]{3})$/.test(command)) return { ok: false, problem: "no-command" };
  while (rest.length > 0) {
    if (rest.startsWith(" ")) {
      rest = rest.slice(1);
      continue;
    }
    if (rest.startsWith(":")) {
      params.push(rest.slice(1));
      break;
    }
    const space = rest.indexOf(" ");
    if (space < 0) {
      params.push(rest);
      break;
    }
    params.push(rest.slice(0, space));
    rest = rest.slice(space + 1);
  }
  return { ok: true, message: { tags, source, command, params } };
}

const EMPTY_TAGS = new Map<string, string>();

function parseTags(raw: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const part of raw.split(";")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq);
    if (!/^\+?([A-Za-z0-9.-]+\/)?[A-Za-z0-9-]+$/.test(key)) continue;
    tags.set(key, eq < 0 ? "" : unescapeTag(part.slice(eq + 1)));
  }
  return tags;
}

const UNESCAPES: Record<string, string> = { ":": ";", s: " ", "\\": "\\", r: "\r", n: "\n" };

/** A tag value as sent (`\:` `\s` `\\` `\r` `\n`) back to its text; an unknown escape is the character itself, a lone `\` at the end nothing. */
export function unescapeTag(value: string): string {
  return value.replace(/\\(.?)/gs, (_, c: string) => (c === "" ? "" : (UNESCAPES[c] ?? c)));
}

/** A tag value for the wire. */
export function escapeTag(value: string): string {
  return value.replace(/[\\; \r\n]/g, (c) => ({ "\\": "\\\\", ";": "\\:", " ": "\\s", "\r": "\\r", "\n": "\\n" })[c]!);
}

/** Nothing that would end or break a line: NUL, CR and LF become spaces. */
export function safeText(text: string): string {
  return text.replace(/[\0\r\n]/g, " ");
}

/**
 * A message for the wire, with CR LF. Middle parameters must be non-empty
 * words not starting with `:` (what is not is sent as the trailing one,
 * which must then be the last; a space in a middle one becomes `_`);
 * every parameter loses NUL, CR and LF.
 */
export function serialize(m: {
  tags?: ReadonlyMap<string, string> | null;
  source?: string | null;
  command: string;
  params?: readonly string[];
  /** Send the last parameter after `:` even when it is one word (a message's text). */
  trailing?: boolean;
}): string {
  let out = "";
  if (m.tags && m.tags.size > 0) {
    const parts: string[] = [];
    for (const [k, v] of m.tags) parts.push(v === "" ? k : `${k}=${escapeTag(v)}`);
    out += `@${parts.join(";")} `;
  }
  if (m.source) out += `:${m.source} `;
  out += m.command;
  const params = m.params ?? [];
  for (let i = 0; i < params.length; i++) {
    const p = safeText(params[i]!);
    const last = i === params.length - 1;
    if (last && (m.trailing || p === "" || p.includes(" ") || p.startsWith(":"))) out += ` :${p}`;
    else out += ` ${p.replace(/ /g, "_")}`;
  }
  return `${out}\r\n`;
}
