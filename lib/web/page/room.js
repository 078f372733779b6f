/**
 * What the page knows of the room, without the DOM: which entries it has
 * shown (by id), where a new one goes among them, who is here, and the
 * lines the user sent (for Up/Down). Plain ES module with no imports: the
 * browser loads it as is, and spec/web/page-state.test.ts runs it under Node.
 */

/**
 * `EPOCH:SEQ` as `{epoch, seq}`, or null for anything else. SEQ counts
 * 1, 2, 3... within an epoch; a new epoch is a log that started over.
 */
export function parseId(id) {
  if (typeof id !== "string") return null;
  const m = /^([0-9a-z]{1,32}):(\d{1,15})$/.exec(id);
  return m ? { epoch: m[1], seq: Number(m[2]) } : null;
}

/** Ids remembered for deduplication before the oldest are forgotten (a resume only replays what is newer than the last seen). */
const SEEN_LIMIT = 5000;

/**
 * The entries shown so far, by id: drops one already shown (a resume
 * replays what may also have arrived live) and remembers the newest id,
 * which the next resume asks for everything after.
 */
export class Timeline {
  constructor() {
    /** The epoch of the newest id seen, or null before any. */
    this.epoch = null;
    /** The newest SEQ seen in `epoch`. */
    this.seq = 0;
    /** Epochs the log has left behind: an id of one of them is never newer. */
    this.pastEpochs = new Set();
    this.seen = new Set();
  }

  /** `EPOCH:SEQ` of the newest entry seen, or null. */
  get lastId() {
    return this.epoch === null ? null : `${this.epoch}:${this.seq}`;
  }

  /**
   * Whether an entry with this id is new (to be shown); records it. An
   * entry without an id (not numbered yet, in a cluster whose Redis is
   * away) is always new.
   */
  admit(id) {
    if (id === null || id === undefined) return true;
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > SEEN_LIMIT) {
      let drop = this.seen.size - SEEN_LIMIT;
      for (const old of this.seen) {
        if (drop-- === 0) break;
        this.seen.delete(old);
      }
    }
    this.note(id);
    return true;
  }

  /** The room's log has reached `id` (an entry, or `last` of presence and history-end): keep it if newer. */
  note(id) {
    const parsed = parseId(id);
    if (!parsed) return;
    if (parsed.epoch === this.epoch) {
      if (parsed.seq > this.seq) this.seq = parsed.seq;
    } else if (!this.pastEpochs.has(parsed.epoch)) {
      if (this.epoch !== null) this.pastEpochs.add(this.epoch);
      this.epoch = parsed.epoch;
      this.seq = parsed.seq;
    }
  }

  /**
   * Whether an entry with id `later` goes after one with id `earlier` as
   * shown: within an epoch by SEQ; an entry without an id, or of another
   * epoch, never moves before what is shown.
   */
  static after(later, earlier) {
    const a = parseId(later);
    const b = parseId(earlier);
    return !a || !b || a.epoch !== b.epoch || a.seq > b.seq;
  }
}

/**
 * Who is in the room: the names `presence` gave on joining, kept current
 * by join, leave and nick entries. `presence` names up to a limit; the
 * others are only counted (`more`) until they show up by name.
 */
export class Members {
  constructor() {
    this.names = new Set();
    this.more = 0;
    /** The user's own name as others see it: `HOST:PORT` until `/nick`. */
    this.self = null;
  }

  /** How many are here, the user included. */
  get count() {
    return this.names.size + this.more;
  }

  /** A `presence` event: who is here now (the user included). */
  presence(event) {
    this.self = event.you;
    this.names = new Set(Array.isArray(event.names) ? event.names : []);
    this.names.add(event.you);
    this.more = Number.isInteger(event.more) && event.more > 0 ? event.more : 0;
  }

  /** A live join, leave or nick entry. */
  apply(event) {
    switch (event.k) {
      case "join":
        this.names.add(event.s);
        break;
      case "leave":
        if (!this.names.delete(event.s) && this.more > 0) this.more--;
        break;
      case "nick":
        if (!this.names.delete(event.s) && this.more > 0) this.more--;
        this.names.add(event.to);
        if (event.s === this.self) this.self = event.to;
        break;
    }
  }

  /** The names, the user first, then in alphabetical order. */
  list() {
    const others = [...this.names].filter((n) => n !== this.self).sort((a, b) => a.localeCompare(b));
    return this.self !== null && this.names.has(this.self) ? [this.self, ...others] : others;
  }
}

/** A reply that names the user anew: `You are now NAME` (and `You are already NAME`). */
const YOU_ARE = /^You are (now|already) (\S+)$/;

/**
 * What the room's events do to what the page shows, without the DOM: the
 * entries shown (`Timeline`), who is here (`Members`), and each person's
 * colour. `take(event)` updates them and says what to draw again; the page
 * (app.js) draws it. The log and the member list colour a name with the
 * same `colorOf`, so whatever changes a colour redraws the member list too.
 */
export class Room {
  /** @param colorFor a name's colour when first seen (lib/chat/colours.ts, as the gateway serves it) */
  constructor(colorFor) {
    this.colorFor = colorFor;
    this.timeline = new Timeline();
    this.members = new Members();
    /** Colour overrides: a renamed person keeps the colour of the name they came with, as in the terminal client. */
    this.colors = new Map();
  }

  /** The colour `name` is shown in, in the log and in the member list alike. */
  colorOf(name) {
    return this.colors.get(name) ?? this.colorFor(name);
  }

  /**
   * Take one event. Returns what the page shows of it:
   * `show` is "entry" (an entry of the room's log, `text` as it reads),
   * "reply" or "error" (last in the log), or null (nothing);
   * `members`: the member list must be drawn again (who is here, or a colour, changed);
   * `self`: the user's own name changed (the name field).
   */
  take(event) {
    const change = { show: null, text: event.x, members: false, self: false };
    switch (event.k) {
      case "presence":
        this.members.presence(event);
        // The first time only: on a reconnection the resume must start from what this page saw, not from now.
        if (this.timeline.lastId === null && event.last) this.timeline.note(event.last);
        change.members = change.self = true;
        break;
      case "line":
      case "join":
      case "leave":
      case "nick":
      case "notice":
        if (!this.timeline.admit(event.id)) break;
        change.show = "entry";
        if (event.k === "nick") {
          // Live or replayed, the colour goes with the person: both the log and the list show it.
          this.renamed(event.s, event.to);
          change.members = true;
          if (!event.h && (event.s === this.members.self || event.to === this.members.self)) {
            // The user's own rename: the server also replied `You are now NAME`, which is not shown; this says it once.
            change.text = `You are now ${event.to}`;
            change.self = this.members.self !== event.to;
          }
        }
        // Replayed entries are before the presence snapshot or were also received live: only live ones change who is here.
        if (!event.h) {
          this.members.apply(event);
          change.members = true;
        }
        break;
      case "reply": {
        const you = YOU_ARE.exec(event.x);
        if (you) {
          change.self = this.members.self !== you[2];
          this.members.self = you[2];
        }
        // `You are now NAME` is said by the rename's own entry, which follows.
        if (you?.[1] !== "now") change.show = event.x.startsWith("Error: ") ? "error" : "reply";
        break;
      }
      case "error":
        change.show = "error";
        break;
      case "history-end":
        if (event.last) this.timeline.note(event.last);
        break;
    }
    return change;
  }

  /** `from` is now `to`: the colour goes with the person. */
  renamed(from, to) {
    this.colors.set(to, this.colorOf(from));
    if (from !== to) this.colors.delete(from);
  }
}

/** How many sent lines Up/Down can bring back. */
const RECALL_LIMIT = 100;

/**
 * The lines the user sent, for Up/Down in the input, as a shell does:
 * Up goes back, Down forward, and past the newest it restores what was
 * being typed.
 */
export class Recall {
  constructor(limit = RECALL_LIMIT) {
    this.limit = limit;
    this.lines = [];
    /** Which line is in the input: `lines.length` means the draft. */
    this.at = 0;
    this.draft = "";
  }

  /** A line was sent. */
  push(line) {
    if (this.lines[this.lines.length - 1] !== line) this.lines.push(line);
    if (this.lines.length > this.limit) this.lines.shift();
    this.at = this.lines.length;
    this.draft = "";
  }

  /** Up: the previous line (`current` is what the input holds, kept as the draft when leaving it). */
  up(current) {
    if (this.at === this.lines.length) this.draft = current;
    if (this.at > 0) this.at--;
    return this.lines[this.at] ?? current;
  }

  /** Down: the next line, or the draft after the newest. */
  down(current) {
    if (this.at >= this.lines.length) return current;
    this.at++;
    return this.at === this.lines.length ? this.draft : this.lines[this.at];
  }
}
