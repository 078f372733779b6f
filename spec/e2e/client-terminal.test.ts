// The interactive client in a real terminal: `bun bin/client.ts` inside tmux,
// keys sent with send-keys, the screen read back with capture-pane.
import { execFileSync, spawnSync } from "node:child_process";
import t from "tap";
import { colorFor } from "../../lib/client/display.ts";
import { LineClient } from "../support/line-client.ts";
import { bunPath, root, startServer } from "../support/bun.ts";

const hasTmux = spawnSync("tmux", ["-V"]).status === 0;
if (!hasTmux) t.plan(0, "tmux is not installed (apt-get install tmux); the terminal client cannot be driven");

/** A tmux server of our own (its own socket), so nothing else is touched. */
class Tmux {
  private readonly socket: string;
  /** @param name tells apart two tmux servers of one test (one whose only session ended may still be exiting) */
  constructor(name = "") {
    this.socket = `select-chat-spec-${process.pid}${name}`;
  }
  run(...args: string[]): string {
    return execFileSync("tmux", ["-L", this.socket, ...args], { encoding: "utf8" });
  }
  start(name: string, command: string): void {
    this.run("new-session", "-d", "-s", name, "-x", "80", "-y", "15", command);
  }
  /** The screen's rows; with `escapes`, colours as SGR sequences. */
  screen(name: string, escapes = false): string[] {
    return this.run("capture-pane", "-p", ...(escapes ? ["-e"] : []), "-t", name).split("\n");
  }
  /**
   * tmux tells nobody when the screen changes, so this polls capture-pane
   * until `test` holds (or fails after a deadline).
   */
  async waitScreen(name: string, test: (rows: string[]) => boolean, what: string, timeoutMs = 10_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let rows: string[] = [];
      try {
        rows = this.screen(name);
      } catch {
        // the session is not there (yet, or any more)
      }
      if (test(rows)) return rows;
      if (Date.now() > deadline) throw new Error(`screen never showed ${what}:\n${rows.join("\n")}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  /** Where the cursor is: its column, from 0. */
  cursorColumn(name: string): number {
    return Number(this.run("display-message", "-p", "-t", name, "#{cursor_x}").trim());
  }
  /** Polls until the cursor is in `column` (tmux tells nobody when it moves); the last column seen otherwise. */
  async waitCursor(name: string, column: number, timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = this.cursorColumn(name);
      if (seen === column || Date.now() > deadline) return seen;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  keys(name: string, ...keys: string[]): void {
    this.run("send-keys", "-t", name, ...keys);
  }
  type(name: string, text: string): void {
    this.run("send-keys", "-t", name, "-l", text);
  }
  kill(): void {
    spawnSync("tmux", ["-L", this.socket, "kill-server"]);
  }
}

const plain = (row: string) => row.replace(/\x1b\[[0-9;]*m/g, "");
/** The row (with its colour escapes) that reads `text` once the escapes are removed. */
const rowWith = (rows: string[], text: string) => {
  const row = rows.find((candidate) => plain(candidate).includes(text));
  if (row === undefined) throw new Error(`no row shows ${text}`);
  return row;
};
const lastRow = (rows: string[]) => rows.filter((row) => row.trim() !== "").at(-1) ?? "";
const clientCommand = (port: number, env: string) => `cd ${root} && exec env ${env} ${bunPath} bin/client.ts --port ${port}`;

t.test("typed text survives incoming messages; names in colour; history with Up", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const tmux = new Tmux();
  t.teardown(() => tmux.kill());
  const peer = await LineClient.connect(server.port);
  await server.waitFor(`Client ${peer.addr} connected`);
  tmux.start("chat", clientCommand(server.port, "env -u NO_COLOR"));
  const joined = /Client \(127\.0\.0\.1, (\d+)\) connected\n/;
  await peer.waitUntil((received) => joined.test(received), "the terminal client's join");
  const port = joined.exec(peer.received)![1];
  await tmux.waitScreen("chat", (rows) => lastRow(rows) === ">", "the prompt");

  tmux.type("chat", "hello wor");
  await tmux.waitScreen("chat", (rows) => lastRow(rows) === "> hello wor", "the typed text");
  peer.send("/nick bob\nincoming one\nincoming two\n");
  const rows = await tmux.waitScreen("chat", (screen) => screen.some((row) => row.includes("<bob> incoming two")), "the incoming lines");
  t.equal(lastRow(rows), "> hello wor", "the half-typed line is intact below the incoming ones");
  t.ok(rows.includes("<bob> incoming one"), "incoming lines are whole rows");
  t.ok(rows.includes(`Client (127.0.0.1, ${peer.port}) is now bob`));
  t.equal(rows.filter((row) => row.includes("hello wor")).length, 1, "the input is drawn once, not torn into the output");

  const coloured = rowWith(tmux.screen("chat", true), "<bob> incoming one");
  t.match(coloured, /\x1b\[[0-9;]*m<bob>\x1b\[/, "the name is coloured");

  tmux.type("chat", "ld");
  tmux.keys("chat", "Enter");
  await peer.waitFor(`<127.0.0.1:${port}> hello world\n`);
  await tmux.waitScreen(
    "chat",
    (screen) => screen.includes("> hello world") && lastRow(screen) === ">",
    "the sent line echoed, input cleared",
  );
  tmux.keys("chat", "Up");
  await tmux.waitScreen("chat", (screen) => lastRow(screen) === "> hello world", "the last line recalled with Up");
  tmux.keys("chat", "C-u");
  tmux.type("chat", "/who");
  tmux.keys("chat", "Enter");
  await tmux.waitScreen("chat", (screen) => screen.some((row) => row.startsWith("Online (2): ")), "the /who answer");

  tmux.keys("chat", "C-c");
  await peer.waitFor(`Client (127.0.0.1, ${port}) quits\n`);
  peer.end();
});

t.test("NO_COLOR keeps the terminal client plain", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const tmux = new Tmux();
  t.teardown(() => tmux.kill());
  const peer = await LineClient.connect(server.port);
  await server.waitFor(`Client ${peer.addr} connected`);
  tmux.start("plain", clientCommand(server.port, "NO_COLOR=1"));
  await peer.waitFor("connected\n");
  await tmux.waitScreen("plain", (rows) => lastRow(rows) === ">", "the prompt");
  peer.send("/nick eve\nplain text\n");
  await tmux.waitScreen("plain", (screen) => screen.includes("<eve> plain text"), "the message");
  const row = rowWith(tmux.screen("plain", true), "<eve> plain text");
  t.equal(row, "<eve> plain text", "no colour escapes at all");
  tmux.type("plain", "q");
  tmux.keys("plain", "Enter");
  await peer.waitFor("quits\n");
  peer.end();
});

/** What a LineClient (which reads bytes as latin1) holds for UTF-8 `text`. */
const asReceived = (text: string) => Buffer.from(text, "utf8").toString("latin1");

t.test("wide characters (CJK, emoji) take two columns: the cursor stays on the text", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const tmux = new Tmux();
  t.teardown(() => tmux.kill());
  const peer = await LineClient.connect(server.port);
  await server.waitFor(`Client ${peer.addr} connected`);
  tmux.start("wide", clientCommand(server.port, "NO_COLOR=1"));
  await peer.waitFor("connected\n");
  await tmux.waitScreen("wide", (rows) => lastRow(rows) === ">", "the prompt");

  tmux.type("wide", "日本語 😀 ok");
  await tmux.waitScreen("wide", (rows) => lastRow(rows) === "> 日本語 😀 ok", "the typed text");
  // "> " 2, 日本語 6, space 1, 😀 2, " ok" 3: column 14 (one column per character would say 12).
  t.equal(await tmux.waitCursor("wide", 14), 14, "the cursor right after the text");
  tmux.keys("wide", "Left", "Left", "Left", "Left", "Left");
  tmux.type("wide", "x");
  await tmux.waitScreen("wide", (rows) => lastRow(rows) === "> 日本語x 😀 ok", "x typed after 語");
  t.equal(await tmux.waitCursor("wide", 9), 9, "Left moves a character at a time, whatever its width");
  peer.send("日本語 and 😀 from a peer\n");
  const rows = await tmux.waitScreen(
    "wide",
    (screen) => screen.some((row) => row.endsWith("日本語 and 😀 from a peer")),
    "the incoming line",
  );
  t.equal(lastRow(rows), "> 日本語x 😀 ok", "the input row is drawn again intact");
  t.equal(await tmux.waitCursor("wide", 9), 9, "and the cursor put back in its place");
  tmux.keys("wide", "Enter");
  await peer.waitFor(asReceived("> 日本語x 😀 ok\n"));
  tmux.keys("wide", "C-c");
  await peer.waitFor("quits\n");
  peer.end();
});

/** The 256-colour index the row's `name` is drawn in (from capture-pane -e), or null. */
function colorOfName(rows: string[], name: string): number | null {
  for (const row of rows) {
    const m = new RegExp(`\\x1b\\[38;5;(\\d+)m(?:\\x1b\\[[0-9;]*m)*${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`).exec(row);
    if (m) return Number(m[1]);
  }
  return null;
}

t.test("a name keeps its colour across /nick; /me is echoed as * NAME ACTION", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const tmux = new Tmux();
  t.teardown(() => tmux.kill());
  const peer = await LineClient.connect(server.port);
  await server.waitFor(`Client ${peer.addr} connected`);
  tmux.start("names", clientCommand(server.port, "env -u NO_COLOR"));
  await peer.waitFor("connected\n");
  await tmux.waitScreen("names", (rows) => lastRow(rows) === ">", "the prompt");

  const address = `127.0.0.1:${peer.port}`;
  peer.send("before the rename\n");
  await tmux.waitScreen("names", (rows) => rows.includes(`<${address}> before the rename`), "the first message");
  const before = colorOfName(tmux.screen("names", true), `<${address}>`);
  t.equal(before, colorFor(address), "a new name gets the colour of its hash");
  // Names whose own colour differs from the address's: kept colours are then the rename's doing.
  const [first, second] = ["zed", "kai", "uma", "ivy", "rex", "noa", "lev", "ada"].filter((name) => colorFor(name) !== before);
  peer.send(`/nick ${first}\nafter one rename\n/nick ${second}\nafter two\n`);
  await tmux.waitScreen("names", (rows) => rows.includes(`<${second}> after two`), "the messages after the renames");
  const screen = tmux.screen("names", true);
  t.equal(colorOfName(screen, `<${first}>`), before, `${first} is drawn in the colour the person had`);
  t.equal(colorOfName(screen, `<${second}>`), before, `and so is ${second}, after a rename of a nickname`);

  tmux.type("names", `/nick me${peer.port}`);
  tmux.keys("names", "Enter");
  await tmux.waitScreen("names", (rows) => rows.includes(`You are now me${peer.port}`), "the rename of the terminal's user");
  tmux.type("names", "/me waves");
  tmux.keys("names", "Enter");
  await peer.waitFor(`* me${peer.port} waves\n`);
  const rows = await tmux.waitScreen("names", (screen) => screen.includes(`* me${peer.port} waves`), "the action echoed");
  t.notOk(rows.includes("> /me waves"), "not echoed as the command typed");
  tmux.keys("names", "C-c");
  await peer.waitFor("quits\n");
  peer.end();
});

t.test("the history shown on joining is quiet: times, no ids, no end line, not the user's own join; --show-ids keeps them", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const tmux = new Tmux();
  t.teardown(() => tmux.kill());
  const peer = await LineClient.connect(server.port);
  // Answered once the line is in the room's log: commands are handled in order.
  peer.send("/nick ann\nbefore you came\n/history 0\n");
  await peer.waitFor("[history end] ");

  tmux.start("quiet", clientCommand(server.port, "env -u NO_COLOR"));
  const joined = /Client \(127\.0\.0\.1, (\d+)\) connected\n/;
  await peer.waitUntil((received) => joined.test(received), "the terminal client's join");
  const port = joined.exec(peer.received)![1];
  const rows = await tmux.waitScreen("quiet", (screen) => screen.includes("── end of history ──"), "the end of the replay");
  t.ok(
    rows.some((row) => /^\[\d\d:\d\d:\d\d\] <ann> before you came$/.test(row)),
    "an earlier line, with its time",
  );
  t.ok(
    rows.some((row) => /^\[\d\d:\d\d:\d\d\] Client \(127\.0\.0\.1, \d+\) is now ann$/.test(row)),
    "an earlier notice",
  );
  t.notOk(
    rows.some((row) => row.includes("[history")),
    "no [history ID TIME] mark, no [history end] line",
  );
  t.notOk(
    rows.some((row) => row.includes(`Client (127.0.0.1, ${port}) connected`)),
    "the user's own join is not replayed to them",
  );
  const dimmed = rowWith(tmux.screen("quiet", true), "<ann> before you came");
  // Dimmed whole (capture-pane says so once for the run of dim rows): no name in colour as a live line has.
  t.notMatch(dimmed, /38;5;/, "a replayed line is not drawn like a live one");
  tmux.keys("quiet", "C-c");
  await peer.waitFor(`Client (127.0.0.1, ${port}) quits\n`);

  const second = new Tmux("-ids");
  t.teardown(() => second.kill());
  second.start("ids", `${clientCommand(server.port, "env -u NO_COLOR")} --show-ids`);
  const joins = () => [...peer.received.matchAll(/Client \(127\.0\.0\.1, (\d+)\) connected\n/g)].map((m) => m[1]);
  await peer.waitUntil(() => joins().length === 2, "the second terminal client's join");
  const withIds = await second.waitScreen("ids", (screen) => screen.some((row) => row.startsWith("[history end] ")), "the end line");
  t.ok(
    withIds.some((row) => /^\[history [0-9a-z]+:\d+ \S+Z\] <ann> before you came$/.test(row)),
    "--show-ids: the entry's id and time as the server sends them",
  );
  t.match(
    withIds.find((row) => row.startsWith("[history end] ")),
    /^\[history end\] \d+ entries, last [0-9a-z]+:\d+$/,
    "and the end line",
  );
  second.keys("ids", "C-c");
  await peer.waitFor(`Client (127.0.0.1, ${joins()[1]}) quits\n`);
  peer.end();
});

t.test("the prompt names the room after /join and /part; Tab completes /join's and /part's room from the rooms seen", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const tmux = new Tmux("-rooms");
  t.teardown(() => tmux.kill());
  // Two rooms with a member each, for the terminal client to hear of through /rooms.
  const golang = await LineClient.connect(server.port);
  golang.send("/join #golang\n");
  await golang.waitFor("You are now in #golang\n");
  const gossip = await LineClient.connect(server.port);
  gossip.send("/join #gossip\n");
  await gossip.waitFor("You are now in #gossip\n");
  t.teardown(() => {
    golang.reset();
    gossip.reset();
  });

  tmux.start("rooms", clientCommand(server.port, "NO_COLOR=1"));
  await tmux.waitScreen(
    "rooms",
    (rows) => lastRow(rows) === ">",
    "the prompt, without a room: the server has not named the one it starts in",
  );
  tmux.type("rooms", "/join #rust");
  tmux.keys("rooms", "Enter");
  let rows = await tmux.waitScreen("rooms", (screen) => lastRow(screen) === "#rust>", "the prompt naming #rust");
  t.ok(rows.includes("You are now in #rust"), "after the server's answer");

  tmux.type("rooms", "/rooms");
  tmux.keys("rooms", "Enter");
  await tmux.waitScreen("rooms", (screen) => screen.some((row) => row.startsWith("Rooms (4): ")), "the /rooms answer");
  tmux.type("rooms", "/join #g");
  tmux.keys("rooms", "Tab");
  await tmux.waitScreen("rooms", (screen) => lastRow(screen) === "#rust> /join #go", "Tab: the common start of #golang and #gossip");
  tmux.keys("rooms", "Tab");
  rows = await tmux.waitScreen("rooms", (screen) => screen.includes("#golang  #gossip"), "a second Tab: both listed");
  t.equal(lastRow(rows), "#rust> /join #go", "above the line being typed, which is intact");
  tmux.type("rooms", "l");
  tmux.keys("rooms", "Tab");
  await tmux.waitScreen("rooms", (screen) => lastRow(screen) === "#rust> /join #golang", "one candidate: completed");
  tmux.keys("rooms", "Enter");
  await golang.waitFor(" joined\n");
  await tmux.waitScreen("rooms", (screen) => lastRow(screen) === "#golang>", "the prompt naming #golang");

  tmux.type("rooms", "/part ");
  tmux.keys("rooms", "Tab");
  await tmux.waitScreen("rooms", (screen) => lastRow(screen) === "#golang> /part #golang", "/part completes the room it is in");
  tmux.keys("rooms", "Enter");
  await golang.waitFor(" left for #chat\n");
  rows = await tmux.waitScreen(
    "rooms",
    (screen) => lastRow(screen) === "#chat>",
    "back in the default room, named by the server this time",
  );
  t.ok(rows.includes("You are now in #chat"));
  tmux.keys("rooms", "C-c");
  await server.waitFor(" quits"); // told in #chat, where neither peer is: the server's log says it
});
