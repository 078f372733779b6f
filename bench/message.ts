// Wire format of benchmark messages. The payload is found anywhere in a line
// (servers may prefix "<HOST:PORT> "), marked by "~b " which neither the
// address prefix nor the join/leave notices can contain.
//
//   ~b <phase> <sender> <seq> <t_us> xxxx...\n
//   ~b <phase> <sender> <seq> <t_us> <room> xxxx...\n    (the rooms scenarios: the sender's room)

const TILDE = 0x7e;
const LOWER_B = 0x62;
const SPACE = 0x20;
const NL = 0x0a;

/** One message of `size` bytes; `room` >= 0 tags it with the sender's room (read back with `withRoom`). */
export function formatMessage(phase: number, sender: number, seq: number, tUs: number, size: number, room = -1): string {
  const head = `~b ${phase} ${sender} ${seq} ${Math.floor(tUs)} ${room >= 0 ? `${room} ` : ""}`;
  const pad = size - head.length - 1; // the newline counts towards size
  return head + (pad > 0 ? "x".repeat(pad) : "") + "\n";
}

/** Reused output slot so the hot path allocates nothing. */
export interface Parsed {
  phase: number;
  sender: number;
  seq: number;
  tUs: number;
  /** the room tag, when read (`withRoom`) */
  room?: number;
}

/** Parse the message whose marker starts at `at`. Returns the index just
 * past the last field read, or -1 if malformed. Allocation-free: this runs
 * once per delivery, millions of times a second. With `withTime` false the
 * timestamp (the longest field) is left unread and `out.tUs` untouched: the
 * load generator knows when it sent each message anyway. With `withRoom`
 * the room tag after the timestamp is read too (the timestamp with it). */
export function parseAt(buf: Uint8Array, at: number, end: number, out: Parsed, withTime = true, withRoom = false): number {
  if (buf[at] !== TILDE || buf[at + 1] !== LOWER_B || buf[at + 2] !== SPACE) return -1;
  let i = at + 3;
  const fields = withRoom ? 5 : withTime ? 4 : 3;
  for (let field = 0; field < fields; field++) {
    let value = 0;
    const start = i;
    while (i < end) {
      const byte = buf[i];
      if (byte < 0x30 || byte > 0x39) break;
      value = value * 10 + (byte - 0x30);
      i++;
    }
    if (i === start) return -1;
    if (field === 0) out.phase = value;
    else if (field === 1) out.sender = value;
    else if (field === 2) out.seq = value;
    else if (field === 3) out.tUs = value;
    else out.room = value;
    if (field < fields - 1) {
      if (buf[i] !== SPACE) return -1;
      i++;
    }
  }
  return i;
}

const CONNECTED = "connected";

export interface ScanResult {
  /** Index just past the last complete line; bytes after it are a partial line. */
  consumed: number;
  /** Number of notice lines ("... connected" by default) seen in the complete part. */
  joins: number;
}

/** Scan complete lines of `buf`, calling onMessage for each benchmark message
 * (and counting lines that end in `notice`, join notices by default, unless
 * `countJoins` is false; reading the timestamps unless `withTime` is false).
 * Lines without the marker (notices, foreign chatter) cost one memchr each
 * chunk, not a JS loop per byte. With `size` (the message length the sender
 * uses), the next marker is predicted instead of searched for; see below.
 * With `withRoom`, each message's room tag is read into `out.room`. */
export function scanChunk(
  buf: Uint8Array & { indexOf(value: number | string, from?: number): number; lastIndexOf(value: number, from?: number): number },
  out: Parsed,
  onMessage: (message: Parsed) => void,
  countJoins = true,
  size = 0,
  withTime = true,
  notice = CONNECTED,
  withRoom = false,
): ScanResult {
  const last = buf.lastIndexOf(NL);
  if (last < 0) return { consumed: 0, joins: 0 };
  let joins = 0;
  // a substring search over every byte received: skipped while measuring,
  // when no client joins and it would cost the generator ~15% of its time
  let at = countJoins ? buf.indexOf(notice) : -1;
  while (at >= 0 && at < last) {
    // only count it when it ends the line (tolerating \r)
    const after = at + notice.length;
    if (buf[after] === NL || (buf[after] === 0x0d && buf[after + 1] === NL)) joins++;
    at = buf.indexOf(notice, after);
  }
  // Prediction: a message runs `size` bytes from its marker to its newline,
  // and consecutive lines from one server carry prefixes of the same length,
  // so the next marker is likely at newline + 1 + prefix. It is taken only if
  // that newline and "~b " are really there and the prefix is shorter than a
  // message: a marker skipped in between would put "~b " inside that
  // message's digits or padding, which hold no '~'. Otherwise: indexOf.
  const predict = size >= 40;
  let prefix = -1;
  let marker = buf.indexOf(TILDE);
  if (predict && marker >= 0) prefix = marker - (buf.lastIndexOf(NL, marker) + 1);
  while (marker >= 0 && marker < last) {
    const next = parseAt(buf, marker, last, out, withTime, withRoom);
    if (next >= 0) onMessage(out);
    if (next >= 0 && predict && prefix >= 0 && prefix < size) {
      const newline = marker + size - 1;
      const guess = newline + 1 + prefix;
      if (guess < last && buf[newline] === NL && buf[guess] === TILDE && buf[guess + 1] === LOWER_B && buf[guess + 2] === SPACE) {
        marker = guess;
        continue;
      }
    }
    // padding never holds '~', so the next marker search can start right
    // after the fields instead of after a separate newline search
    marker = buf.indexOf(TILDE, next >= 0 ? next : marker + 1);
    if (predict && marker >= 0 && marker < last) prefix = marker - (buf.lastIndexOf(NL, marker) + 1);
  }
  return { consumed: last + 1, joins };
}
