/**
 * The chat page: the rooms it is in and its private conversations (the
 * room list), the log of the one in view, who is in it, the connection's
 * state, and an input. What the events change is room.js's (`Chat`); this
 * file draws it. Everything a peer sent goes into the page as text
 * (`textContent`), never as markup. Events are lib/codecs/events.ts's.
 */
import { Connection } from "./connection.js";
import { colorFor, cssColor } from "./colours.js";
import { Chat, isNickname, Recall, Timeline } from "./room.js";

/** Entries kept in each view's log; older ones are dropped from the top. */
const SHOWN_LIMIT = 2000;
/** Where the tab remembers the nickname the server last granted, to ask for it again after a restart or a reload. */
const NICK_KEY = "chat.nick";

const byId = (id) => document.getElementById(id);
const logs = byId("log");
const stateView = byId("state");
const lineInput = byId("line");
const nickInput = byId("nick");
const memberList = byId("member-list");
const memberCount = byId("count");
const membersTitle = byId("members-title");
const roomList = byId("room-list");
const privateList = byId("private-list");
const privateSection = byId("privates");
const joinInput = byId("join-room");
const viewTitle = byId("view-title");
const viewHint = byId("view-hint");

const chat = new Chat(colorFor);
const recall = new Recall();

/** Each view's log (an `<ol>` in #log); `null` is the one shown before the server has put the page in a room. */
const viewLogs = new Map();
/** Counts down the wait before the next try. */
let countdown = null;

const wsUrl = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`;
const connection = new Connection(wsUrl, {
  state: showState,
  open: joined,
  event: handle,
  closed: ({ code, reason, wasOpen }) => {
    chat.disconnected();
    drawList();
    if (!wasOpen) return;
    // 1000/1001 are a normal close or the server going away, 1005/1006 no close frame at all (the server stopped or the network went).
    const why = reason ? `: ${reason}` : [1000, 1001, 1005, 1006].includes(code) ? "" : ` (code ${code})`;
    const text = connection.leaving ? `You left the chat${why}. Press Enter to join again.` : `Disconnected${why}. Reconnecting…`;
    for (const view of [...chat.views(), null]) if (viewLogs.has(view)) note(view, text);
  },
});

// ---------------------------------------------------------------- names

/**
 * A name in its colour, in the logs, the lists and the conversations alike
 * (one `chat.colorOf`); `unicode-bidi: isolate` (style.css) keeps a
 * right-to-left override inside it.
 */
function nameElement(name, text = name) {
  const span = document.createElement("span");
  span.className = "name";
  span.textContent = text;
  span.style.color = cssColor(chat.colorOf(name));
  return span;
}

// ---------------------------------------------------------------- the logs

/** The log of `view`, made the first time something is shown in it. */
function logOf(view) {
  let log = viewLogs.get(view);
  if (!log) {
    log = document.createElement("ol");
    log.className = "view-log";
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    labelLog(log, view);
    log.hidden = view !== chat.current;
    viewLogs.set(view, log);
    logs.append(log);
  }
  return log;
}

/** A log says whose it is: `data-room="#rust"`, or `data-peer="bob"` for a conversation (renamed with its peer). */
function labelLog(log, view) {
  if (view?.kind === "room") {
    log.dataset.room = view.name;
    log.setAttribute("aria-label", `The room ${view.name}`);
  } else if (view?.kind === "private") {
    log.dataset.peer = view.peer;
    log.setAttribute("aria-label", `Private conversation with ${view.peer}`);
  } else log.setAttribute("aria-label", "The chat");
}

/** Whether a log is scrolled to its end (then it follows new lines). */
function atEnd(log) {
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
 * Put an item in a view's log. An entry with an id goes after every shown
 * entry of its epoch with a smaller id, so a resume's replay fills the gap
 * before lines that arrived live meanwhile; anything else goes last.
 */
function place(view, item, id) {
  const log = logOf(view);
  const follow = atEnd(log);
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

/** One entry of a room's log; `shown` is its text as the page words it. */
function showEntry(room, event, shown) {
  const item = document.createElement("li");
  item.className = `entry ${event.k}`;
  if (event.h) item.classList.add("replayed");
  if (event.id) item.dataset.id = event.id;
  item.append(timeElement(event.t), " ");
  if (event.k === "line") {
    if (event.s === chat.self) item.classList.add("own");
    item.append(nameElement(event.s, event.me ? `* ${event.s}` : event.s), " ");
  }
  item.append(textElement(shown));
  place(room, item, event.id);
}

/** A private message, sent or received, in its conversation. */
function showPrivate(conversation, event) {
  const item = document.createElement("li");
  item.className = "entry line private";
  if (event.s === chat.self) item.classList.add("own");
  item.append(timeElement(event.t), " ", nameElement(event.s, event.me ? `* ${event.s}` : event.s), " ", textElement(event.x));
  place(conversation, item, null);
}

/** A reply, an error or the page's own note: last in the view's log. */
function showText(view, text, kind) {
  const item = document.createElement("li");
  item.className = `entry ${kind}`;
  item.append(timeElement(), " ", textElement(text));
  place(view, item, null);
}

function textElement(text) {
  const span = document.createElement("span");
  span.className = "text";
  span.textContent = text;
  return span;
}

/** Something the page itself says (not the server). */
function note(view, text) {
  showText(view, text, "note");
}

/** A view is gone (a room left, a conversation closed): its log goes with it. */
function dropLog(view) {
  viewLogs.get(view)?.remove();
  viewLogs.delete(view);
}

// ---------------------------------------------------------------- the view in view

/** Draw the view in view: its log shown (at its end), its title, its members, the input's hint. */
function showView() {
  const view = chat.current;
  const shown = logOf(view);
  for (const [v, log] of viewLogs) log.hidden = v !== view;
  shown.scrollTop = shown.scrollHeight;
  if (view?.kind === "private") {
    viewTitle.replaceChildren(nameElement(view.peer));
    viewHint.textContent = "private: only you two see this, and the server keeps none of it";
    lineInput.placeholder = `Message ${view.peer}, or /help`;
  } else {
    viewTitle.textContent = view?.name ?? "The chat";
    viewHint.textContent = "";
    lineInput.placeholder = view ? `Message ${view.name}, or /help` : "Say something, or /help";
  }
  showMembers();
  drawList();
}

/** A mouse or trackpad (not a touch screen, where focusing the input would raise the keyboard over the view just chosen). */
const finePointer = matchMedia("(pointer: fine)");

/** Bring `view` into view and, with a mouse, the cursor into the input. */
function select(view) {
  chat.select(view);
  showView();
  if (finePointer.matches) lineInput.focus();
}

// ---------------------------------------------------------------- members

/**
 * Who is in the room in view (in a conversation: the two people). A name
 * with a nickname opens a private conversation when clicked; an address
 * cannot be sent `/msg`.
 */
function showMembers() {
  const view = chat.current;
  const { names, more, count } = chat.membersOf(view);
  const items = names.map((name) => {
    const item = document.createElement("li");
    if (name === chat.self) item.append(nameElement(name), " (you)");
    else if (isNickname(name) && view?.kind === "room") {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "member";
      button.title = `Private message to ${name}`;
      button.append(nameElement(name));
      button.addEventListener("click", () => select(chat.openConversation(name)));
      item.append(button);
    } else {
      item.append(nameElement(name));
      if (view?.kind === "room") item.title = `${name} has no name yet: private messages need one`;
    }
    return item;
  });
  if (more > 0) {
    const item = document.createElement("li");
    item.className = "more";
    item.textContent = `and ${more} more`;
    items.push(item);
  }
  memberList.replaceChildren(...items);
  memberCount.textContent = String(count);
  membersTitle.textContent = view?.kind === "private" ? "Private" : `In ${view?.name ?? "the room"}`;
}

/** The name field shows the user's nickname; before one it is empty, and its tooltip gives the address others see. */
function showSelf() {
  const self = chat.self ?? "";
  const address = !isNickname(self);
  if (document.activeElement !== nickInput) nickInput.value = address ? "" : self;
  nickInput.title = address ? `Others see you as ${self} until you choose a name` : `Others see you as ${self}`;
}

// ---------------------------------------------------------------- the room list

/** An unread mark: how many lines came while the view was not in view. */
function unreadElement(n) {
  const mark = document.createElement("span");
  mark.className = "unread";
  mark.textContent = String(n);
  mark.title = `${n} new`;
  mark.hidden = n === 0;
  return mark;
}

/** One view's item: a button that brings it into view, and one that leaves the room (or closes the conversation). */
function listItem(view, label, leave) {
  const item = document.createElement("li");
  item.className = "view-item";
  if (view === chat.current) item.classList.add("current");
  if (view.unread > 0) item.classList.add("has-unread");
  const open = document.createElement("button");
  open.type = "button";
  open.className = "open";
  if (view === chat.current) open.setAttribute("aria-current", "true");
  open.append(...label, unreadElement(view.unread));
  open.addEventListener("click", () => select(view));
  const close = document.createElement("button");
  close.type = "button";
  close.className = "close";
  close.textContent = "×";
  close.title = leave.title;
  close.setAttribute("aria-label", leave.title);
  close.disabled = leave.disabled;
  close.addEventListener("click", leave.act);
  item.append(open, close);
  return item;
}

function roomItem(room) {
  const name = document.createElement("span");
  name.className = "room-name";
  name.textContent = room.name;
  const count = document.createElement("span");
  count.className = "count";
  count.textContent = String(room.members.count);
  count.title = `${room.members.count} here`;
  const only = chat.rooms.size <= 1;
  const item = listItem(room, [name, count], {
    title: only ? `${room.name} is the only room you are in` : `Leave ${room.name}`,
    disabled: only,
    act: () => leaveRoom(room),
  });
  item.dataset.room = room.name;
  if (!room.joined) item.classList.add("away");
  return item;
}

function privateItem(conversation) {
  const item = listItem(conversation, [nameElement(conversation.peer)], {
    title: `Close the conversation with ${conversation.peer}`,
    disabled: false,
    act: () => {
      dropLog(conversation);
      chat.closeConversation(conversation);
      showView();
    },
  });
  item.dataset.peer = conversation.peer;
  return item;
}

/** The room list: rooms with their counts, conversations, unread marks; the tab's title counts what is unread. */
function drawList() {
  roomList.replaceChildren(...[...chat.rooms.values()].map(roomItem));
  privateList.replaceChildren(...[...chat.privates.values()].map(privateItem));
  privateSection.hidden = chat.privates.size === 0;
  for (const [view, log] of viewLogs) if (view?.kind === "private") labelLog(log, view);
  const unread = chat.unread;
  document.title = unread > 0 ? `(${unread}) Chat` : "Chat";
}

function leaveRoom(room) {
  const out = chat.part(room);
  if (out.frames.length > 0 && !sendAll(out.frames)) return;
  if (!chat.rooms.has(room.name)) {
    // Not joined (offline, or joining it again failed): gone from the list at once.
    dropLog(room);
    showView();
  }
}

// ---------------------------------------------------------------- events

/** Connected: claim the nickname again, and join again each room the page was in (each resumes once its presence comes). */
function joined() {
  sendAll(chat.connected(sessionStorage.getItem(NICK_KEY)));
}

function handle(event) {
  if (event.k === "presence") connection.settled();
  const change = chat.take(event);
  sendAll(change.send);
  if (change.dropped) dropLog(change.dropped);
  if (change.self) {
    // Granted by the server (not the address a presence names the user by): asked for again after a reconnection.
    if (event.k !== "presence" && isNickname(chat.self)) sessionStorage.setItem(NICK_KEY, chat.self);
    showSelf();
  }
  const view = change.view;
  if (change.show === "entry") showEntry(view, event, change.text);
  else if (change.show === "private") showPrivate(view, event);
  else if (change.show !== null) showText(view, change.text, change.show);
  for (const { view: where, text } of change.notes) note(where, text);
  if (change.select) showView();
  else {
    if (change.members && (view === null || view === chat.current)) showMembers();
    if (change.list || change.self) drawList();
  }
}

// ---------------------------------------------------------------- connection state

function showState(name, delay) {
  if (countdown !== null) clearInterval(countdown);
  countdown = null;
  stateView.dataset.state = name;
  document.body.dataset.state = name;
  if (name === "connecting") stateView.textContent = chat.connections > 0 ? "reconnecting…" : "connecting…";
  else if (name === "connected") stateView.textContent = "connected";
  else if (name === "left") stateView.textContent = "left the chat";
  else if (name === "waiting") {
    const at = Date.now() + delay;
    const tick = () => {
      stateView.textContent = `offline: retrying in ${Math.max(1, Math.ceil((at - Date.now()) / 1000))} s`;
    };
    tick();
    countdown = setInterval(tick, 1000);
  }
}

/** Shake the state: a line cannot go while offline (it stays where it was typed). */
function nudge() {
  stateView.classList.remove("nudge");
  void stateView.offsetWidth;
  stateView.classList.add("nudge");
}

/** Send frames in order; false (and a nudge) when not connected. */
function sendAll(frames) {
  for (const frame of frames) {
    if (!connection.send(frame)) {
      nudge();
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------- input

function submit() {
  if (connection.state === "left") {
    connection.start();
    return;
  }
  const text = lineInput.value;
  if (text === "") return;
  if (connection.state !== "connected") {
    // Kept in the input, to send once back.
    nudge();
    return;
  }
  const out = chat.input(text);
  sendAll(out.frames);
  recall.push(text);
  lineInput.value = "";
  if (out.leave) connection.leave();
  if (out.closed) dropLog(out.closed);
  if (out.select || out.closed) showView();
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

/** The room field: `/join #NAME`; the room comes into view when the server says the page is in it. */
function submitJoin() {
  if (joinInput.value.trim() === "") return;
  if (connection.state !== "connected") return nudge();
  const out = chat.join(joinInput.value);
  sendAll(out.frames);
  joinInput.value = "";
  if (out.select) showView();
  lineInput.focus();
}
joinInput.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.isComposing) {
    e.preventDefault();
    submitJoin();
  }
});
byId("join").addEventListener("click", submitJoin);

nickInput.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.isComposing) {
    e.preventDefault();
    lineInput.focus();
  }
});
nickInput.addEventListener("change", () => {
  const wanted = nickInput.value.trim();
  if (wanted !== "" && wanted !== chat.self) connection.send(`/nick ${wanted}`);
});
nickInput.addEventListener("blur", showSelf);

// Back online (a laptop waking, a phone out of a tunnel): no need to wait for the timer.
window.addEventListener("online", () => connection.retryNow());

// On a narrow screen the member list starts folded, under its count.
if (matchMedia("(max-width: 40rem)").matches) byId("members").open = false;

showView();
// Ready to type at once (focused from here: the linter flags `autofocus` in markup).
lineInput.focus();
connection.start();
