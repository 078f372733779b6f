// Hostile traffic against a real server: bursts that outgrow one tick,
// slowloris trickles, half-open TLS floods, a stalled server, command
// floods, and the edges of line framing and nicknames. Each names what a
// client must still get; none measures time.
import * as net from "node:net";
import * as tls from "node:tls";
import t from "tap";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { runBun, startServer } from "../support/bun.ts";
import { Crowd, openSilent, peakRssKiB, resetPeakRss } from "../support/hostile.ts";
import { makeCertificate } from "../support/tls.ts";
import { LineClient } from "../support/line-client.ts";
import { rssKiB } from "../support/proc.ts";

// Thousands of connections and gigabytes relayed: more than the default file timeout.
t.setTimeout(300_000);

/**
 * The harness's `burst` scenario against a server it starts with `--rate 0`:
 * `clients` readers connect, then each sends one `size`-byte line at the
 * same moment. Its load generator is a Bun process that reads everything as
 * it comes (a Node client in this process could not keep up with 250 × 15 MB
 * on two cores, and would measure itself). Returns the scenario's JSON.
 */
async function burst(clients: number, size: number) {
  const svg = path.join(mkdtempSync(path.join(tmpdir(), "hostile-burst-")), "chart.svg");
  const args = ["bench/main.ts", "--scenario", "burst", "--clients", String(clients), "--size", String(size), "--json", "--svg", svg];
  const run = await runBun(args, { timeoutMs: 240_000 });
  if (run.code !== 0) throw new Error(`bench exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split("\n").at(-1)!) as {
    status: string;
    accounting: { expected: number; delivered: number; lost: number };
    metrics: { evicted: number; completeClients: number; lostAtSurvivors: number; rssBeforeMb: number; rssPeakMb: number };
  };
}

t.test("burst: 250 clients each send one 60 KB line at once; readers that keep up are not evicted", async (t) => {
  const result = await burst(250, 60 * 1024);
  t.equal(result.status, "ok");
  t.equal(result.metrics.evicted, 0, "no client evicted (the tick's batch is not one reader's backlog)");
  t.equal(result.metrics.completeClients, 250, "every client got every other client's line");
  t.equal(result.accounting.lost, 0, "nothing lost");
});

t.test("burst: 1000 clients each send one 2 KB line at once; server memory stays bounded", async (t) => {
  const BOUND_MIB = 300;
  const result = await burst(1000, 2048);
  const growth = result.metrics.rssPeakMb - result.metrics.rssBeforeMb;
  t.comment(`server RSS: ${result.metrics.rssBeforeMb} MiB settled, peak +${growth} MiB for a 2 MB burst`);
  t.equal(result.metrics.evicted, 0, "no client evicted");
  t.equal(result.metrics.completeClients, 1000, "every client got every other line");
  t.ok(growth < BOUND_MIB, `peak server RSS grew ${growth} MiB (< ${BOUND_MIB}) for 1000 lines of 2 KB (copies per sender made it ~900)`);
});

t.test("slowloris: 2000 connections trickling an unfinished line keep server memory small", async (t) => {
  const N = 2000;
  const BOUND_MIB = 60;
  const TRICKLES = 60; // one byte each every 50 ms: 3 s
  const server = await startServer();
  t.teardown(() => server.stop());
  const pid = server.child.pid!;
  const crowd = await Crowd.connect(server.port, N);
  t.teardown(() => crowd.destroy());
  await crowd.settled();
  const baseline = rssKiB(pid);
  resetPeakRss(pid);
  for (let k = 0; k < TRICKLES; k++) {
    for (const r of crowd.readers) r.socket.write("a");
    // the attack is a byte every 50 ms: the pacing is the scenario, not synchronisation
    await new Promise((r) => setTimeout(r, 50));
  }
  const growthMiB = (peakRssKiB(pid) - baseline) / 1024;
  t.comment(
    `server RSS: ${(baseline / 1024).toFixed(0)} MiB settled, peak +${growthMiB.toFixed(0)} MiB after ${TRICKLES} bytes from each of ${N}`,
  );
  t.ok(
    growthMiB < BOUND_MIB,
    `peak server RSS grew ${growthMiB.toFixed(0)} MiB (< ${BOUND_MIB}) holding ${N} x ${TRICKLES} bytes of unfinished lines`,
  );
});

t.test("half-open TLS flood under ulimit -n 1024: a real TLS client still gets served or told the server is full", async (t) => {
  const DEADLINE_MS = 5000;
  const certificate = makeCertificate();
  t.teardown(() => certificate.remove());
  const server = await startServer(["--tls-cert", certificate.cert, "--tls-key", certificate.key], { openFiles: 1024 });
  t.teardown(() => server.stop());
  const silent = await openSilent(server.port, 2500);
  t.teardown(() =>
    silent.forEach((s) => {
      s.destroy();
    }),
  );
  // A functional deadline: a handshake that never comes is the failure, not a slow one.
  const outcome = await new Promise<string>((resolve) => {
    let text = "";
    let handshook = false;
    const s = tls.connect({ host: "127.0.0.1", port: server.port, ca: certificate.ca }, () => {
      handshook = true;
      s.write("/who\n");
    });
    t.teardown(() => s.destroy());
    const timer = setTimeout(
      () => resolve(`no answer within ${DEADLINE_MS} ms (handshake ${handshook ? "done" : "not done"}; got ${JSON.stringify(text)})`),
      DEADLINE_MS,
    );
    const done = (why: string) => {
      clearTimeout(timer);
      resolve(why);
    };
    s.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      if (/^Online \(/m.test(text)) done("served");
      else if (text.includes("Server is full")) done("told full");
    });
    s.on("error", (e: Error) => done(`error: ${e.message}`));
    s.on("close", () => done(`closed (handshake ${handshook ? "done" : "not done"}; got ${JSON.stringify(text)})`));
  });
  t.ok(outcome === "served" || outcome === "told full", `TLS client with 2500 silent connections open: ${outcome}`);
});

t.test("stall: after the server was stopped 8 s, chatting clients are not evicted as idle and no line is split", async (t) => {
  const N = 20;
  const STALL_MS = 8000;
  const LINES = 16; // each client, one every 500 ms, while the server is stopped
  // a long --tail-ms so the half lines below are still held when the server stops
  const server = await startServer(["--idle-timeout", "5", "--tail-ms", "2000"]);
  const pid = server.child.pid!;
  t.teardown(async () => {
    process.kill(pid, "SIGCONT");
    await server.stop();
  });
  const clients = await LineClient.connectAll(server.port, N + 1);
  const marker = clients[N]!;
  const chatters = clients.slice(0, N);
  for (const [i, c] of chatters.entries()) c.send(`split ${i} A`);
  // Everything sent before the marker's line has been read once it is relayed.
  marker.send("mark\n");
  await chatters[0]!.waitFor(`${marker.from} mark\n`);
  process.kill(pid, "SIGSTOP");
  for (const c of chatters) c.send(" B\n");
  for (let k = 0; k < LINES; k++) {
    for (const [i, c] of clients.entries()) c.send(`during ${i} ${k}\n`);
    // the clients chat at 2 lines/s while the server sleeps: pacing, not synchronisation
    await new Promise((r) => setTimeout(r, STALL_MS / LINES));
  }
  process.kill(pid, "SIGCONT");

  const wanted = (c: LineClient) =>
    clients.flatMap((o, j) =>
      o === c
        ? []
        : [...(j < N ? [`${o.from} split ${j} A B\n`] : []), ...Array.from({ length: LINES }, (_, k) => `${o.from} during ${j} ${k}\n`)],
    );
  await Promise.all(
    clients.map((c) =>
      c.waitUntil((r) => c.closed || wanted(c).every((w) => r.includes(w)), "every line of the stall, or a close", 30_000),
    ),
  );
  const idled = clients.filter((c) => c.received.includes("Idle for 5 s")).length;
  t.equal(idled, 0, `no client told it was idle (${idled} of ${N + 1} were)`);
  t.equal(clients.filter((c) => c.closed).length, 0, "every client still connected");
  const split = clients.filter((c) => chatters.some((o, j) => o !== c && c.received.includes(`${o.from} split ${j} A\n`))).length;
  t.equal(split, 0, `no client got a half line as a message (${split} did)`);
  const missing = clients.filter((c) => !wanted(c).every((w) => c.received.includes(w))).length;
  t.equal(missing, 0, `every client got every line sent during the stall (${missing} did not)`);
});

t.test("/who flood: 1000 /who lines in one write are held to the rate limit; the room keeps chatting", async (t) => {
  const N = 1000;
  const server = await startServer();
  t.teardown(() => server.stop());
  let warned = false;
  let answers = 0;
  let heard = false;
  let speech: string | null = null; // what client 2 hears from client 1 once it speaks
  const crowd = await Crowd.connect(server.port, N, (i, head) => {
    if (i === 0 && head.startsWith("Too many lines")) warned = true;
    if (i === 0 && head.startsWith("Online (")) answers++;
    if (i === 2 && head === speech) heard = true;
  });
  t.teardown(() => crowd.destroy());
  await crowd.settled();
  const [flooder, speaker] = crowd.readers;
  flooder!.socket.write("/who\n".repeat(1000));
  await crowd.waitUntil(() => warned || flooder!.closed || answers === 1000, "the flood to be answered, refused or cut off");
  t.comment(`flooder: ${answers} /who answers, ${warned ? "warned" : "not warned"}, ${flooder!.closed ? "disconnected" : "connected"}`);
  t.ok(warned, "the flooder was told it is over the rate limit");
  speech = `${speaker!.from}still here`;
  speaker!.socket.write("still here\n");
  await crowd.waitUntil(() => heard, "another client's line after the flood");
  t.pass("another client's line still arrives");
});

t.test("a line of exactly --max-line bytes ending in \\r\\n is accepted and relayed", async (t) => {
  const server = await startServer(["--max-line", "1000"]);
  t.teardown(() => server.stop());
  const [a, b] = await LineClient.connectAll(server.port, 2);
  const line = "y".repeat(1000);
  a!.send(line + "\r\n");
  a!.send("after\n");
  await b!.waitUntil(
    (r) => r.includes(`${a!.from} after\n`) || r.includes(`Client ${a!.addr} is offline`),
    "the next line or the sender's eviction",
  );
  t.notOk(a!.received.includes("Line too long"), "the sender was not told its line is too long");
  t.ok(b!.received.includes(`${a!.from} ${line}\n`), "the 1000-byte line was relayed without its \\r");
});

t.test("\\r and \\n arriving more than --tail-ms apart give one message, not an extra empty one", async (t) => {
  const server = await startServer(["--tail-ms", "50"]);
  t.teardown(() => server.stop());
  const [a, b] = await LineClient.connectAll(server.port, 2);
  a!.send("hello\r");
  // Relayed once the tail timer fired: the \n below comes after it.
  await b!.waitFor(`${a!.from} hello\n`);
  a!.send("\n");
  a!.send("next\n");
  await b!.waitFor(`${a!.from} next\n`);
  t.notOk(b!.received.includes(`${a!.from} \n`), "no empty message between them");
  t.equal(b!.received.split(`${a!.from} hello\n`).length - 1, 1, "hello relayed once");
});

t.test("node backend: a client that connects and resets at once is never announced without its address", async (t) => {
  const server = await startServer(["--backend", "node"]);
  t.teardown(() => server.stop());
  const [watcher] = await LineClient.connectAll(server.port, 1);
  const ports: number[] = [];
  for (let i = 0; i < 20; i++) {
    await new Promise<void>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port: server.port }, () => {
        ports.push(s.localPort!);
        s.resetAndDestroy();
        resolve();
      });
      s.on("error", () => {});
    });
  }
  // A later client's join is announced after whatever the resets caused.
  const [late] = await LineClient.connectAll(server.port, 1);
  await watcher!.waitFor(`Client ${late!.addr} connected\n`);
  t.notOk(/\(, 0\)|\(undefined/.test(watcher!.received), "no notice names an empty address", { received: watcher!.received.slice(0, 400) });
  t.notOk(/\(, 0\)/.test(server.output()), "no log line names an empty address");
});

t.test("reserved nicknames are refused: Server, client, NOTICE", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const [a, b] = await LineClient.connectAll(server.port, 2);
  for (const name of ["Server", "client", "NOTICE"]) {
    const before = a!.received.length;
    a!.send(`/nick ${name}\n`);
    await a!.waitUntil((r) => /^(Error: |You are now )/m.test(r.slice(before)), `the answer to /nick ${name}`);
    t.match(a!.received.slice(before), /^Error: /m, `/nick ${name} is refused`);
  }
  a!.send("who am i\n");
  await b!.waitFor("who am i\n");
  t.ok(b!.received.includes(`${a!.from} who am i\n`), "messages still carry the address, not a reserved name");
});
