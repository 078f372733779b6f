/**
 * The page's WebSocket to `/ws`, kept open: after a close (a server
 * restart, a network change) it tries again after `reconnectDelay`, until
 * the user leaves with `/quit`. Events come out parsed (lib/codecs/events.ts:
 * one JSON object per line of a text frame). No DOM: the socket and the
 * timers are passed in, so spec/web/page-state.test.ts drives it with fakes.
 */

/** The first wait before trying again, in ms: doubled after each failed try. */
export const FIRST_DELAY = 500;
/** The longest wait between tries, in ms. */
export const MAX_DELAY = 10_000;

/**
 * How long to wait before retry number `attempt` (0 for the first): 0.5 s
 * doubling up to 10 s, and a random point between half of that and all of
 * it, so that the pages a restart cut off do not all come back in the same
 * instant.
 */
export function reconnectDelay(attempt, random = Math.random) {
  const full = Math.min(MAX_DELAY, FIRST_DELAY * 2 ** Math.min(attempt, 30));
  return full / 2 + (random() * full) / 2;
}

/** The events in one text frame; a line that is not a JSON object is skipped (a newer server's extension, say). */
export function parseFrame(data) {
  const events = [];
  for (const line of data.split("\n")) {
    if (line === "") continue;
    try {
      const event = JSON.parse(line);
      if (event !== null && typeof event === "object" && typeof event.k === "string") events.push(event);
    } catch {
      // Not an event: nothing to show.
    }
  }
  return events;
}

/** `WebSocket.OPEN`. */
const OPEN = 1;

/** What the browser provides, replaceable in tests. */
const browser = {
  open: (url) => new WebSocket(url),
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (t) => clearTimeout(t),
  random: () => Math.random(),
};

/**
 * One chat connection that reconnects by itself. `handlers`:
 * `state(name, delayMs)` with name `connecting`, `connected`, `waiting`
 * (a retry in `delayMs`) or `left`; `open()` once per connection, before
 * any event; `event(e)` per event; `closed({code, reason, wasOpen})`.
 */
export class Connection {
  constructor(url, handlers, env = browser) {
    this.url = url;
    this.handlers = handlers;
    this.env = env;
    this.socket = null;
    this.timer = null;
    /** Failed tries since the last connection that got into the room. */
    this.attempt = 0;
    /** The user asked to leave: a close is not a reason to come back. */
    this.leaving = false;
    this.state = "idle";
  }

  /** Connect now (the first time, or to rejoin after leaving). */
  start() {
    this.leaving = false;
    this.cancelRetry();
    if (this.socket === null) this.connect();
  }

  /** A retry is waiting: try now instead (the browser says it is online again). */
  retryNow() {
    if (this.state !== "waiting") return;
    this.cancelRetry();
    this.connect();
  }

  /** The server took the page into the room: the next outage starts from the shortest wait again. */
  settled() {
    this.attempt = 0;
  }

  /** The user is leaving (`/quit`): when the server closes, stay closed. */
  leave() {
    this.leaving = true;
  }

  /** Send one line (one text frame); false when not connected. */
  send(text) {
    if (this.socket === null || this.socket.readyState !== OPEN) return false;
    this.socket.send(text);
    return true;
  }

  connect() {
    this.setState("connecting");
    let socket;
    try {
      socket = this.env.open(this.url);
    } catch {
      // A URL the browser refuses outright: waiting will not fix it, but the state says so.
      this.retryLater();
      return;
    }
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.setState("connected");
      this.handlers.open?.();
    };
    socket.onmessage = (message) => {
      if (typeof message.data !== "string") return;
      for (const event of parseFrame(message.data)) this.handlers.event(event);
    };
    // An error is always followed by a close, which decides what happens next.
    socket.onerror = () => {};
    socket.onclose = (close) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.handlers.closed?.({ code: close.code, reason: close.reason, wasOpen: opened });
      if (this.leaving) this.setState("left");
      else this.retryLater();
    };
  }

  retryLater() {
    const delay = reconnectDelay(this.attempt++, this.env.random);
    this.timer = this.env.setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
    this.setState("waiting", delay);
  }

  cancelRetry() {
    if (this.timer !== null) this.env.clearTimeout(this.timer);
    this.timer = null;
  }

  setState(name, delay) {
    this.state = name;
    this.handlers.state?.(name, delay);
  }
}
