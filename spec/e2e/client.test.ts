// End to end: `bun bin/client.ts` driven through pipes against the real server.
import { spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import t from "tap";
import { LineClient } from "../support/line-client.ts";
import { bunPath, root, runBun, startServer } from "../support/bun.ts";
import { Waiters } from "../support/waiters.ts";

/** A client process whose stdin we type into and whose stdout we can await. */
function startClient(port: number, extra: string[] = []) {
  const child = spawn(bunPath, ["bin/client.ts", "--port", String(port), ...extra], { cwd: root });
  let out = "";
  let err = "";
  const waiters: Array<() => void> = [];
  child.stdout.on("data", (chunk) => {
    out += chunk;
    for (const wake of [...waiters]) wake();
  });
  child.stderr.on("data", (chunk) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return {
    child,
    exited,
    stderr: () => err,
    stdout: () => out,
    type: (text: string) => child.stdin.write(text),
    waitFor: (text: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`client did not print ${JSON.stringify(text)}; got ${JSON.stringify(out)} / ${err}`)),
          10_000,
        );
        const check = () => {
          if (!out.includes(text)) return;
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(check), 1);
          resolve();
        };
        waiters.push(check);
        check();
      }),
  };
}

t.test("the client sends typed lines, prints what others say, and q quits with 0", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const peer = await LineClient.connect(server.port);
  const client = startClient(server.port);
  const joined = /Client \(127\.0\.0\.1, (\d+)\) connected\n/;
  await peer.waitUntil((received) => joined.test(received), "the client's join notice");
  const port = joined.exec(peer.received)![1];
  client.type("hi from the client\n");
  await peer.waitFor(`<127.0.0.1:${port}> hi from the client\n`);
  peer.send("hi back\n");
  await client.waitFor(`${peer.from} hi back\n`);
  client.type("q\n");
  await peer.waitFor(`Client (127.0.0.1, ${port}) quits\n`);
  t.equal(await client.exited, 0);
  peer.end();
});

t.test("end of input quits the same way (scriptable from a pipe)", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const peer = await LineClient.connect(server.port);
  const run = await runBun(["bin/client.ts", "--port", String(server.port)], { input: "one\ntwo without newline" });
  t.equal(run.code, 0, run.stderr);
  await peer.waitUntil(
    (received) => /> one\n.*> two without newline\nClient \(127\.0\.0\.1, \d+\) quits\n/s.test(received),
    "lines then quit",
  );
  peer.end();
});

t.test("when the server goes away the client says so and exits non-zero", async (t) => {
  const server = await startServer();
  const client = startClient(server.port);
  await server.waitFor("connected");
  server.child.kill("SIGTERM");
  await client.waitFor("Server is shutting down\n");
  t.equal(await client.exited, 1);
  t.match(client.stderr(), /Server closed the connection/);
  await server.exited;
});

t.test("a refused connection is one clear line and exit 1", async (t) => {
  const server = await startServer();
  const port = server.port;
  await server.stop();
  const run = await runBun(["bin/client.ts", "--port", String(port)]);
  t.equal(run.code, 1);
  t.equal(run.stderr, `client: cannot connect to 127.0.0.1:${port}: connection refused\n`);
});

t.test("long lines split across reads come out whole: a piped client prints exactly the bytes of the lines", async (t) => {
  // No limits: a test reader may fall behind 9 MB of lines without being evicted.
  const server = await startServer(["--max-outbound", "0", "--rate", "0"]);
  t.teardown(() => server.stop());
  const client = spawn(bunPath, ["bin/client.ts", "--port", String(server.port)], { cwd: root });
  t.teardown(() => client.kill("SIGKILL"));
  const chunks: Buffer[] = [];
  let received = 0;
  const waiters = new Waiters();
  client.stdout.on("data", (chunk: Buffer) => {
    chunks.push(chunk);
    received += chunk.length;
    waiters.wake();
  });
  let stderr = "";
  client.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => client.on("close", (code) => resolve(code)));
  await server.waitFor(/Client \(127\.0\.0\.1, \d+\) connected/);
  const sender = await LineClient.connect(server.port);

  // 900 lines of 1 to 20,000 random bytes (any byte but \n and \r), each starting with a letter (not a command).
  const lines = Array.from({ length: 900 }, (_, i) => {
    const line = Buffer.alloc(randomInt(1, 20_001));
    for (let j = 0; j < line.length; j++) {
      let byte = randomInt(0, 254);
      if (byte >= 0x0a) byte++;
      if (byte >= 0x0d) byte++;
      line[j] = byte;
    }
    line.write(`L${i} `, 0, "latin1");
    return line;
  });
  sender.send(Buffer.concat(lines.flatMap((line) => [line, Buffer.from("\n")])));
  const joined = Buffer.from(`Client ${sender.addr} connected\n`);
  // Who is here: alone or with the sender, by the time the server tells.
  const presenceLength = (n: number) => `In the room: ${n ? `${sender.from.slice(1, -1)} (1 other)` : "nobody else yet"}\n`.length;
  const expected = Buffer.concat([joined, ...lines.flatMap((line) => [Buffer.from(`${sender.from} `), line, Buffer.from("\n")])]);
  await waiters.until(
    () => received >= expected.length + presenceLength(0) || received >= expected.length + presenceLength(1),
    `${expected.length} bytes of output`,
    60_000,
    () => `; got ${received}`,
  );
  client.stdin.end();
  t.equal(await exited, 0, stderr);
  // Who is here comes once, wherever its moment fell among the lines.
  const all = Buffer.concat(chunks).toString("latin1");
  const presence = /(?<=^|\n)In the room: (nobody else yet|\S+ \(1 other\))\n/.exec(all);
  t.ok(presence, "the presence line came, whole, at the start of a line");
  const output = Buffer.from(all.slice(0, presence!.index) + all.slice(presence!.index + presence![0].length), "latin1");
  t.equal(output.length, expected.length, "as many bytes out as the lines had");
  t.ok(output.equals(expected), "byte for byte the received lines, each once and whole");
  t.equal(output.toString("latin1").split("\n").length - 1, 901, "901 lines: the join notice and the 900");
  sender.end();
});

t.test("--stay: after end of input the client keeps printing until Ctrl-C (SIGINT), which quits with 0", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const peer = await LineClient.connect(server.port);
  const client = startClient(server.port, ["--stay"]);
  t.teardown(() => client.child.kill("SIGKILL"));
  client.child.stdin.end("hello from a pipe\n");
  await peer.waitFor("> hello from a pipe\n");
  peer.send("still there?\n");
  await client.waitFor(`${peer.from} still there?\n`);
  t.notOk(peer.received.includes("quits"), "end of input did not quit");
  client.child.kill("SIGINT");
  await peer.waitUntil((received) => /Client \(127\.0\.0\.1, \d+\) quits\n/.test(received), "the quit");
  t.equal(await client.exited, 0);
  peer.end();
});

t.test("HOST and PORT may be given as arguments, as to nc and telnet", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const peer = await LineClient.connect(server.port);
  const both = await runBun(["bin/client.ts", "127.0.0.1", String(server.port)], { input: "host and port\n" });
  t.equal(both.code, 0, both.stderr);
  await peer.waitFor("> host and port\n");
  const hostOnly = await runBun(["bin/client.ts", "127.0.0.1", "--port", String(server.port)], { input: "host, then --port\n" });
  t.equal(hostOnly.code, 0, hostOnly.stderr);
  await peer.waitFor("> host, then --port\n");
  peer.end();
});

t.test("a command line the client does not understand is refused with one line and status 2", async (t) => {
  for (const [args, message] of [
    [["127.0.0.1", "5000", "extra"], 'client: unexpected argument "extra"'],
    [["127.0.0.1:5000"], "client: HOST: give the host and the port apart: 127.0.0.1 5000 (or --port 5000)"],
    [["localhost", "--host", "127.0.0.1"], "client: HOST is given twice: as an argument and as --host"],
    [["127.0.0.1", "five"], 'client: PORT needs a number, got "five"'],
    [["127.0.0.1", "70000"], "client: PORT: must be a whole number from 0 to 65535"],
    [["--connect-timeout", "0"], "client: --connect-timeout: must be more than 0 and at most 86400"],
  ] as const) {
    const run = await runBun(["bin/client.ts", ...args], { input: "" });
    t.equal(run.code, 2, args.join(" "));
    // Followed by a pointer to --help, whatever lib/cli/program.ts words it as.
    t.match(run.stderr, new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}.*\n$`), args.join(" "));
  }
});

t.test("an unknown host is one clear line and exit 1", async (t) => {
  const run = await runBun(["bin/client.ts", "no-such-host.invalid"], { input: "" });
  t.equal(run.code, 1);
  t.equal(run.stderr, "client: cannot connect to no-such-host.invalid:5000: host not found\n");
});

t.test("through a pipe, --history's answer is printed as the server sends it: ids, the user's own join, the end line", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const peer = await LineClient.connect(server.port);
  // Answered once the line is in the room's log: commands are handled in order.
  peer.send("/nick ann\nbefore you came\n/history 0\n");
  await peer.waitFor("[history end] ");
  // Even with --show-ids absent, scripts get the marks byte for byte (terminals alone get the quiet view).
  const client = startClient(server.port, ["--history", "5"]);
  await client.waitFor("[history end] ");
  const joined = /Client \(127\.0\.0\.1, (\d+)\) connected\n/;
  await peer.waitUntil((received) => joined.test(received), "the client's join notice");
  const port = joined.exec(peer.received)![1];
  client.type("q\n");
  t.equal(await client.exited, 0);
  const stdout = client.stdout();
  const mark = "\\[history [0-9a-z]+:\\d+ \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\] ";
  t.match(stdout, new RegExp(`^${mark}<ann> before you came\\n`, "m"), "an entry with its mark");
  t.match(stdout, new RegExp(`^${mark}Client \\(127\\.0\\.0\\.1, ${port}\\) connected\\n`, "m"), "the client's own join too");
  t.match(stdout, /^\[history end\] 4 entries, last [0-9a-z]+:\d+\n/m, "and the end line with the id to resume from");
  t.notMatch(stdout, "── ", "no separator of the terminal's");
  peer.end();
});
