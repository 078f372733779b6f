// End to end: `bun bin/server.ts` as a process, real TCP clients from here.
import t from "tap";
import { LineClient } from "../support/line-client.ts";
import { runBun, startServer, type ServerProcess } from "../support/bun.ts";

async function withServer(t: { teardown(fn: () => unknown): void }, fn: (s: ServerProcess) => Promise<void>, extra: string[] = []) {
  const server = await startServer(extra);
  t.teardown(() => server.stop());
  await fn(server);
}

t.test("start line names the address; three clients chat as in the original", (t) =>
  withServer(t, async (server) => {
    t.match(server.output(), /^\S+Z - Chat server listening on 127\.0\.0\.1:\d+ \(backend bun\)$/m);
    const [a, b, c] = (await LineClient.connectAll(server.port, 3)) as [LineClient, LineClient, LineClient];

    a.send("hello everyone\r\nsecond line\n");
    for (const x of [b, c]) await x.waitFor(`${a.from} hello everyone\n${a.from} second line\n`);
    b.send("from b\n");
    await c.waitFor(`${b.from} from b\n`);
    await a.waitFor(`${b.from} from b\n`);
    t.notMatch(a.received, a.from, "a never hears its own lines");
    t.notMatch(b.received, b.from, "b never hears its own lines");
    t.notMatch(c.received, `Client ${a.addr} connected`, "a newcomer is not told about earlier clients");

    c.send("q\n");
    await a.waitFor(`Client ${c.addr} quits\n`);
    await b.waitFor(`Client ${c.addr} quits\n`);
    await c.waitClosed();
    await server.waitFor(`Client ${c.addr} quits`);
    a.end();
    b.end();
  }),
);

t.test("a tail without newline is delivered once the sender is quiet", (t) =>
  withServer(
    t,
    async (server) => {
      const [a, b] = (await LineClient.connectAll(server.port, 2)) as [LineClient, LineClient];
      a.send("no new");
      a.send("line here");
      await b.waitFor(`${a.from} no newline here\n`);
      a.send("Q");
      await b.waitFor(`Client ${a.addr} quits\n`);
      a.end();
      b.end();
    },
    ["--tail-ms", "50"],
  ),
);

t.test("EOF and resets evict with `is offline`, naming the right client, and the loop goes on", (t) =>
  withServer(t, async (server) => {
    const [a, b, c] = (await LineClient.connectAll(server.port, 3)) as [LineClient, LineClient, LineClient];
    b.send("half a li");
    b.end(); // EOF mid-line: the tail still goes out, then the notice
    await a.waitFor(`${b.from} half a li\nClient ${b.addr} is offline\n`);
    c.reset();
    await a.waitFor(`Client ${c.addr} is offline\n`);
    const d = await LineClient.connect(server.port);
    await a.waitFor(`Client ${d.addr} connected\n`);
    d.send("still serving\n");
    await a.waitFor(`${d.from} still serving\n`);
    a.end();
    d.end();
  }),
);

t.test("bytes are relayed unchanged: NUL, invalid UTF-8, control characters", (t) =>
  withServer(t, async (server) => {
    const [a, b] = (await LineClient.connectAll(server.port, 2)) as [LineClient, LineClient];
    a.send(Buffer.from([0x00, 0xff, 0xfe, 0x1b, 0x5b, 0x32, 0x4a, 0x0a]));
    await b.waitFor(`${a.from} \x00\xff\xfe\x1b[2J\n`);
    a.end();
    b.end();
  }),
);

t.test("SIGTERM tells the clients, flushes, closes them and exits 0", (t) =>
  withServer(t, async (server) => {
    const [a, b] = (await LineClient.connectAll(server.port, 2)) as [LineClient, LineClient];
    server.child.kill("SIGTERM");
    for (const x of [a, b]) {
      await x.waitFor("Server is shutting down\n");
      await x.waitClosed();
    }
    const { code } = await server.exited;
    t.equal(code, 0);
  }),
);

t.test("usage errors and a taken port: one clear line, no stack trace", async (t) => {
  // As common Unix tools: what was wrong, and where to read more; exit 2.
  const usageErrors: Array<[string, string[], string]> = [
    ["server", ["--port", "nope"], 'server: --port needs a number, got "nope" (see --help)\n'],
    ["server", ["--nope"], "server: unknown flag --nope (see --help)\n"],
    ["server", ["5000"], 'server: unexpected argument "5000" (see --help)\n'],
    ["server", ["--tls-cert", "cert.pem"], "server: --tls-cert and --tls-key go together (see --help)\n"],
    ["client", ["--nope"], "client: unknown flag --nope (see --help)\n"],
  ];
  for (const [program, args, line] of usageErrors) {
    const bad = await runBun([`bin/${program}.ts`, ...args]);
    t.equal(bad.code, 2, `${program} ${args.join(" ")} exits 2`);
    t.equal(bad.stderr, line, "with one line");
  }
  const help = await runBun(["bin/server.ts", "--help"]);
  t.equal(help.code, 0);
  // Each flag's description as one line again (--help wraps it, indented, under the flag).
  const flags = help.stdout.replace(/\n {3,}/g, " ");
  t.match(flags, /--port PORT .*\(default: 5000\)/);
  t.match(flags, "--cluster redis://[USER[:PASSWORD]@]HOST[:PORT][/DB] ", "the cluster URL in full, credentials included");

  const server = await startServer();
  t.teardown(() => server.stop());
  const taken = await runBun(["bin/server.ts", "--port", String(server.port)]);
  t.equal(taken.code, 1);
  t.equal(
    taken.stderr,
    `server: --port: cannot listen on 127.0.0.1:${server.port}: address already in use ` +
      "(is another server running there? stop it, or choose another port with --port PORT)\n",
    "the flag whose address is taken, and what to do",
  );
});

t.test("the node:net backend serves the same protocol", (t) =>
  withServer(
    t,
    async (server) => {
      t.match(server.output(), /\(backend node\)/);
      const [a, b] = (await LineClient.connectAll(server.port, 2)) as [LineClient, LineClient];
      b.send("via node\n");
      await a.waitFor(`${b.from} via node\n`);
      b.reset();
      await a.waitFor(`Client ${b.addr} is offline\n`);
      a.end();
    },
    ["--backend", "node"],
  ),
);
