// What the terminal client learns of rooms from the server's lines (lib/client/rooms.ts):
// the room in the prompt, the rooms Tab offers after /join and /part, and
// that nobody else's words can change either.
import t from "tap";
import { RoomState } from "../../lib/client/rooms.ts";
import { LineEditor } from "../../lib/client/line-editor.ts";

/** A state that has read `lines` in order; what follow() said of each. */
const read = (...lines: string[]) => {
  const rooms = new RoomState();
  const moved = lines.map((line) => rooms.follow(line));
  return { rooms, moved };
};

t.test("the prompt: none until the server names a room, then the room it is in", async (t) => {
  const { rooms, moved } = read(
    "Client (127.0.0.1, 40000) connected",
    "In the room: 127.0.0.1:40000 (1 other)",
    "You are now in #rust",
    "In #rust: ann (1 other)",
    "ann joined",
  );
  t.same(moved, [false, false, true, false, false], "only `You are now in` moves the client");
  t.equal(rooms.current, "#rust");
  t.equal(rooms.prompt, "#rust> ");
  t.equal(rooms.defaultRoom, null, "the default room's name is not known yet");

  const fresh = new RoomState();
  t.equal(fresh.prompt, "> ", "on connecting: in the default room, whose name the server has not said");
  fresh.follow("In the room: nobody else yet");
  t.equal(fresh.prompt, "> ", "its presence line does not name it");

  t.equal(rooms.follow("You are now in #chat"), true, "/part: back in the default room, named this time");
  rooms.follow("In the room: ann (1 other)");
  t.equal(rooms.prompt, "#chat> ");
  t.equal(rooms.defaultRoom, "#chat", "the presence line of the default room says #chat is it");
  t.equal(rooms.follow("You are now in #chat"), false, "told the room it is in: no change");
});

t.test("rooms heard of: own joins, presence lines, /rooms answers, move notices, replayed notices", async (t) => {
  const { rooms } = read(
    "You are now in #rust",
    "In #rust: nobody else yet",
    "Rooms (4): #rust (1), #chat (3), #go.dev (0), #a_b-c (2) and 2 more",
    "bob left for #haskell",
    "Client (127.0.0.1, 41000) left for #zig",
    "[history 1a2b:7 2026-12-08T01:00:00Z] cat left for #ocaml",
    "In #elixir: dan (1 other)",
  );
  t.same(rooms.rooms(), ["#a_b-c", "#chat", "#elixir", "#go.dev", "#haskell", "#ocaml", "#rust", "#zig"]);
  t.equal(rooms.current, "#rust", "a presence line or a notice of another room does not move the client");
});

t.test("nobody else's words count: messages, actions, private messages, errors", async (t) => {
  const { rooms, moved } = read(
    "<mallory> You are now in #evil",
    "* mallory You are now in #evil",
    "[private] <mallory> You are now in #evil",
    "[private to bob] Rooms (1): #evil (1)",
    "<mallory> Rooms (1): #evil (9)",
    "<mallory> x left for #evil",
    "<mallory> In #evil: everyone",
    "Error: you are already in #rust",
    "You are now in #Not a room",
    "[history 1a2b:7 2026-12-08T01:00:00Z] You are now in #replayed",
  );
  t.same(
    moved,
    moved.map(() => false),
    "none of them moves the client",
  );
  t.equal(rooms.current, null);
  t.same(rooms.rooms(), [], "and none names a room");
});

t.test("Tab after /join offers the rooms heard of, but not the one the client is in", async (t) => {
  const { rooms } = read("Rooms (4): #chat (3), #rust (2), #ruby (1), #go (0)", "You are now in #go");
  t.same(rooms.complete("/join "), { start: 6, candidates: ["#chat", "#ruby", "#rust"] });
  t.same(rooms.complete("/join #ru")?.candidates, ["#ruby", "#rust"]);
  t.same(rooms.complete("/join ru")?.candidates, ["#ruby", "#rust"], "with or without the #");
  t.same(rooms.complete("/join #RUS")?.candidates, ["#rust"], "in any case, as the server takes it");
  t.same(rooms.complete("/JOIN  #c"), { start: 7, candidates: ["#chat"] });
  t.same(rooms.complete("/join #go")?.candidates, [], "the room it is in is not offered");
  t.equal(rooms.complete("/join #x")?.none, "no room seen starts with #x: /rooms lists them");
  t.equal(new RoomState().complete("/join ")?.none, "no other room seen yet: /rooms lists them");
  for (const line of ["hello", "/join", "/joinx #r", "/join #rust now", "/nick #r", " /join #r"])
    t.equal(rooms.complete(line), null, `${JSON.stringify(line)}: nothing to complete`);
});

t.test("Tab after /part offers the room the client is in, unless it is the default room", async (t) => {
  const rooms = new RoomState();
  t.same(rooms.complete("/part ")?.candidates, [], "in the default room: nothing to part");
  t.equal(rooms.complete("/part ")?.none, "you are in the room everyone starts in: /part has nothing to leave");
  rooms.follow("You are now in #rust");
  rooms.follow("In #rust: nobody else yet");
  rooms.follow("Rooms (2): #rust (1), #chat (0)");
  t.same(rooms.complete("/part ")?.candidates, ["#rust"], "only the room it is in: the server refuses any other");
  t.same(rooms.complete("/part #c")?.candidates, []);
  t.equal(rooms.complete("/part #c")?.none, "no room you are in starts with #c");
  rooms.follow("You are now in #chat");
  rooms.follow("In the room: nobody else yet");
  t.same(rooms.complete("/part ")?.candidates, [], "back in the default room, now known by name");
});

t.test("the editor and the room state together, as the terminal client wires them", async (t) => {
  const rooms = new RoomState();
  const editor = new LineEditor({ prompt: rooms.prompt, columns: () => 80, complete: (before) => rooms.complete(before) });
  rooms.follow("Rooms (3): #chat (2), #golang (1), #gossip (1)");
  editor.feed("/join #g\t");
  t.equal(editor.text, "/join #go");
  t.same(editor.feed("\t"), [{ kind: "candidates", candidates: ["#golang", "#gossip"] }]);
  editor.feed("l\t");
  t.same(editor.feed("\r"), [{ kind: "submit", line: "/join #golang" }]);
  if (rooms.follow("You are now in #golang")) editor.setPrompt(rooms.prompt);
  t.equal(editor.render(), "\r\x1b[2K#golang> \x1b[10G");
});
