// Unit tests of nicknames (lib/chat/naming.ts, and /nick through the room
// service): reserved names, names that differ only in case, and invisible
// characters dropped before a name is checked.
import t from "tap";
import { EntryKind } from "../../lib/chat/entry.ts";
import { cleanNick, isReservedNick, MAX_NICK, MemberName, nickProblem } from "../../lib/chat/naming.ts";
import { CommandHarness } from "../support/command-host.ts";

const free = () => false;

t.test("reserved names are refused in any case and with trailing _ or -", async (t) => {
  for (const name of [
    "Server",
    "server",
    "SERVER",
    "sErVeR",
    "Server_",
    "server--",
    "Client",
    "ERROR",
    "Notice",
    "You",
    "Online",
    "Commands",
    "Me",
    "Help",
    "Admin",
    "System",
    "Nobody",
    "root",
    "Operator",
    "mod",
  ]) {
    t.ok(isReservedNick(name), `${name} is reserved`);
    t.equal(nickProblem(name, free), `the nickname ${name} is reserved`);
  }
  for (const name of ["Serverless", "Clientele", "Bob", "Youth", "adminbob", "my-server"]) {
    t.notOk(isReservedNick(name), `${name} is not reserved`);
    t.equal(nickProblem(name, free), null);
  }
});

t.test("the charset stays ASCII letters, digits, _ and -, starting with a letter", async (t) => {
  const bad = "a nickname is 1 to 16 letters, digits, _ or -, starting with a letter";
  for (const name of ["9lives", "_x", "-x", "a b", "a.b", "a:b", "<a>", "Bób", "Воb", "Ｂob", "a".repeat(MAX_NICK + 1), ""]) {
    t.equal(nickProblem(name, free), bad, JSON.stringify(name));
  }
  t.equal(nickProblem("a".repeat(MAX_NICK), free), null, `${MAX_NICK} characters`);
  t.equal(nickProblem("Zed_9-x", free), null);
});

t.test("cleanNick drops zero-width, bidi-control and separator characters", async (t) => {
  t.equal(cleanNick("Bo\u200Bb"), "Bob", "zero-width space");
  for (const c of "\u200B\u200C\u200D\u200E\u200F\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069\uFEFF\u2028\u2029") {
    t.equal(cleanNick(`${c}B${c}o${c}b${c}`), "Bob", `U+${c.charCodeAt(0).toString(16).toUpperCase()}`);
  }
  t.equal(cleanNick("Bob\u0301"), "Bob\u0301", "a visible combining mark stays (and the charset refuses it)");
});

t.test("/nick: a name taken in another case is refused; your own in another case is fine", async (t) => {
  const host = new CommandHarness();
  const [a, b] = [host.join(), host.join()];
  host.run(a, "/nick Alice");
  for (const name of ["alice", "ALICE", "aLiCe", "Al\u200Bice", "\u202Ealice"]) {
    host.run(b, `/nick ${name}`);
  }
  t.equal(host.received(b).split("Error: the nickname").length - 1, 5, host.received(b));
  t.match(host.received(b), "Error: the nickname aLiCe is taken\n");
  t.match(host.received(b), "Error: the nickname Alice is taken\n", "named as it was cleaned");
  t.equal(b.name.nick, null);
  host.run(a, "/nick ALICE");
  t.equal(a.name.nick, "ALICE", "the holder may change the case of its own name");
  host.run(b, "/nick alice");
  t.equal(b.name.nick, null, "still taken in its new case");
});

t.test("/nick: a name a client of another server goes by is refused, in any case", async (t) => {
  const host = new CommandHarness();
  const a = host.join();
  // A join entry from another server's log puts bob in the cluster's roster.
  const bob = new MemberName("bob", "10.0.0.9", 1, "n2");
  host.service.defaultRoom.roster.note({ seq: 1, time: 0, kind: EntryKind.JOIN, sender: bob, text: new Uint8Array(0), newName: "" });
  host.run(a, "/nick Bob");
  t.match(host.received(a), "Error: the nickname Bob is taken\n");
  t.equal(a.name.nick, null);
  host.run(a, "/nick Bobby");
  t.equal(a.name.nick, "Bobby");
});

t.test("/nick: reserved names over the command, in several spellings", async (t) => {
  const host = new CommandHarness();
  const a = host.join();
  for (const name of ["Server", "client", "NOTICE", "Serv\u200Ber", "admin_", "\u2066System\u2069"]) {
    host.drain();
    host.run(a, `/nick ${name}`);
    t.match(host.received(a), /^Error: the nickname \S+ is reserved\n$/, `/nick ${JSON.stringify(name)}`);
  }
  t.equal(a.name.nick, null);
  t.same(host.renames, [], "nobody was told of a rename");
});

t.test("/nick: invisible characters are dropped, then the name is checked and taken", async (t) => {
  const host = new CommandHarness();
  const [a, b] = [host.join(), host.join()];
  host.drain();
  host.run(a, "/nick Bo\u200Bb");
  t.equal(host.received(a), "You are now Bob\n", "told; the others hear the rename, not the renamed");
  t.equal(host.received(b), `Client (127.0.0.1, ${a.conn.remote.port}) is now Bob\n`);
  t.equal(a.name.nick, "Bob");
  t.equal(new TextDecoder().decode(host.codec.prefix(a.name)), "<Bob> ");
  t.same(host.renames, [`Client (127.0.0.1, ${a.conn.remote.port}) is now Bob`]);

  host.run(b, "/nick \uFEFFBob\u2028");
  t.match(host.received(b), "Error: the nickname Bob is taken");
  host.run(b, "/nick \u200B");
  t.match(host.received(b), "Error: usage: /nick NAME", "nothing left is no name");
});

t.test("/nick: a name is free again once its holder left or was renamed", async (t) => {
  const host = new CommandHarness();
  const [a, b] = [host.join(), host.join()];
  host.run(a, "/nick first");
  host.run(a, "/nick second");
  host.run(b, "/nick FIRST");
  t.equal(b.name.nick, "FIRST", "the old name was freed by the rename");
  host.leave(a);
  host.run(b, "/nick Second");
  t.equal(b.name.nick, "Second", "the name of a client that left is free");
  // Many clients come, take a name and go: the index is rebuilt, names stay right.
  for (let i = 0; i < 500; i++) {
    const p = host.join();
    host.run(p, `/nick n${i}`);
    if (i % 2 === 0) host.leave(p);
  }
  const c = host.join();
  host.run(c, "/nick n498");
  t.equal(c.name.nick, "n498", "a name whose holder left is free");
  host.run(c, "/nick N499");
  t.equal(c.name.nick, "n498", "a name whose holder stayed is still taken");
  host.run(c, "/nick second");
  t.equal(c.name.nick, "n498", "an older name still held is taken too");
});

t.test("/nick: notices name a client by its nickname once it has one, a second rename by the old one", async (t) => {
  const host = new CommandHarness();
  const a = host.join();
  const tuple = `(127.0.0.1, ${a.conn.remote.port})`;
  t.equal(a.noticeName, `Client ${tuple}`, "by its address until then");
  host.run(a, "/nick Bob");
  t.equal(a.noticeName, "Bob");
  host.run(a, "/nick Rob");
  t.same(host.renames, [`Client ${tuple} is now Bob`, "Bob is now Rob"]);
});
