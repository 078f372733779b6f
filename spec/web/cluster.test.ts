// A page's member list in a cluster: two `bun bin/server.ts --cluster --web`
// processes on one redis-server. A web client is told who is on its own
// server and on the other, and the page's own member logic
// (lib/web/page/room.js, fed the events as the page is) follows their
// joins, renames and leaves, with Redis up and with Redis gone.
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import t from "tap";
import { clusterOf } from "../cluster/support/room.ts";
import { root } from "../support/bun.ts";
import { LineClient } from "../support/line-client.ts";
import { RedisServer, redisMissing } from "../support/redis.ts";
import { type WsEvent, WsClient } from "../support/ws-client.ts";
import { WEB_LINE } from "./support/web.ts";

const skip = redisMissing();
const { Members } = await import(pathToFileURL(path.join(root, "lib/web/page/room.js")).href);

/** The page's member list after `events`, as the page builds it. */
function memberList(events: WsEvent[]): string[] {
  const members = new Members();
  for (const e of events) {
    if (e.k === "presence") members.presence(e);
    else if (!e.h) members.apply(e);
  }
  return members.list();
}

t.test("a page's member list follows the clients of another server of the cluster", { skip }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const [s1, s2] = await clusterOf(t, redis.url, ["n1", "n2"], ["--web", "127.0.0.1:0"]);
  const webPort = Number(new URL(WEB_LINE.exec(s1!.output())![1]!).port);

  // c is on n2 and l on n1 (the page's neighbour) before the page comes; d comes after.
  const c = await LineClient.connect(s2!.port);
  const l = await LineClient.connect(s1!.port);
  t.teardown(() => {
    c.reset();
    l.reset();
  });
  await Promise.all([c.joined(), l.joined()]);
  // s1 learns of c from the stream, on another connection than c's: once l has c's line, s1 has read c's join.
  c.send("here\n");
  await l.waitFor(`<127.0.0.1:${c.port}@n2> here\n`);
  const w = await WsClient.open({ port: webPort });
  t.teardown(() => w.reset());
  const presence = await w.waitEvent((e) => e.k === "presence", "presence");
  const cName = `127.0.0.1:${c.port}@n2`;
  // Web clients get even their own server's entries from the stream, so they name its clients as the stream does.
  const lName = `127.0.0.1:${l.port}@n1`;
  const self = `127.0.0.1:${w.port}@n1`;
  t.equal(presence.you, self, "the page's own name as its entries will carry it");
  t.same([...presence.names].sort(), [cName, lName].sort(), "told who is on either server, each named with its node");

  w.send("hello");
  const own = await w.waitEvent((e) => e.k === "line" && e.x === "hello", "its own line back");
  t.equal(own.s, self, "its own line carries the name presence gave it (the page marks it as its own)");
  l.send("/quit\n");
  await w.waitEvent((e) => e.k === "leave" && e.s === lName, "l's leave");

  const d = await LineClient.connect(s2!.port);
  t.teardown(() => d.reset());
  await d.joined();
  const dName = `127.0.0.1:${d.port}@n2`;
  await w.waitEvent((e) => e.k === "join" && e.s === dName, "d's join");
  t.same(memberList(w.events), [self, cName, dName]);

  c.send("/nick carol\n");
  const nick = await w.waitEvent((e) => e.k === "nick", "c's rename");
  t.same([nick.s, nick.to], [cName, "carol"], "the rename names the name the page knew");
  d.send("/quit\n");
  await w.waitEvent((e) => e.k === "leave" && e.s === dName, "d's leave");
  t.same(memberList(w.events), [self, "carol"], "the member list is current: renamed, left");

  // A page that comes now is told the same by the server (its roster followed the rename too).
  const w2 = await WsClient.open({ port: webPort });
  t.teardown(() => w2.reset());
  const later = await w2.waitEvent((e) => e.k === "presence", "w2's presence");
  t.same([...later.names].sort(), [self, "carol"].sort());
  t.equal(later.n, 2);
  w2.close();
  await w.waitEvent((e) => e.k === "leave" && e.s === later.you, "w2's leave");

  // Redis gone: this server's entries reach its web clients at once, unnumbered, named alike.
  await redis.kill();
  await s1!.waitFor("Cluster link down");
  const e = await LineClient.connect(s1!.port);
  t.teardown(() => e.reset());
  await e.joined();
  const eName = `127.0.0.1:${e.port}@n1`;
  const joined = await w.waitEvent((ev) => ev.k === "join" && ev.s === eName, "e's join, unnumbered");
  t.equal(joined.id, null);
  t.same(memberList(w.events), [self, eName, "carol"]);
  e.send("/quit\n");
  await w.waitEvent((ev) => ev.k === "leave" && ev.s === eName, "e's leave, unnumbered");
  t.same(memberList(w.events), [self, "carol"], "and gone from the list again");
});
