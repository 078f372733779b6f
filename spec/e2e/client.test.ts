// End to end: `bun bin/client.ts` driven through pipes against the real server.
import { spawn } from "node:child_process";
import t from "tap";
import { LineClient } from "../support/line-client.ts";
import { bunPath, root, runBun, startServer } from "../support/bun.ts";

/** A client process whose stdin we type into and whose stdout we can await. */
function startClient(port: number) {
  const child = spawn(bunPath, ["bin/client.ts", "--port", String(port)], { cwd: root });
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
