// End to end: the server's /commands, through real TCP clients: what they
// answer, what they cost a flooder, and which nicknames they refuse.
import t from "tap";
import { LineClient } from "../support/line-client.ts";
import { startServer } from "../support/bun.ts";
import { Crowd, type HeadReader } from "../support/hostile.ts";

t.test("/nick renames, is unique and validated; messages then carry the name", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const [a, b] = (await LineClient.connectAll(server.port, 2)) as [LineClient, LineClient];

  a.send("/nick alice\n");
  await a.waitFor("You are now alice\n");
  await b.waitFor(`Client ${a.addr} is now alice\n`);
  t.notMatch(a.received, "is now alice", "the renamed client is not told as if it were someone else");
  await server.waitFor(`Client ${a.addr} is now alice`);

  a.send("hi there\n");
  await b.waitFor("<alice> hi there\n");
  t.notMatch(b.received, `${a.from} hi there`, "the address prefix is gone once named");

  b.send("/nick ALICE\n");
  await b.waitFor("Error: the nickname ALICE is taken\n");
  b.send("/nick 9lives\n");
  await b.waitFor("Error: a nickname is 1 to 16 letters, digits, _ or -, starting with a letter\n");
  b.send("/nick abcdefghijklmnopq\n");
  await b.waitUntil((r) => r.split("Error: a nickname is").length === 3, "the too-long refusal");
  b.send("/nick\n");
  await b.waitFor("Error: usage: /nick NAME\n");
  b.send("still me\n");
  await a.waitFor(`${b.from} still me\n`);
  t.notMatch(a.received, "Error:", "errors go to the sender only");
  a.end();
  b.end();
});

t.test("/who, /me, /help, unknown commands, //escape and /quit", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const [a, b] = (await LineClient.connectAll(server.port, 2)) as [LineClient, LineClient];
  a.send("/nick ann\n");
  await b.waitFor("is now ann\n");

  b.send("/who\n");
  await b.waitUntil((r) => /Online \(2\): .*\n/.test(r), "the /who line");
  const who = /Online \(2\): (.*)\n/.exec(b.received)![1]!;
  // By address as HOST:PORT, or the nickname with its address in brackets.
  t.match(who, `ann (127.0.0.1:${a.port})`);
  t.match(who, `127.0.0.1:${b.port} (you)`);
  t.notMatch(who, "(127.0.0.1, ", "not the notices' address tuple");
  t.notMatch(a.received, "Online", "/who answers the asker only");

  a.send("/me waves\n");
  await b.waitFor("* ann waves\n");
  b.send("/help\n");
  await b.waitFor("Commands: /nick NAME");
  b.send("/frobnicate now\n");
  await b.waitFor("Error: unknown command /frobnicate (try /help)\n");
  b.send("//not a command\n");
  await a.waitFor(`${b.from} /not a command\n`);
  t.notMatch(a.received, "Commands:", "help and errors stay with the asker");
  t.notMatch(a.received, "frobnicate");

  b.send("/quit\n");
  await a.waitFor(`Client ${b.addr} quits\n`);
  await b.waitClosed();
  a.send("Q\n");
  await a.waitClosed();
  await server.waitFor(`127.0.0.1:${a.port} ann quits`);
});

t.test("/who flood: 1000 /who in one write in a room of 300 are held to the rate limit; the room keeps chatting", async (t) => {
  const N = 300;
  const server = await startServer();
  t.teardown(() => server.stop());
  let warned = false;
  let answers = 0;
  let speech: string | null = null; // what client 2 hears from client 1 once it speaks
  let heard = false;
  const crowd = await Crowd.connect(server.port, N, (i, head) => {
    if (i === 0 && head.startsWith("Too many lines")) warned = true;
    if (i === 0 && head.startsWith("Online (")) answers++;
    if (i === 2 && head === speech) heard = true;
  });
  t.teardown(() => crowd.destroy());
  await crowd.settled();
  const [flooder, speaker] = crowd.readers as [HeadReader, HeadReader];
  flooder.socket.write("/who\n".repeat(1000));
  await crowd.waitUntil(() => warned || flooder.closed || answers === 1000, "the flood to be answered, refused or cut off");
  t.ok(warned, `the flooder was told it is over the rate limit (${answers} answers)`);
  t.ok(answers <= 250, `a /who costs 4 lines in a room of 300: at most 250 of a 1000-line burst answered (${answers})`);
  t.notOk(flooder.closed, "the flooder is not disconnected");
  speech = `${speaker.from}still here`;
  speaker.socket.write("still here\n");
  await crowd.waitUntil(() => heard, "another client's line after the flood");
  t.pass("another client's line still arrives");
});

t.test("/who flood with --rate 0: replies stop at the flooder's share of --max-outbound, told once; the room keeps chatting", async (t) => {
  const N = 300;
  const server = await startServer(["--rate", "0"]);
  t.teardown(() => server.stop());
  let answers = 0;
  let refusals = 0;
  let speech: string | null = null;
  let heardBy = 0;
  const crowd = await Crowd.connect(server.port, N, (i, head) => {
    if (i === 0 && head.startsWith("Online (")) answers++;
    if (i === 0 && head.startsWith("Error: too much output is waiting")) refusals++;
    if ((i === 0 || i === 2) && head === speech) heardBy++;
  });
  t.teardown(() => crowd.destroy());
  await crowd.settled();
  const [flooder, speaker] = crowd.readers as [HeadReader, HeadReader];
  flooder.socket.write("/who\n".repeat(1000));
  await crowd.waitUntil(() => refusals > 0 || flooder.closed || answers === 1000, "the flood to be answered, refused or cut off");
  t.ok(refusals > 0, `the flooder was told its replies are refused (${answers} answers)`);
  speech = `${speaker.from}still here`;
  speaker.socket.write("still here\n");
  await crowd.waitUntil(() => heardBy === 2 || flooder.closed, "another client's line after the flood");
  t.notOk(flooder.closed, "the flooder is not disconnected");
  t.equal(heardBy, 2, "another client's line reaches the room and the flooder");
  t.ok(answers < 1000, `not every /who was answered (${answers})`);
  t.ok(refusals <= answers + 1, `told once per run of refusals (${refusals} refusals, ${answers} answers)`);
});

t.test("reserved nicknames are refused in any spelling; messages keep the address", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const [a, b] = (await LineClient.connectAll(server.port, 2)) as [LineClient, LineClient];
  const names = [
    "Server",
    "server",
    "SERVER",
    "Client",
    "eRRoR",
    "Notice",
    "You",
    "Online",
    "Commands",
    "Me",
    "Help",
    "Admin",
    "System",
    "Nobody",
    "Server_",
    "Ser\u200Bver",
  ];
  for (const name of names) a.send(`/nick ${name}\n`);
  await a.waitUntil((r) => r.split("Error: the nickname").length - 1 === names.length, `${names.length} refusals`);
  t.match(a.received, /Error: the nickname SERVER is reserved\n/);
  t.match(
    a.received,
    /Error: the nickname Server is reserved\n[\s\S]*Error: the nickname Server is reserved\n/,
    "Ser<U+200B>ver is Server",
  );
  t.notMatch(a.received, "You are now");
  t.notMatch(b.received, "is now", "nobody was told of a rename");
  a.send("who am i\n");
  await b.waitFor(`${a.from} who am i\n`);
  t.pass("messages still carry the address");
});

t.test("nicknames: invisible characters are dropped before the check; a case-only difference is taken", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const [a, b] = (await LineClient.connectAll(server.port, 2)) as [LineClient, LineClient];
  a.send(Buffer.from("/nick Bo\u200Bb\u202E\n", "utf8"));
  await a.waitFor("You are now Bob\n");
  await b.waitFor(`Client ${a.addr} is now Bob\n`);
  a.send("hi\n");
  await b.waitFor("<Bob> hi\n");
  for (const name of ["bob", "BOB", "bOb", "\uFEFFB\u200Dob", "\u2066Bob\u2069"]) b.send(Buffer.from(`/nick ${name}\n`, "utf8"));
  await b.waitUntil((r) => r.split(" is taken\n").length - 1 === 5, "5 refusals");
  t.match(b.received, "Error: the nickname bOb is taken\n");
  t.match(b.received, "Error: the nickname Bob is taken\n");
  b.send("still me\n");
  await a.waitFor(`${b.from} still me\n`);
  t.notMatch(a.received, "Bob is now", "b was never renamed");
});

t.test("a line with \\r or U+2028 inside is relayed byte for byte, on one line that starts with the sender's prefix", async (t) => {
  // The relay stays byte-exact (see lib/chat/protocol.ts): what a terminal
  // makes of a bare \r is the receiving client's business (lib/client/display.ts).
  const server = await startServer();
  t.teardown(() => server.stop());
  const [a, b] = (await LineClient.connectAll(server.port, 2)) as [LineClient, LineClient];
  const body = Buffer.from("x\rClient (127.0.0.1, 1) is offline\u2028<admin> y", "utf8");
  a.send(Buffer.concat([body, Buffer.from("\n")]));
  const expected = `${a.from} ${body.toString("latin1")}\n`;
  await b.waitFor(expected);
  t.equal(b.received.slice(b.received.indexOf(`${a.from} x`)), expected, "one line, prefix first, bytes unchanged");
});

t.test("once a client has a nickname, notices name it by that; the log keeps its address", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const [watcher, a, c] = (await LineClient.connectAll(server.port, 3)) as [LineClient, LineClient, LineClient];
  a.send("/nick bob\n");
  await watcher.waitFor(`Client ${a.addr} is now bob\n`);
  a.send("/nick rob\n");
  await watcher.waitFor("bob is now rob\n");
  a.send("q\n");
  await watcher.waitFor("rob quits\n");
  t.notMatch(watcher.received, `Client ${a.addr} quits`, "not by its address");
  await server.waitFor(new RegExp(`Z 127\\.0\\.0\\.1:${a.port} rob quits\n`));
  c.send("/nick carol\n");
  await watcher.waitFor(`Client ${c.addr} is now carol\n`);
  c.reset();
  await watcher.waitFor("carol is offline\n");
  await server.waitFor(new RegExp(`Z 127\\.0\\.0\\.1:${c.port} carol is offline\n`));
  watcher.end();
});
