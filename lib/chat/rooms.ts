/**
 * How a room is named. Users write `#chat` or `chat`, in any case; the
 * server keys rooms, stores and streams by the canonical name, lower case
 * without the `#` (`chat`), and shows it with the `#`.
 */

/** Longest room name, in characters, without the `#`. */
export const MAX_ROOM_NAME = 32;
/** No spaces, commas, colons or control characters (IRC's channel rules, and safe in Redis keys). */
const ROOM_NAME = new RegExp(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,${MAX_ROOM_NAME - 1}}$`);

/** The canonical name of `written` (`#Rust` -> `rust`), or null when it is not a room name. */
export function canonicalRoom(written: string): string | null {
  const bare = written.startsWith("#") ? written.slice(1) : written;
  return ROOM_NAME.test(bare) ? bare.toLowerCase() : null;
}

/** Why `written` is no room name (for a usage error or a reply). */
export const ROOM_NAME_RULE = `a room name is 1 to ${MAX_ROOM_NAME} letters, digits, _, - or ., after an optional #`;

/** How users see a room: `#chat`. */
export const shownRoom = (canonical: string): string => `#${canonical}`;
