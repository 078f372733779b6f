// What a user sees when the server cannot start as asked, or is told to
// stop twice: a taken address names the flag it was given with and what to
// do; a second SIGINT (npm forwards the terminal's Ctrl-C, which the server
// already got) shuts down once and is logged once; a cluster URL that
// leads nowhere gives a server that says, with backoff, that chat is local,
// and shows the link down in its metrics.
import * as net from "node:net";
import t from "tap";
import { runBun, startServer } from "../support/bun.ts";

/** A port something else listens on, held until the test ends. */
async function takenPort(t: { teardown(fn: () => unknown): void }): Promise<number> {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  return (holder.address() as net.AddressInfo).port;
}

t.test("a taken --web or --metrics address names that flag, not --port, and nothing is left listening", async (t) => {
  const port = await takenPort(t);
  for (const flag of ["--web", "--metrics"]) {
    const run = await runBun(["bin/server.ts", "--port", "0", flag, `127.0.0.1:${port}`]);
    t.equal(run.code, 1, `${flag}: exit 1`);
    t.equal(
      run.stderr,
      `server: ${flag}: cannot listen on 127.0.0.1:${port}: address already in use ` +
        `(is another server running there? stop it, or choose another address with ${flag} HOST:PORT)\n`,
      `${flag}: one line naming the flag`,
    );
    t.notMatch(run.stderr, /at .*\.ts:\d+/, "no stack trace");
  }
});

t.test("two SIGINTs (Ctrl-C forwarded by npm): one shutdown, logged once, exit 0", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  server.child.kill("SIGINT");
  await server.waitFor("Received SIGINT");
  server.child.kill("SIGINT");
  const { code } = await server.exited;
  t.equal(code, 0);
  t.equal(server.output().split("Received SIGINT").length - 1, 1, "logged once");
  t.equal(server.output().split("Server stopped").length - 1, 1, "stopped once");
});

t.test("--cluster to nowhere: chat is local, said at start and again with backoff; the link is down in /metrics", async (t) => {
  // Port 1 on loopback: nothing listens there, every attempt is refused (the mistyped URL of the issue).
  const server = await startServer(["--cluster", "redis://127.0.0.1:1", "--metrics", "127.0.0.1:0"]);
  t.teardown(() => server.stop());
  await server.waitFor("chat is local until the link is up");
  // Retries go on every 0.1 to 2 s; the lines come at 1 s, 2 s, 4 s... of the outage (the first attempt after each).
  const after = () => [...server.output().matchAll(/still down after ([\d.]+) s/g)].map((m) => Number(m[1]));
  await server.waitUntil(() => after().length >= 2, "two 'still down' lines", 15_000);
  const [first, second] = after() as [number, number];
  t.ok(first >= 1 && first < 2 + 2.5, `the first past 1 s (${first})`);
  t.ok(second >= 2 && second >= first + 0.9, `the second past 2 s (${second})`);
  const metricsUrl = /Metrics on (\S+)metrics/.exec(server.output())![1]!;
  const metrics = await (await fetch(`${metricsUrl}metrics`)).text();
  t.match(metrics, /^chat_cluster_link_up 0$/m, "the link is down in the metrics");
  const stats = (await (await fetch(`${metricsUrl}stats.json`)).json()) as { clusterLink: string };
  t.equal(stats.clusterLink, "down", "and on the status page's data");
  const page = await (await fetch(metricsUrl)).text();
  t.match(page, 'id="clusterLink"', "the status page has a row for it");
  t.match(
    server.output(),
    /not up \((read|append): cannot connect to 127\.0\.0\.1:1: connection refused\); local chat goes on/,
    "why, at once",
  );
  t.ok(after().length <= 3, `a few lines (${after().length}), not one per attempt`);
});

t.test("a lone server has no cluster link metric", async (t) => {
  const server = await startServer(["--metrics", "127.0.0.1:0"]);
  t.teardown(() => server.stop());
  await server.waitFor("Metrics on");
  const metricsUrl = /Metrics on (\S+)metrics/.exec(server.output())![1]!;
  const metrics = await (await fetch(`${metricsUrl}metrics`)).text();
  t.notMatch(metrics, "chat_cluster_link_up");
  t.equal(((await (await fetch(`${metricsUrl}stats.json`)).json()) as { clusterLink: string }).clusterLink, "none");
});
