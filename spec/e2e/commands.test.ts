// End to end: the server's /commands, through real TCP clients.
import t from "tap";
import { LineClient } from "../support/line-client.ts";
import { startServer } from "../support/bun.ts";

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
  t.match(who, `ann ${a.addr}`);
  t.match(who, `${b.addr} (you)`);
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
  await server.waitFor(`Client ${a.addr} quits`);
});
