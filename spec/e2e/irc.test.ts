// The IRC listener end to end (lib/irc), driven by irc-framework (a client
// library no one here wrote) and raw sockets: registration with CAP; #chat
// is the room line clients are in; messages, /me, nick changes, NAMES,
// private messages and QUIT cross between IRC and a line client both ways;
// echo-message; PING both ways; and hostile input: a line over 512 bytes,
// a bare prefix, NUL bytes, thousands of JOINs (bounded by
// --max-rooms-per-client, charged to the sender's rate).
import * as net from "node:net";
import t from "tap";
import { type ServerProcess, startServer } from "../support/bun.ts";
import { IrcTestClient } from "../support/irc-client.ts";
import { LineClient } from "../support/line-client.ts";
import { RedisServer, redisMissing } from "../support/redis.ts";
import { clusterOf } from "../cluster/support/room.ts";
import { Waiters } from "../support/waiters.ts";

async function ircServer(extra: string[] = []): Promise<{ server: ServerProcess; irc: number }> {
  const server = await startServer(["--irc", "127.0.0.1:0", "--server-name", "irc.test", ...extra]);
  const irc = Number(/IRC on 127\.0\.0\.1:(\d+)/.exec(server.output())![1]);
  return { server, irc };
}

/** A raw IRC connection: what it received, line by line. */
class RawIrc {
  received = "";
  closed = false;
  private readonly waiters = new Waiters();
  private constructor(readonly socket: net.Socket) {
    socket.on("data", (d) => {
      this.received += d.toString("latin1");
      this.waiters.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.waiters.wake();
    });
    socket.on("error", () => {});
  }
  static connect(port: number): Promise<RawIrc> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: "127.0.0.1" }, () => resolve(new RawIrc(s)));
      s.once("error", reject);
    });
  }
  send(text: string | Buffer): void {
    this.socket.write(text);
  }
  waitFor(pattern: RegExp | string, timeoutMs = 10_000): Promise<void> {
    const test = () => (typeof pattern === "string" ? this.received.includes(pattern) : pattern.test(this.received));
    return this.waiters.until(test, String(pattern), timeoutMs, () => `; got: ${JSON.stringify(this.received.slice(-800))}`);
  }
  waitClosed(): Promise<void> {
    return this.waiters.until(
      () => this.closed,
      "close",
      10_000,
      () => `; got: ${JSON.stringify(this.received.slice(-300))}`,
    );
  }
  async register(nick: string): Promise<void> {
    this.send(`NICK ${nick}\r\nUSER ${nick} 0 * :${nick}\r\n`);
    await this.waitFor(` 001 ${nick} `);
  }
}

t.test("irc-framework and a line client in #chat: messages, /me, nicks, NAMES, private messages, QUIT", async (t) => {
  const { server, irc } = await ircServer();
  t.teardown(() => server.stop());
  const ann = new IrcTestClient({ echo: true });
  t.teardown(() => ann.close());
  await ann.connect(irc, "ann");
  t.ok(
    ann.raw.some((l) => / 005 ann .*CASEMAPPING=ascii/.test(l)),
    "ISUPPORT",
  );
  t.ok(
    ann.raw.some((l) => / 422 ann /.test(l)),
    "no MOTD: 422",
  );
  t.match(ann.client.network.cap.enabled, ["server-time", "message-tags", "echo-message"], "capabilities negotiated");

  const tcp = await LineClient.connect(server.port);
  t.teardown(() => tcp.reset());
  await tcp.joined();
  const tcpNick = `_127_0_0_1_${tcp.port}`;

  ann.client.join("#chat");
  const list = await ann.next("userlist", (e) => e.channel === "#chat");
  t.same(
    list.users.map((u: { nick: string }) => u.nick).sort(),
    [tcpNick, "ann"].sort(),
    "NAMES on joining: the line client by its address nick",
  );
  await tcp.waitFor("ann joined\n");

  ann.client.say("#chat", "hello from irc");
  await tcp.waitFor("<ann> hello from irc\n");
  const echoed = await ann.next("privmsg", (e) => e.nick === "ann" && e.message === "hello from irc");
  t.ok(echoed.tags.msgid && echoed.time, "echo-message: its own line back, with msgid and time");
  tcp.send("hello from tcp\n");
  const got = await ann.next("privmsg", (e) => e.message === "hello from tcp");
  t.equal(got.nick, tcpNick);
  t.equal(got.target, "#chat");

  ann.client.action("#chat", "waves");
  await tcp.waitFor("* ann waves\n");
  tcp.send("/me dances\n");
  const action = await ann.next("action", (e) => e.message === "dances");
  t.equal(action.nick, tcpNick, "/me both ways");

  tcp.send("/nick tom\n");
  const renamed = await ann.next("nick", (e) => e.new_nick === "tom");
  t.equal(renamed.nick, tcpNick, "a line client's rename is a NICK");
  ann.client.changeNick("annie");
  await tcp.waitFor("ann is now annie\n");
  await ann.next("nick", (e) => e.nick === "ann" && e.new_nick === "annie");
  t.equal(ann.client.user.nick, "annie", "the library follows its own rename");

  ann.client.raw("NAMES #chat");
  const names = await ann.next("userlist", (e) => e.channel === "#chat" && e.users.some((u: { nick: string }) => u.nick === "tom"));
  t.same(names.users.map((u: { nick: string }) => u.nick).sort(), ["annie", "tom"]);

  ann.client.say("tom", "psst");
  await tcp.waitFor("[private] <annie> psst\n");
  tcp.send("/msg annie back at you\n");
  const priv = await ann.next("privmsg", (e) => e.message === "back at you");
  t.equal(priv.nick, "tom");
  t.equal(priv.target, "annie", "a private message to the IRC client");
  ann.client.say("nobody", "x");
  await ann.rawLine(/ 401 annie nobody /);

  ann.client.quit("bye now");
  await tcp.waitFor("annie quits\n");
  await ann.next("socket close", () => true);
});

t.test("two IRC clients, rooms beyond #chat, PART, WHOIS, TOPIC, MODE, LIST", async (t) => {
  const { server, irc } = await ircServer();
  t.teardown(() => server.stop());
  const a = await RawIrc.connect(irc);
  const b = await RawIrc.connect(irc);
  t.teardown(() => {
    a.socket.destroy();
    b.socket.destroy();
  });
  await a.register("amy");
  await b.register("ben");
  a.send("JOIN #Rust,#go\r\n");
  await a.waitFor(":irc.test 366 amy #go ");
  b.send("JOIN #rust\r\n");
  await a.waitFor(/:ben!u\d+@127\.0\.0\.1 JOIN #rust\r\n/);
  await b.waitFor(":irc.test 353 ben = #rust :");
  t.match(b.received, / 353 ben = #rust :(amy ben|ben amy)\r\n/, "both in the room /join rust is");
  const line = await LineClient.connect(server.port);
  t.teardown(() => line.reset());
  await line.joined();
  line.send("/join rust\n");
  await b.waitFor(`_127_0_0_1_${line.port}!u${line.port}@127.0.0.1 JOIN #rust`);
  b.send("PRIVMSG #rust :rusty\r\n");
  await a.waitFor(/:ben!\S+ PRIVMSG #rust :rusty\r\n/);
  await line.waitFor("<ben> rusty\n");
  t.notMatch(b.received, /PRIVMSG #rust :rusty/, "no echo without echo-message");
  b.send("WHOIS amy\r\nTOPIC #rust\r\nTOPIC #rust :new\r\nMODE #rust\r\nMODE #rust b\r\nLIST\r\nTIME\r\nVERSION\r\nAWAY :lunch\r\nFOO\r\n");
  await b.waitFor(" 421 ben FOO ");
  t.match(b.received, / 311 ben amy u\d+ 127\.0\.0\.1 \* :amy\r\n/);
  t.match(b.received, / 319 ben amy :#rust #go\r\n/);
  t.match(b.received, / 331 ben #rust :No topic is set\r\n/);
  t.match(b.received, / 482 ben #rust :/, "no topics to set yet");
  t.match(b.received, / 324 ben #rust :\+\r\n/);
  t.match(b.received, / 368 ben #rust :/);
  t.match(b.received, / 322 ben #rust 3 :/);
  t.match(b.received, / 323 ben :End of \/LIST/);
  t.match(b.received, / 391 ben irc\.test :/);
  t.match(b.received, / 351 ben select-chat-/);
  t.match(b.received, / 306 ben :/);
  a.send("PRIVMSG ben :hi\r\n");
  await a.waitFor(" 301 amy ben :lunch\r\n");
  a.send("PART #rust\r\n");
  await a.waitFor(/:amy!\S+ PART #rust\r\n/);
  await b.waitFor(/:amy!\S+ PART #rust\r\n/);
  await line.waitFor("amy left\n");
  a.send("JOIN 0\r\n");
  await a.waitFor(/:amy!\S+ PART #go\r\n/);
  a.send("PRIVMSG #go :nobody\r\n");
  await a.waitFor(" 404 amy #go ");
});

t.test("registration: CAP 302 waits for END, a taken or bad nick, nothing before registering", async (t) => {
  const { server, irc } = await ircServer();
  t.teardown(() => server.stop());
  const tcp = await LineClient.connect(server.port);
  t.teardown(() => tcp.reset());
  await tcp.joined();
  tcp.send("/nick held\n");
  await tcp.waitFor("You are now held\n");
  const c = await RawIrc.connect(irc);
  t.teardown(() => c.socket.destroy());
  c.send("JOIN #chat\r\n");
  await c.waitFor(" 451 * :You have not registered");
  c.send("CAP LS 302\r\nNICK held\r\n");
  await c.waitFor(" 433 * held ");
  c.send("NICK admin\r\n");
  await c.waitFor(" 432 * admin ");
  c.send("NICK 9lives\r\nNICK cleo\r\nUSER c 0 * :Cleo\r\n");
  await c.waitFor(" 432 * 9lives ");
  c.send("CAP REQ :server-time nonsense\r\nCAP REQ :server-time batch\r\nPING :still-here\r\n");
  await c.waitFor("CAP * NAK :server-time nonsense\r\n");
  await c.waitFor("CAP * ACK :server-time batch\r\n");
  await c.waitFor("PONG irc.test still-here\r\n");
  t.notMatch(c.received, / 001 /, "not registered while negotiating");
  c.send("CAP END\r\n");
  await c.waitFor(" 001 cleo :Welcome to the irc.test IRC network, cleo!u");
  await c.waitFor(" 422 cleo ");
  c.send("JOIN #chat\r\n");
  await c.waitFor(/@time=\S+ :cleo!\S+ JOIN #chat\r\n/);
  await c.waitFor(/ 353 cleo = #chat :(cleo held|held cleo)\r\n/);
});

t.test("hostile input: over 512 bytes, a bare prefix, NUL bytes, thousands of JOINs", async (t) => {
  const { server, irc } = await ircServer(["--max-rooms-per-client", "5", "--rate", "50", "--burst", "200"]);
  t.teardown(() => server.stop());
  const c = await RawIrc.connect(irc);
  t.teardown(() => c.socket.destroy());
  await c.register("eve");
  const tcp = await LineClient.connect(server.port);
  t.teardown(() => tcp.reset());
  await tcp.joined();
  c.send("JOIN #chat\r\n");
  await tcp.waitFor("eve joined\n");
  c.send(`PRIVMSG #chat :${"x".repeat(600)}\r\n`);
  await c.waitFor(" 417 eve :Input line was too long\r\n");
  c.send(":justaprefix\r\n:\r\n\0\0\0\r\nPRIVMSG #chat :a\0b\r\nPRIVMSG #chat :after\r\n");
  await tcp.waitFor("<eve> after\n");
  t.notMatch(tcp.received, /x{600}/, "the long line went nowhere");
  t.match(tcp.received, /<eve> a\0b\n/, "NUL in text reaches a line client as the line protocol passes it");
  const joins = Array.from({ length: 3000 }, (_, i) => `#r${i}`).join(",");
  c.send(`JOIN ${joins.slice(0, 400)}\r\n`);
  await c.waitFor(" 405 eve #r4 :You have joined too many channels");
  t.equal((c.received.match(/ JOIN #r\d+\r\n/g) ?? []).length, 4, "#chat and 4 more: --max-rooms-per-client");
  for (let i = 0; i < 20; i++) c.send(`JOIN ${joins.slice(0, 500)}\r\n`);
  await c.waitFor("NOTICE eve :Too many lines");
  c.send("PING :alive\r\n");
  t.match(c.received, /NOTICE eve :Too many lines/, "thousands of JOINs pay per channel: the sender is rate-limited, not closed");
  t.notOk(c.closed);
});

t.test("a bigger line than the server takes at all is an ERROR, then closed", async (t) => {
  const { server, irc } = await ircServer(["--max-line", "2000"]);
  t.teardown(() => server.stop());
  const c = await RawIrc.connect(irc);
  await c.register("max");
  c.send(`PRIVMSG #chat :${"y".repeat(3000)}\r\n`);
  await c.waitFor("ERROR :Line too long (limit 2000 bytes), disconnecting\r\n");
  await c.waitClosed();
});

t.test("PING both ways: the server pings a quiet client and drops one that does not answer", async (t) => {
  const { server, irc } = await ircServer(["--irc-ping", "1s"]);
  t.teardown(() => server.stop());
  const tcp = await LineClient.connect(server.port);
  t.teardown(() => tcp.reset());
  await tcp.joined();
  const c = await RawIrc.connect(irc);
  await c.register("quiet");
  c.send("JOIN #chat\r\n");
  await tcp.waitFor("quiet joined\n");
  await c.waitFor("PING irc.test\r\n");
  await c.waitFor("ERROR :Closing Link: 127.0.0.1 (Ping timeout: 1 seconds)\r\n");
  await c.waitClosed();
  await tcp.waitFor("quiet is offline (ping timeout)\n");
});

t.test("--motd and CHATHISTORY in a batch", async (t) => {
  const { mkdtempSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(`${tmpdir()}/irc-motd-`);
  writeFileSync(`${dir}/motd`, "Welcome, ünïcode too\nsecond line\n");
  const { server, irc } = await ircServer(["--motd", `${dir}/motd`]);
  t.teardown(() => server.stop());
  const tcp = await LineClient.connect(server.port);
  t.teardown(() => tcp.reset());
  await tcp.joined();
  tcp.send("one\ntwo\n/me three\n");
  const c = await RawIrc.connect(irc);
  t.teardown(() => c.socket.destroy());
  c.send("CAP LS 302\r\nCAP REQ :batch server-time message-tags\r\nNICK hist\r\nUSER h 0 * :h\r\nCAP END\r\n");
  await c.waitFor(" 376 hist :End of /MOTD command.\r\n");
  t.ok(
    Buffer.from(c.received, "latin1").toString("utf8").includes(" 372 hist :- Welcome, ünïcode too\r\n"),
    "the MOTD's bytes as they are",
  );
  c.send("JOIN #chat\r\nCHATHISTORY LATEST #chat * 3\r\n");
  await c.waitFor(/BATCH -\w+\r\n/);
  const batch = /BATCH \+(\w+) chathistory #chat\r\n([\s\S]*?):irc\.test BATCH -\1/.exec(c.received);
  t.ok(batch, "a chathistory batch");
  const lines = batch![2]!.trim().split("\r\n");
  t.equal(lines.length, 3, "the newest 3: two, three and its own JOIN");
  t.match(lines[0], /^@batch=\w+;time=\S+;msgid=\w+:\d+ :_127_0_0_1_\d+!\S+ PRIVMSG #chat :two$/);
  t.match(lines[1], /PRIVMSG #chat :\x01ACTION three\x01$/);
  t.match(lines[2], /:hist!\S+ JOIN #chat$/);
  const id = /msgid=(\w+:\d+)/.exec(lines[0]!)![1];
  c.send(`CHATHISTORY BEFORE #chat msgid=${id} 10\r\n`);
  await c.waitFor(/PRIVMSG #chat :one\r\n/);
});

t.test("--max-clients and --idle-timeout, worded as ERROR", async (t) => {
  const { server, irc } = await ircServer(["--max-clients", "1", "--idle-timeout", "1"]);
  t.teardown(() => server.stop());
  const first = await RawIrc.connect(irc);
  await first.register("first");
  const second = await RawIrc.connect(irc);
  await second.waitFor("ERROR :Server is full (1 clients), try again later\r\n");
  await second.waitClosed();
  await first.waitFor("ERROR :Idle for 1 s, disconnecting\r\n");
  await first.waitClosed();
});

t.test(
  "in a cluster: another server's members by node, msgid once numbered, private messages across",
  { skip: redisMissing() },
  async (t) => {
    const redis = await RedisServer.start();
    t.teardown(() => redis.kill());
    const [s1, s2] = await clusterOf(t, redis.url, ["n1", "n2"], ["--irc", "127.0.0.1:0", "--server-name", "irc.test"]);
    const irc = Number(/IRC on 127\.0\.0\.1:(\d+)/.exec(s1!.output())![1]);
    const c = await RawIrc.connect(irc);
    t.teardown(() => c.socket.destroy());
    c.send("CAP REQ :message-tags echo-message\r\nNICK ivy\r\nUSER i 0 * :i\r\nCAP END\r\nJOIN #chat\r\n");
    await c.waitFor(" 366 ivy #chat ");
    const far = await LineClient.connect(s2!.port);
    t.teardown(() => far.reset());
    await far.joined();
    const farNick = `_127_0_0_1_${far.port}_n2`;
    await c.waitFor(`:${farNick}!u${far.port}@127.0.0.1/n2 JOIN #chat\r\n`);
    far.send("from afar\n");
    await c.waitFor(new RegExp(`@msgid=\\w+:\\d+ :${farNick}!\\S+ PRIVMSG #chat :from afar\\r\\n`));
    c.send("PRIVMSG #chat :from irc\r\n");
    await far.waitFor("<ivy> from irc\n");
    await c.waitFor(/@msgid=\w+:\d+ :ivy!\S+ PRIVMSG #chat :from irc\r\n/);
    c.send("NAMES #chat\r\n");
    await c.waitFor(new RegExp(` 353 ivy = #chat :[^\\r]*${farNick}`));
    far.send("/nick fay\n");
    await c.waitFor(`:${farNick}!u${far.port}@127.0.0.1/n2 NICK fay\r\n`);
    c.send("PRIVMSG fay :across\r\nWHOIS fay\r\n");
    await far.waitFor("[private] <ivy> across\n");
    await c.waitFor(" 312 ivy fay n2 :another server of the cluster\r\n");
  },
);

t.test("shutdown: the room's notice, then ERROR, then closed; a client in no channel gets the ERROR too", async (t) => {
  const { server, irc } = await ircServer();
  t.teardown(() => server.stop());
  const inRoom = await RawIrc.connect(irc);
  const alone = await RawIrc.connect(irc);
  await inRoom.register("stay");
  await alone.register("lone");
  inRoom.send("JOIN #chat\r\n");
  await inRoom.waitFor(" 366 stay #chat ");
  server.child.kill("SIGTERM");
  await inRoom.waitFor(
    /:irc\.test NOTICE #chat :Server is shutting down\r\nERROR :Closing Link: 127\.0\.0\.1 \(Server is shutting down\)\r\n$/,
  );
  await alone.waitFor(/ERROR :Closing Link: 127\.0\.0\.1 \(Server is shutting down\)\r\n$/);
  await inRoom.waitClosed();
  await alone.waitClosed();
});
