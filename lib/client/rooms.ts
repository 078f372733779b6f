/**
 * What the terminal client knows of rooms, learned only from what the
 * server says anyway (it is never asked anything for this):
 *
 * - `You are now in #rust`, the answer to `/join` (and to `/part`, which
 *   sends a line client back to the room it started in): the room the
 *   client is in now, shown in the prompt (`#rust> `).
 * - The presence line that follows it: `In #rust: ...` names the room;
 *   `In the room: ...` is how the server words the default room (`--room`),
 *   so the room just entered is that one.
 * - `/rooms` answers (`Rooms (3): #chat (5), #rust (2), #go (0)`), presence
 *   lines and notices of someone moving (`bob left for #go`): rooms that
 *   exist, offered when Tab completes `/join `.
 *
 * Until the first `You are now in`, the client is in the default room and
 * does not know its name (the server does not say it on connecting, and
 * `--room` may be anything): the prompt stays `> `, as before rooms. A guessed
 * `#chat> ` would be wrong on a server started with `--room lobby`.
 *
 * Lines from other people always start with `<NAME> `, `* NAME ` or
 * `[private`, so a peer cannot fake any of these; they are never read.
 */

/** A room as the server shows it: `#` and the canonical name (lib/chat/rooms.ts). */
const ROOM = "#[a-z0-9_][a-z0-9_.-]*";
const MOVED = new RegExp(`^You are now in (${ROOM})$`);
const PRESENCE_NAMED = new RegExp(`^In (${ROOM}): `);
const PRESENCE_DEFAULT = /^In the room: /;
const LEFT_FOR = new RegExp(`^\\S.* left for (${ROOM})$`);
const ROOMS_ANSWER = /^Rooms \(\d+\): /;
const ROOMS_ITEM = new RegExp(`(${ROOM}) \\(\\d+\\)`, "g");
/** The mark before a replayed entry (`/history`): what follows is the entry as it was said. */
const HISTORY_MARK = /^\[history \S+ \S+\] /;
/** `/join ROOM` or `/part ROOM` being typed: the command word is case-insensitive, one or more spaces, then the room so far. */
const ROOM_COMMAND = /^(\/(join|part) +)(\S*)$/i;

/** What Tab may put in place of the word before the cursor (see `LineEditor`'s `complete`). */
export interface Completion {
  /** Where the word being completed starts, in UTF-16 units of the text before the cursor. */
  start: number;
  /** What the word may become, whole. */
  candidates: readonly string[];
  /** Said when there is no candidate, instead of nothing. */
  none?: string;
}

/** The rooms a terminal client has heard of, and the one it is in. */
export class RoomState {
  /** The room the client is in (`#rust`), or null while it is in the default room and has not been told its name. */
  current: string | null = null;
  /** The default room's name, once the server has shown it (`You are now in #chat`, then `In the room: ...`). */
  defaultRoom: string | null = null;
  private readonly seen = new Set<string>();

  /** The prompt for the room the client is in: `#rust> `, or `> ` while it is unnamed. */
  get prompt(): string {
    return this.current === null ? "> " : `${this.current}> `;
  }

  /** Every room heard of, sorted. */
  rooms(): string[] {
    return [...this.seen].sort();
  }

  /**
   * Learn from one received line (as decoded, before it is styled).
   * Returns true when the room the client is in changed (the prompt with it).
   */
  follow(line: string): boolean {
    if (line.startsWith("<") || line.startsWith("* ") || line.startsWith("[private")) return false;
    const replayed = HISTORY_MARK.exec(line);
    if (replayed) {
      // A replayed notice still says a room exists; nothing replayed says where the client is.
      this.learnRooms(line.slice(replayed[0].length));
      return false;
    }
    const moved = MOVED.exec(line);
    if (moved) {
      const room = moved[1]!;
      this.seen.add(room);
      if (room === this.current) return false;
      this.current = room;
      return true;
    }
    if (PRESENCE_DEFAULT.test(line)) {
      if (this.current !== null) this.defaultRoom = this.current;
      return false;
    }
    this.learnRooms(line);
    return false;
  }

  /** Rooms named by a presence line, a `/rooms` answer or a move notice. */
  private learnRooms(line: string): void {
    const presence = PRESENCE_NAMED.exec(line);
    if (presence) {
      this.seen.add(presence[1]!);
      return;
    }
    if (ROOMS_ANSWER.test(line)) {
      for (const item of line.matchAll(ROOMS_ITEM)) this.seen.add(item[1]!);
      return;
    }
    const left = LEFT_FOR.exec(line);
    if (left && !line.startsWith("<") && !line.startsWith("* ")) this.seen.add(left[1]!);
  }

  /**
   * Tab's candidates for the text before the cursor, or null when it is not
   * `/join ROOM` or `/part ROOM` being typed. `/join` offers every room heard
   * of but the one the client is in; `/part` only the room it is in (a line
   * client is in one, and the server refuses to part any other, or the
   * default room, which is where `/part` goes back to).
   */
  complete(before: string): Completion | null {
    const typed = ROOM_COMMAND.exec(before);
    if (!typed) return null;
    const [, head, command, word] = typed as unknown as [string, string, string, string];
    const bare = (word.startsWith("#") ? word.slice(1) : word).toLowerCase();
    const join = command.toLowerCase() === "join";
    const pool = join
      ? this.rooms().filter((room) => room !== this.current)
      : this.current !== null && this.current !== this.defaultRoom
        ? [this.current]
        : [];
    const candidates = pool.filter((room) => room.slice(1).startsWith(bare));
    if (candidates.length > 0) return { start: head.length, candidates };
    const none =
      pool.length > 0
        ? `no room ${join ? "seen" : "you are in"} starts with ${word}${join ? ": /rooms lists them" : ""}`
        : join
          ? "no other room seen yet: /rooms lists them"
          : "you are in the room everyone starts in: /part has nothing to leave";
    return { start: head.length, candidates, none };
  }
}
