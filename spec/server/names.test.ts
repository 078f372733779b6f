// Unit tests of nicknames (lib/server/commands.ts): reserved names, names
// that differ only in case, and invisible characters dropped before a name
// is checked.
import t from "tap";
import { cleanNick, isReservedNick, MAX_NICK, nickProblem, runCommand } from "../../lib/server/commands.ts";
import { FakeCommandHost, line } from "../support/command-host.ts";

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
  const host = new FakeCommandHost();
  const [a, b] = [host.join(), host.join()];
  runCommand(host, a, line("/nick Alice"));
  for (const name of ["alice", "ALICE", "aLiCe", "Al\u200Bice", "\u202Ealice"]) {
    runCommand(host, b, line(`/nick ${name}`));
  }
  t.equal(host.received(b).split("Error: the nickname").length - 1, 5, host.received(b));
  t.match(host.received(b), "Error: the nickname aLiCe is taken\n");
  t.match(host.received(b), "Error: the nickname Alice is taken\n", "named as it was cleaned");
  t.equal(b.nick, null);
  runCommand(host, a, line("/nick ALICE"));
  t.equal(a.nick, "ALICE", "the holder may change the case of its own name");
  runCommand(host, b, line("/nick alice"));
  t.equal(b.nick, null, "still taken in its new case");
});

t.test("/nick: a name a client of another server goes by is refused, in any case", async (t) => {
  const host = new FakeCommandHost();
  const a = host.join();
  host.elsewhere.add("bob");
  runCommand(host, a, line("/nick Bob"));
  t.match(host.received(a), "Error: the nickname Bob is taken\n");
  t.equal(a.nick, null);
  runCommand(host, a, line("/nick Bobby"));
  t.equal(a.nick, "Bobby");
});

t.test("/nick: reserved names over the command, in several spellings", async (t) => {
  const host = new FakeCommandHost();
  const a = host.join();
  for (const name of ["Server", "client", "NOTICE", "Serv\u200Ber", "admin_", "\u2066System\u2069"]) {
    host.drain();
    runCommand(host, a, line(`/nick ${name}`));
    t.match(host.received(a), /^Error: the nickname \S+ is reserved\n$/, `/nick ${JSON.stringify(name)}`);
  }
  t.equal(a.nick, null);
  t.same(host.notices, [], "nobody was told of a rename");
});

t.test("/nick: invisible characters are dropped, then the name is checked and taken", async (t) => {
  const host = new FakeCommandHost();
  const [a, b] = [host.join(), host.join()];
  runCommand(host, a, line("/nick Bo\u200Bb"));
  t.equal(host.received(a), "You are now Bob\n");
  t.equal(a.nick, "Bob");
  t.equal(new TextDecoder().decode(a.prefix), "<Bob> ");
  t.same(host.notices, [`Client ${a.name} is now Bob`]);

  runCommand(host, b, line("/nick \uFEFFBob\u2028"));
  t.match(host.received(b), "Error: the nickname Bob is taken");
  runCommand(host, b, line("/nick \u200B"));
  t.match(host.received(b), "Error: usage: /nick NAME", "nothing left is no name");
});

t.test("/nick: a name is free again once its holder left or was renamed", async (t) => {
  const host = new FakeCommandHost();
  const [a, b] = [host.join(), host.join()];
  runCommand(host, a, line("/nick first"));
  runCommand(host, a, line("/nick second"));
  runCommand(host, b, line("/nick FIRST"));
  t.equal(b.nick, "FIRST", "the old name was freed by the rename");
  host.leave(a);
  runCommand(host, b, line("/nick Second"));
  t.equal(b.nick, "Second", "the name of a client that left is free");
  // Many clients come, take a name and go: the index is rebuilt, names stay right.
  for (let i = 0; i < 500; i++) {
    const p = host.join();
    runCommand(host, p, line(`/nick n${i}`));
    if (i % 2 === 0) host.leave(p);
  }
  const c = host.join();
  runCommand(host, c, line("/nick n498"));
  t.equal(c.nick, "n498", "a name whose holder left is free");
  runCommand(host, c, line("/nick N499"));
  t.equal(c.nick, "n498", "a name whose holder stayed is still taken");
  runCommand(host, c, line("/nick second"));
  t.equal(c.nick, "n498", "an older name still held is taken too");
});

t.test("/nick: notices name a client by its nickname once it has one, a second rename by the old one", async (t) => {
  const host = new FakeCommandHost();
  const a = host.join();
  t.equal(a.noticeName, `Client ${a.name}`, "by its address until then");
  runCommand(host, a, line("/nick Bob"));
  t.equal(a.noticeName, "Bob");
  runCommand(host, a, line("/nick Rob"));
  t.same(host.notices, [`Client ${a.name} is now Bob`, "Bob is now Rob"]);
});
