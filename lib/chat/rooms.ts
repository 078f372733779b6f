/**
 * How a room is named. Users write `#chat` or `chat`, in any case; the
 * server keys rooms, stores and streams by the canonical name, lower case
 * without the `#` (`chat`), and shows it with the `#`.
 */

/** Longest room name by default, in characters, without the `#` (`--max-room-name`). */
export const MAX_ROOM_NAME = 32;

/** Letters, digits, `_`, `-` and `.`: no spaces, commas, colons or control characters (IRC's channel rules, and safe in Redis keys). */
const ROOM_CHARS = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** The canonical name of `written` (`#Rust` -> `rust`), or null when it is not a room name of at most `max` characters. */
export function canonicalRoom(written: string, max = MAX_ROOM_NAME): string | null {
  const bare = written.startsWith("#") ? written.slice(1) : written;
  return bare.length <= max && ROOM_CHARS.test(bare) ? bare.toLowerCase() : null;
}

/** What a room name may be (for a usage error or a reply). */
export const roomNameRule = (max = MAX_ROOM_NAME): string =>
  `a room name is 1 to ${max} letters, digits, _, - or ., starting with a letter, digit or _, after an optional #`;

/** How users see a room: `#chat`. */
export const shownRoom = (canonical: string): string => `#${canonical}`;
