// One room for TCP and web clients: `bun bin/server.ts --web`, TCP clients
// (node:net) and WebSocket clients see each other's lines, joins, leaves,
// nicks and /who, in the same order.
import t from "tap";
import { LineClient } from "../support/line-client.ts";
import { type WsEvent, WsClient } from "../support/ws-client.ts";
import { startWebServer } from "./support/web.ts";

/** An event as a TCP client reads the same entry: `<NAME> text` for a line, the notice's words otherwise. */
function asTcpLine(e: WsEvent): string | null {
  if (e.k === "line") return `<${e.s}> ${e.x}`;
  if (e.k === "join" || e.k === "leave" || e.k === "nick" || e.k === "notice") return e.x;
  return null; // replies, presence: to one client only
}

/** What a TCP client received from `from` on, as lines, without the replies to its own commands. */
function tcpTranscript(c: LineClient, from: number): string[] {
  return c.received
    .slice(from)
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("In the room: ") && !l.startsWith("Online ("));
}

t.test("TCP and web clients see the same room in the same order", async (t) => {
  const server = await startWebServer();
  t.teardown(() => server.stop());

  // Two observers, one of each kind, in the room before anything happens.
  const ot = await LineClient.connect(server.port);
  await ot.waitUntil(() => ot.presence !== null, "the presence line");
  const ow = await WsClient.open({ port: server.webPort, origin: server.origin });
  await ow.waitEvent((e) => e.k === "presence", "presence");
  const presence = ow.events.find((e) => e.k === "presence");
  t.same(presence.names, [`127.0.0.1:${ot.port}`], "the web client is told who is here");
  await ot.waitFor(`Client ${ow.addr} connected\n`);
  const otFrom = ot.received.length;
  const owFrom = ow.events.length;

  // Two actors, one of each kind, join at once.
  const [a, b] = await Promise.all([LineClient.connect(server.port), WsClient.open({ port: server.webPort, origin: server.origin })]);
  await b.waitEvent((e) => e.k === "presence", "b's presence");
  for (const joined of [a, b]) {
    await ot.waitFor(`Client ${joined.addr} connected\n`);
    await ow.waitText(`Client ${joined.addr} connected`);
  }

  // They talk over each other, rename, and talk again.
  for (let i = 0; i < 20; i++) {
    a.send(`a${i}\n`);
    b.send(`b${i}`);
  }
  a.send("/nick alice\n");
  b.send("/nick bob");
  a.send("after a\n");
  b.send("after b");
  for (const o of [ot, ow]) {
    const wait = (text: string) => (o instanceof LineClient ? o.waitFor(text) : o.waitText(text));
    await wait("after a");
    await wait("after b");
  }

  // /who from both observers lists the same members.
  ot.send("/who\n");
  ow.send("/who");
  await ot.waitFor("Online (4): ");
  const otWho = /Online \(4\): (.*)\n/.exec(ot.received)![1]!;
  const owWho = (await ow.waitEvent((e) => e.k === "reply" && e.x.startsWith("Online (4): "), "/who's reply")).x.slice(
    "Online (4): ".length,
  );
  t.equal(otWho.replace(" (you)", ""), owWho.replace(" (you)", ""), "/who lists the same members, TCP and web alike");
  t.match(owWho, `bob (127.0.0.1:${b.port})`);
  t.match(otWho, `alice (127.0.0.1:${a.port})`);

  // The actors' transcripts are compared below: each has the other's last line (on its own connection) before it leaves.
  await a.waitFor("<bob> after b\n");
  await b.waitText("after a");

  // Both leave.
  a.send("q\n");
  b.close();
  for (const text of ["alice quits", "bob is offline"]) {
    await ot.waitFor(text);
    await ow.waitText(text);
  }

  const seenByTcp = tcpTranscript(ot, otFrom);
  const seenByWeb = ow.events
    .slice(owFrom)
    .map(asTcpLine)
    .filter((l): l is string => l !== null);
  t.equal(seenByTcp.length, 2 + 40 + 2 + 2 + 2, "two joins, forty lines, two nicks, two more lines, two leaves");
  t.same(seenByWeb, seenByTcp, "the web observer saw the same entries as the TCP observer, in the same order");
  t.same(
    seenByTcp.filter((l) => /^<.*> a\d+$/.test(l)),
    Array.from({ length: 20 }, (_, i) => `<127.0.0.1:${a.port}> a${i}`),
    "each sender's lines in the order it sent them",
  );
  t.same(
    seenByTcp.filter((l) => l.includes("is now")),
    [`Client ${a.addr} is now alice`, `Client ${b.addr} is now bob`].sort((x, y) => seenByTcp.indexOf(x) - seenByTcp.indexOf(y)),
  );

  // The actors saw each other the same way (up to their leaving, which raced).
  const fromB = (l: string) => l.includes("> b") || l === `Client ${b.addr} is now bob`;
  t.same(
    tcpTranscript(a, 0).filter(fromB),
    seenByTcp.filter(fromB),
    "the TCP actor saw the web actor's lines and nick in the room's order",
  );
  const fromA = (l: string) => l.includes("> a") || l === `Client ${a.addr} is now alice`;
  const bSaw = b.events.map(asTcpLine).filter((l): l is string => l !== null);
  t.same(bSaw.filter(fromA), seenByTcp.filter(fromA), "the web actor saw the TCP actor's lines and nick in the room's order");
  t.same(
    b.events.filter((e) => e.k === "line" && e.s.includes(String(b.port))).map((e) => e.x),
    Array.from({ length: 20 }, (_, i) => `b${i}`),
    "a web client gets its own lines too (the page shows what the room recorded)",
  );
  t.same(
    ow.events
      .filter((e) => e.k === "nick")
      .map((e) => `${e.s} -> ${e.to}`)
      .sort(),
    [`127.0.0.1:${a.port} -> alice`, `127.0.0.1:${b.port} -> bob`].sort(),
    "a nick event names the old name and the new (a page's member list replaces one with the other)",
  );
  const ids = ow.events
    .slice(owFrom)
    .filter((e) => e.id)
    .map((e) => Number(e.id.split(":")[1]));
  t.ok(
    ids.every((seq, i) => i === 0 || seq === ids[i - 1]! + 1),
    "entry ids follow each other with no gap",
  );
  ot.end();
  ow.close();
});
