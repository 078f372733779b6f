/**
 * The chat page: the room's lines, who is here, the connection's state,
 * and an input. Everything a peer sent goes into the page as text
 * (`textContent`), never as markup. Events are lib/chat/events.ts's.
 */
import { Connection } from "./connection.js";
import { colorFor, cssColor } from "./colours.js";
import { Recall, Room, Timeline } from "./room.js";

/** Entries kept on the page; older ones are dropped from the top. */
const SHOWN_LIMIT = 2000;
/** Entries of recent history asked for when the page first joins, as the terminal client does. */
const FIRST_HISTORY = 50;
/** Where the tab remembers the nickname the server last granted, to ask for it again after a restart or a reload. */
const NICK_KEY = "chat.nick";
/** `q`, `Q`, `/quit ...`: the lines that make the server let the client go. */
const QUIT = /^(?:[qQ]|\/quit(?:\s.*)?)$/is;

const byId = (id) => document.getElementById(id);
const log = byId("log");
const stateView = byId("state");
const lineInput = byId("line");
const nickInput = byId("nick");
const memberList = byId("member-list");
const memberCount = byId("count");

const room = new Room(colorFor);
const { timeline, members } = room;
const recall = new Recall();

/** Whether the page has been in the room before (then a new connection is a reconnection). */
let joinedBefore = false;
/** The id a resume asked for everything after, until its `history-end`: kept if the connection drops meanwhile. */
let resumingFrom = null;
/** Counts down the wait before the next try. */
let countdown = null;

const wsUrl = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`;
const connection = new Connection(wsUrl, {
  state: showState,
  open: joined,
  event: handle,
  closed: ({ code, reason, wasOpen }) => {
    if (!wasOpen) return;
    // 1000/1001 are a normal close or the server going away, 1005/1006 no close frame at all (the server stopped or the network went).
    const why = reason ? `: ${reason}` : [1000, 1001, 1005, 1006].includes(code) ? "" : ` (code ${code})`;
    note(connection.leaving ? `You left the room${why}. Press Enter to join again.` : `Disconnected${why}. Reconnecting…`);
  },
});

// ---------------------------------------------------------------- names

/**
 * A name in its colour, in the log and in the member list alike (one
 * `room.colorOf`); `unicode-bidi: isolate` (style.css) keeps a
 * right-to-left override inside it.
 */
function nameElement(name, text = name) {
  const span = document.createElement("span");
  span.className = "name";
  span.textContent = text;
  span.style.color = cssColor(room.colorOf(name));
  return span;
}

// ---------------------------------------------------------------- the log

/** Whether the log is scrolled to its end (then it follows new lines). */
function atEnd() {
  return log.scrollHeight - log.scrollTop - log.clientHeight < 48;
}

/** `HH:MM` of a server time, the full date in its tooltip. */
function timeElement(ms) {
  const time = document.createElement("time");
  const date = new Date(typeof ms === "number" ? ms : Date.now());
  time.dateTime = date.toISOString();
  time.title = date.toLocaleString();
  time.textContent = `${String(date.getHours()).padStart(2, "0")}:${String(date.getMinutes()).padStart(2, "0")}`;
  return time;
}

/**
 * Put an item in the log. An entry with an id goes after every shown entry
 * of its epoch with a smaller id, so a resume's replay fills the gap
 * before lines that arrived live meanwhile; anything else goes last.
 */
function place(item, id) {
  const follow = atEnd();
  let before = null;
  if (id) {
    for (let node = log.lastElementChild; node?.dataset.id && !Timeline.after(id, node.dataset.id); node = node.previousElementSibling) {
      before = node;
    }
  }
  log.insertBefore(item, before);
  while (log.childElementCount > SHOWN_LIMIT) log.firstElementChild.remove();
  if (follow) log.scrollTop = log.scrollHeight;
}

/** One entry of the room's log; `shown` is its text as the page words it. */
function showEntry(event, shown) {
  const item = document.createElement("li");
  item.className = `entry ${event.k}`;
  if (event.h) item.classList.add("replayed");
  if (event.id) item.dataset.id = event.id;
  item.append(timeElement(event.t), " ");
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = shown;
  if (event.k === "line") {
    if (event.s === members.self) item.classList.add("own");
    item.append(nameElement(event.s, event.me ? `* ${event.s}` : event.s), " ");
  }
  item.append(text);
  place(item, event.id);
}

/** A reply, an error or the page's own note: last in the log. */
function showText(text, kind) {
  const item = document.createElement("li");
  item.className = `entry ${kind}`;
  item.append(timeElement(), " ");
  const span = document.createElement("span");
  span.className = "text";
  span.textContent = text;
  item.append(span);
  place(item, null);
}

/** Something the page itself says (not the server). */
function note(text) {
  showText(text, "note");
}

// ---------------------------------------------------------------- members

function showMembers() {
  const items = members.list().map((name) => {
    const item = document.createElement("li");
    item.append(nameElement(name));
    if (name === members.self) item.append(" (you)");
    return item;
  });
  if (members.more > 0) {
    const item = document.createElement("li");
    item.className = "more";
    item.textContent = `and ${members.more} more`;
    items.push(item);
  }
  memberList.replaceChildren(...items);
  memberCount.textContent = String(members.count);
}

/** The name field shows the user's nickname; before one it is empty, and its tooltip gives the address others see. */
function showSelf() {
  const self = members.self ?? "";
  const address = self.includes(":");
  if (document.activeElement !== nickInput) nickInput.value = address ? "" : self;
  nickInput.title = address ? `Others see you as ${self} until you choose a name` : `Others see you as ${self}`;
}

// ---------------------------------------------------------------- events

/** Connected: claim the nickname again and ask for what was missed (or, the first time, recent history). */
function joined() {
  const nick = sessionStorage.getItem(NICK_KEY);
  if (nick) connection.send(`/nick ${nick}`);
  const from = resumingFrom ?? timeline.lastId;
  if (joinedBefore && from !== null) {
    resumingFrom = from;
    connection.send(`/history since ${from}`);
  } else if (!joinedBefore && FIRST_HISTORY > 0) {
    connection.send(`/history ${FIRST_HISTORY}`);
  }
  joinedBefore = true;
}

function handle(event) {
  const change = room.take(event);
  if (event.k === "presence") connection.settled();
  if (change.self) {
    // Granted by the server (not the address a presence names the user by): asked for again after a reconnection.
    if (event.k !== "presence") sessionStorage.setItem(NICK_KEY, members.self);
    showSelf();
  }
  if (change.members) showMembers();
  if (change.show === "entry") showEntry(event, change.text);
  else if (change.show !== null) showText(change.text, change.show);
  if (event.k === "history-end") historyEnd(event);
}

/** The end of a replay: after a resume, say what it recovered or could not. */
function historyEnd(event) {
  if (resumingFrom === null) return;
  resumingFrom = null;
  if (event.reset) note("The server's log started over: what was said while you were away is unknown.");
  else if (event.missed > 0)
    note(`${event.missed} ${event.missed === 1 ? "entry" : "entries"} from while you were away are no longer kept.`);
  if (event.n > 0) note(`Back: ${event.n} ${event.n === 1 ? "entry" : "entries"} from while you were away are shown above.`);
  else if (!event.reset && !(event.missed > 0)) note("Back: you missed nothing.");
}

// ---------------------------------------------------------------- connection state

function showState(name, delay) {
  if (countdown !== null) clearInterval(countdown);
  countdown = null;
  stateView.dataset.state = name;
  if (name === "connecting") stateView.textContent = joinedBefore ? "reconnecting…" : "connecting…";
  else if (name === "connected") stateView.textContent = "connected";
  else if (name === "left") stateView.textContent = "left the room";
  else if (name === "waiting") {
    const at = Date.now() + delay;
    const tick = () => {
      stateView.textContent = `offline: retrying in ${Math.max(1, Math.ceil((at - Date.now()) / 1000))} s`;
    };
    tick();
    countdown = setInterval(tick, 1000);
  }
}

// ---------------------------------------------------------------- input

function submit() {
  if (connection.state === "left") {
    connection.start();
    return;
  }
  const text = lineInput.value;
  if (text === "") return;
  if (!connection.send(text)) {
    // Kept in the input, to send once back.
    stateView.classList.remove("nudge");
    void stateView.offsetWidth;
    stateView.classList.add("nudge");
    return;
  }
  recall.push(text);
  lineInput.value = "";
  if (QUIT.test(text)) connection.leave();
}

lineInput.addEventListener("keydown", (e) => {
  if (e.isComposing) return;
  if (e.key === "Enter") {
    e.preventDefault();
    submit();
  } else if (e.key === "ArrowUp" || e.key === "ArrowDown") {
    e.preventDefault();
    lineInput.value = e.key === "ArrowUp" ? recall.up(lineInput.value) : recall.down(lineInput.value);
    lineInput.setSelectionRange(lineInput.value.length, lineInput.value.length);
  }
});
byId("send").addEventListener("click", () => {
  submit();
  lineInput.focus();
});

nickInput.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.isComposing) {
    e.preventDefault();
    lineInput.focus();
  }
});
nickInput.addEventListener("change", () => {
  const wanted = nickInput.value.trim();
  if (wanted !== "" && wanted !== members.self) connection.send(`/nick ${wanted}`);
});
nickInput.addEventListener("blur", showSelf);

// Back online (a laptop waking, a phone out of a tunnel): no need to wait for the timer.
window.addEventListener("online", () => connection.retryNow());

// On a narrow screen the member list starts folded, under its count.
if (matchMedia("(max-width: 40rem)").matches) byId("members").open = false;

// Ready to type at once (focused from here: the linter flags `autofocus` in markup).
lineInput.focus();
connection.start();
