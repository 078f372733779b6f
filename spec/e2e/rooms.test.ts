// Rooms and private messages, end to end: line clients move between rooms
// with /join and /part and a line said in one room never reaches another;
// each room has its own log, ids, presence and /who; /rooms counts; a web
// client is in several rooms at once and names the room of each line;
// /msg reaches one member wherever it is and is stored nowhere; the limits
// refuse clearly; --history-db keeps each room's log across a restart;
// and two servers of a cluster share every room and carry private
// messages between them.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import t from "tap";
import { startServer } from "../support/bun.ts";
import { LineClient } from "../support/line-client.ts";
import { RedisServer, redisMissing } from "../support/redis.ts";
import { WsClient } from "../support/ws-client.ts";
import { startWebServer } from "../web/support/web.ts";
import { clusterOf } from "../cluster/support/room.ts";

/** Connect a client, wait for its presence line, and give it a nickname (seen by `watchers`). */
async function named(port: number, nick: string, ...watchers: LineClient[]): Promise<LineClient> {
  const c = await LineClient.connect(port);
  await c.joined();
  c.send(`/nick ${nick}\n`);
  await c.waitFor(`You are now ${nick}\n`);
  for (const w of watchers) await w.waitFor(` is now ${nick}\n`);
  return c;
}

/** What `c` received after `mark` (an index into `received`). */
const since = (c: LineClient, mark: number) => c.received.slice(mark);

t.test("/join moves a line client; lines stay in their room; notices, presence, /who, /rooms and /part", async (t) => {
  const server = await startServer(["--rate", "0"]);
  t.teardown(() => server.stop());
  const ann = await named(server.port, "ann");
  const bob = await named(server.port, "bob", ann);
  const cat = await named(server.port, "cat", ann, bob);
  t.teardown(() => {
    for (const c of [ann, bob, cat]) c.reset();
  });

  ann.send("/join #Rust\n");
  await ann.waitFor("You are now in #rust\nIn #rust: nobody else yet\n");
  await bob.waitFor("ann left for #rust\n");
  await cat.waitFor("ann left for #rust\n");
  bob.send("/join RUST\n"); // the same room, in any case and without #
  await bob.waitFor("You are now in #rust\nIn #rust: ann (1 other)\n");
  await ann.waitFor("bob joined\n");
  await cat.waitFor("bob left for #rust\n");

  const catMark = cat.received.length;
  bob.send("only for rust\n");
  await ann.waitFor("<bob> only for rust\n");
  cat.send("only for chat\n");
  cat.send("/who\n");
  await cat.waitFor(`Online (1): cat (127.0.0.1:${cat.port}) (you)\n`);
  t.notMatch(since(cat, catMark), "only for rust", "a line said in #rust never reaches #chat");
  t.notMatch(ann.received, "only for chat", "nor the other way");
  ann.send("/who\n");
  await ann.waitFor(`Online (2): `);
  t.match(ann.received, /Online \(2\): [^\n]*ann \(127\.0\.0\.1:\d+\) \(you\)/, "/who is the room's");
  ann.send("/rooms\n");
  await ann.waitFor("Rooms (2): #rust (2), #chat (1)\n");

  ann.send("/part\n");
  await ann.waitFor("You are now in #chat\nIn the room: cat (1 other)\n");
  await bob.waitFor("ann left for #chat\n");
  await cat.waitFor("ann joined\n");
  ann.send("/part\n");
  await ann.waitFor("Error: #chat is where everyone starts: /join another room to leave it\n");
  bob.send("/part\n");
  await cat.waitFor("bob joined\n");
  ann.send("/rooms\n");
  await ann.waitFor("Rooms (1): #chat (3)\n", undefined);
});

t.test("each room has its own log: /history and ids per room", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const ann = await named(server.port, "ann");
  t.teardown(() => ann.reset());
  ann.send("in chat\n/join dev\n");
  await ann.waitFor("In #dev: nobody else yet\n");
  ann.send("in dev\n/history 10\n");
  await ann.waitFor("[history end] ");
  const answer = ann.received.slice(ann.received.lastIndexOf("[history"));
  const all = ann.received.split("\n").filter((l) => l.startsWith("[history "));
  t.match(all.join("\n"), /\[history (\w+):1 \S+\] ann joined\n\[history \1:2 \S+\] <ann> in dev/, "#dev numbers from 1");
  t.notMatch(all.join("\n"), "in chat", "#chat's lines are not in #dev's log");
  t.match(answer, /^\[history end\] 2 entries, last \w+:2/);
  ann.send("/part\n/history 10\n");
  await ann.waitUntil((r) => r.split("[history end]").length === 3, "#chat's answer");
  t.match(ann.received.slice(ann.received.lastIndexOf("[history end]")), /^\[history end\] \d+ entries/);
  const chat = ann.received.slice(ann.received.indexOf("You are now in #chat"));
  t.match(chat, "<ann> in chat", "#chat's log has its line");
  t.notMatch(chat, "<ann> in dev");
});

t.test("/msg reaches one member in any room, is stored nowhere, and an unknown name is an error", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const ann = await named(server.port, "ann");
  const bob = await named(server.port, "bob", ann);
  const cat = await named(server.port, "cat", ann, bob);
  t.teardown(() => {
    for (const c of [ann, bob, cat]) c.reset();
  });
  bob.send("/join den\n");
  await bob.waitFor("In #den: nobody else yet\n");
  const catMark = cat.received.length;
  ann.send("/msg bob meet me at noon\n/msg Bob /me waves\n");
  await bob.waitFor("[private] <ann> meet me at noon\n[private] * ann waves\n");
  ann.send("/msg nobody hi\n/msg bob\n");
  await ann.waitFor("Error: nobody here goes by nobody\nError: usage: /msg NICK TEXT\n");
  cat.send("/history 50\n");
  await cat.waitFor("[history end]");
  bob.send("/history 50\n");
  await bob.waitFor("[history end]");
  t.notMatch(since(cat, catMark), "noon", "cat never saw it");
  t.notMatch(cat.received, "noon", "not in #chat's history");
  t.equal(bob.received.split("meet me at noon").length - 1, 1, "nor in #den's: bob saw it once, live");
  t.notMatch(ann.received, "[private", "the sender's line client is not sent its own message back");
});

t.test("room names and limits: a clear refusal each", async (t) => {
  const server = await startServer(["--max-rooms", "2", "--max-room-name", "8"]);
  t.teardown(() => server.stop());
  const a = await LineClient.connect(server.port);
  await a.joined();
  t.teardown(() => a.reset());
  for (const bad of ["a,b", "#", "toolongname", "-x"]) {
    a.send(`/join ${bad}\n`);
    await a.waitFor(`${bad} is none\n`);
  }
  t.match(a.received, "Error: a room name is 1 to 8 letters, digits, _, - or .", "the rule, with the length");
  a.send("/join one\n");
  await a.waitFor("In #one: nobody else yet\n");
  const b = await LineClient.connect(server.port);
  await b.joined();
  t.teardown(() => b.reset());
  b.send("/join two\n");
  await b.waitFor("Error: this server has 2 rooms, the most it holds: join one of /rooms\n");
  b.send("/join one\n");
  await b.waitFor("In #one: 127.0.0.1:");
});

t.test("a bad --room is a usage error", async (t) => {
  const { runBun } = await import("../support/bun.ts");
  const run = await runBun(["bin/server.ts", "--room", "a b"]);
  t.equal(run.code, 2);
  t.match(run.stderr, /^server: --room: must be a room name: a room name is 1 to 32 /);
});

t.test("a web client is in several rooms at once and names each line's room", async (t) => {
  const server = await startWebServer(["--max-rooms-per-client", "2"]);
  t.teardown(() => server.stop());
  const tcp = await named(server.port, "tcp");
  t.teardown(() => tcp.reset());
  tcp.send("/join ops\n");
  await tcp.waitFor("In #ops: nobody else yet\n");
  const web = await WsClient.open({ port: server.webPort, origin: server.origin });
  t.teardown(() => web.close());
  await web.waitEvent((e) => e.k === "presence" && e.r === "#chat", "presence in #chat");
  web.send("/join #ops");
  const presence = await web.waitEvent((e) => e.k === "presence" && e.r === "#ops", "presence in #ops");
  t.same(presence.names, ["tcp"], "who is in #ops");
  await tcp.waitFor("joined\n");
  web.send(JSON.stringify({ r: "#ops", x: "hello ops" }));
  await tcp.waitFor("> hello ops\n");
  const own = await web.waitEvent((e) => e.k === "line" && e.x === "hello ops", "its own line back");
  t.equal(own.r, "#ops", "with its room");
  tcp.send("from ops\n");
  const heard = await web.waitEvent((e) => e.k === "line" && e.x === "from ops", "the tcp line");
  t.equal(heard.r, "#ops");
  web.send(JSON.stringify({ r: "#chat", x: "hello chat" }));
  await web.waitEvent((e) => e.k === "line" && e.x === "hello chat" && e.r === "#chat", "its #chat line");
  t.notMatch(tcp.received, "hello chat", "the #ops member never hears #chat");
  web.send(JSON.stringify({ r: "#ops", x: "/who" }));
  const who = await web.waitEvent((e) => e.k === "reply" && /^Online \(2\)/.test(e.x), "/who of #ops");
  t.equal(who.r, "#ops", "a reply names the room its command was said in");
  web.send(JSON.stringify({ r: "#ops", x: "/history nope" }));
  const refused = await web.waitEvent((e) => e.k === "error" && /usage: \/history/.test(e.x), "a refusal");
  t.equal(refused.r, "#ops", "and so does a refusal");
  web.send("/join third");
  await web.waitEvent((e) => e.k === "error" && /the most one client may be in/.test(e.x), "the per-client limit");
  web.send(JSON.stringify({ r: "#nowhere", x: "hi" }));
  await web.waitEvent((e) => e.k === "error" && /you are not in #nowhere/.test(e.x), "a room it is not in");
  web.send("/part #ops");
  await web.waitEvent((e) => e.k === "reply" && e.x === "You left #ops", "parted");
  await tcp.waitFor(" left\n");
  web.send("/nick webby");
  await web.waitEvent((e) => e.k === "nick" && e.to === "webby", "its rename");
  const before = web.events.length;
  web.send("/msg webby note to self");
  await web.waitEvent((e) => e.k === "private" && e.x === "note to self", "a private message to itself", before);
  web.send("/who");
  await web.waitEvent((e) => e.k === "reply" && /^Online/.test(e.x), "a later reply", before);
  t.equal(web.events.slice(before).filter((e) => e.k === "private").length, 1, "to itself: once, not delivered and echoed");
  web.send("/msg tcp psst");
  await tcp.waitFor("[private] <webby> psst\n");
  const echo = await web.waitEvent((e) => e.k === "private" && e.to === "tcp", "its private message, as a page shows it");
  t.same([echo.to, echo.x], ["tcp", "psst"]);
});

t.test("--history-db keeps each room's log across a restart, with its ids", async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), "rooms-db-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "h.db");
  const first = await startServer(["--history-db", file]);
  const a = await named(first.port, "ann");
  a.send("/join kept\nsaid in kept\n/history 5\n");
  await a.waitFor("[history end]");
  const id = /\[history (\w+:\d+) \S+\] <ann> said in kept/.exec(a.received)![1]!;
  a.reset();
  first.child.kill("SIGTERM");
  await first.exited;
  const second = await startServer(["--history-db", file]);
  t.teardown(() => second.stop());
  const b = await LineClient.connect(second.port);
  await b.joined();
  t.teardown(() => b.reset());
  b.send("/join kept\n/history 5\n");
  await b.waitFor("[history end]");
  t.match(b.received, `[history ${id} `, "the room's entry, with the id it had");
  t.match(b.received, "<ann> said in kept");
});

t.test("two servers share every room, and carry private messages between them", { skip: redisMissing() }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const [s1, s2] = await clusterOf(t, redis.url, ["n1", "n2"]);
  const ann = await named(s1!.port, "ann");
  const bob = await named(s2!.port, "bob");
  const cat = await named(s2!.port, "cat", bob);
  t.teardown(() => {
    for (const c of [ann, bob, cat]) c.reset();
  });
  ann.send("/join lab\n");
  await ann.waitFor("In #lab: nobody else yet\n");
  bob.send("/join lab\n");
  await bob.waitFor("In #lab: ann (1 other)\n");
  await ann.waitFor("bob joined\n");
  const catMark = cat.received.length;
  ann.send("across servers\n");
  await bob.waitFor("<ann> across servers\n");
  bob.send("/who\n");
  await bob.waitFor(`Online (2): bob (127.0.0.1:${bob.port}) (you), ann (on n1)\n`);
  cat.send("/msg ann from the other server\n");
  await ann.waitFor("[private] <cat> from the other server\n");
  ann.send("/msg cat back at you\n");
  await cat.waitFor("[private] <ann> back at you\n");
  t.notMatch(since(cat, catMark), "across servers", "#chat on n2 never hears #lab");
  ann.send("/msg nobody hi\n");
  await ann.waitFor("Error: nobody here goes by nobody\n");
});

t.test("metrics and the status page: rooms, members and lines of the busiest", async (t) => {
  const server = await startServer(["--metrics", "127.0.0.1:0"]);
  t.teardown(() => server.stop());
  await server.waitFor("Metrics on");
  const url = /Metrics on (\S+)metrics/.exec(server.output())![1]!;
  const ann = await named(server.port, "ann");
  const bob = await named(server.port, "bob", ann);
  t.teardown(() => {
    for (const c of [ann, bob]) c.reset();
  });
  ann.send("/join rust\n");
  await ann.waitFor("In #rust: nobody else yet\n");
  bob.send("/join rust\n");
  await ann.waitFor("bob joined\n");
  ann.send("one\ntwo\n");
  bob.send("three\n");
  await bob.waitFor("<ann> two\n");
  await ann.waitFor("<bob> three\n");
  // Sampled once a second: the figures of a sample taken after the lines.
  const after = Date.now();
  let metrics = "";
  for (;;) {
    const stats = (await (await fetch(`${url}stats.json`)).json()) as { time: number };
    if (stats.time > after) {
      metrics = await (await fetch(`${url}metrics`)).text();
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.match(metrics, /^chat_rooms 2$/m);
  t.match(metrics, /^chat_room_members\{room="#rust"\} 2$/m);
  t.match(metrics, /^chat_room_lines_total\{room="#rust"\} 3$/m);
  t.match(metrics, /^chat_room_members\{room="#chat"\} 0$/m, "the default room, empty, is listed too");
  t.match(await (await fetch(url)).text(), 'id="busiestRooms"', "the status page has the busiest rooms");
});
