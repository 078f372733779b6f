// The descriptor budget end to end: a TLS server under ulimit -n 1024,
// flooded with 2500 connections that never send a ClientHello, must not
// spin and must still serve a real TLS client (pending handshakes are given
// up, oldest first, to make room). And the metrics endpoint holds no
// descriptor past its answer.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import * as tls from "node:tls";
import t from "tap";
import { runBun, startServer } from "../support/bun.ts";
import { openSilent } from "../support/hostile.ts";
import { makeCertificate } from "../support/tls.ts";
import { openFds } from "../support/proc.ts";

t.setTimeout(120_000);

const OPEN_FILES = 1024;
const FLOOD = 2500;
/** A functional deadline: a client never served is the failure, not a slow one. */
const DEADLINE_MS = 10_000;
/** A server that spins on accept burns a whole core; an idle one next to nothing. */
const MAX_CPU_SHARE = 0.5;

const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** CPU time `pid` has used so far (user + system), in milliseconds, from /proc/PID/stat. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

/** The share of one core `pid` uses over the next `ms` milliseconds. */
async function cpuShare(pid: number, ms: number): Promise<number> {
  const cpu0 = cpuMs(pid);
  const wall0 = performance.now();
  // a measurement window, not synchronisation
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (cpuMs(pid) - cpu0) / (performance.now() - wall0);
}

/**
 * A real TLS client: handshake, `/who`, and the answer. Resolves with
 * "served", "told full", or what went wrong (including the deadline).
 */
function realClient(port: number, ca: string, onSocket: (s: tls.TLSSocket) => void): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    let handshook = false;
    const s = tls.connect({ host: "127.0.0.1", port, ca }, () => {
      handshook = true;
      s.write("/who\n");
    });
    onSocket(s);
    const state = () => `handshake ${handshook ? "done" : "not done"}; got ${JSON.stringify(text.slice(0, 200))}`;
    const timer = setTimeout(() => done(`no answer within ${DEADLINE_MS} ms (${state()})`), DEADLINE_MS);
    const done = (outcome: string) => {
      clearTimeout(timer);
      resolve(outcome);
    };
    s.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      if (/^Online \(/m.test(text)) done("served");
      else if (text.includes("Server is full")) done("told full");
    });
    s.on("error", (e: Error) => done(`error: ${e.message} (${state()})`));
    s.on("close", () => done(`closed (${state()})`));
  });
}

const certificate = makeCertificate();
t.teardown(() => certificate.remove());

for (const backend of ["bun", "node"]) {
  t.test(`${backend} backend, TLS, ulimit -n ${OPEN_FILES}: ${FLOOD} silent connections, then a real client is served`, async (t) => {
    const server = await startServer(["--backend", backend, "--tls-cert", certificate.cert, "--tls-key", certificate.key], {
      openFiles: OPEN_FILES,
    });
    t.teardown(() => server.stop());
    const pid = server.child.pid!;
    const silent = await openSilent(server.port, FLOOD);
    t.teardown(() => {
      for (const s of silent) s.destroy();
    });

    // The real client queues behind the whole flood in the kernel's accept
    // queue: once it is served, every silent connection has been accepted
    // (and most given up), so CPU the server burns after that is a spin.
    const outcome = await realClient(server.port, certificate.ca, (s) => t.teardown(() => s.destroy()));
    t.ok(outcome === "served" || outcome === "told full", `a real TLS client behind ${FLOOD} silent connections: ${outcome}`);
    const fds = openFds(pid);
    t.ok(fds < OPEN_FILES, `the server stays under its open-file limit (${fds} open)`);
    const share = await cpuShare(pid, 1000);
    t.comment(`server CPU in the second after: ${(share * 100).toFixed(0)}% of a core`);
    t.ok(share < MAX_CPU_SHARE, `the server is not spinning (${(share * 100).toFixed(0)}% of a core, under ${MAX_CPU_SHARE * 100}%)`);
  });
}

t.test("metrics: every answer closes its connection", async (t) => {
  const server = await startServer(["--metrics", "127.0.0.1:0"]);
  t.teardown(() => server.stop());
  await server.waitFor(/Metrics on http:\/\/\S+:(\d+)\//);
  const port = Number(/Metrics on http:\/\/\S+:(\d+)\//.exec(server.output())![1]);
  // Asks for keep-alive: the answer must close anyway.
  const answer = await new Promise<{ text: string; ended: boolean }>((resolve, reject) => {
    let text = "";
    const s = net.connect({ host: "127.0.0.1", port }, () => s.write("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"));
    t.teardown(() => s.destroy());
    s.on("data", (d: Buffer) => (text += d.toString("latin1")));
    s.on("end", () => resolve({ text, ended: true }));
    s.on("error", reject);
  });
  t.match(answer.text, /^HTTP\/1\.1 200 /, "the request is answered");
  t.match(answer.text, /\r\nconnection: close\r\n/i, "with Connection: close");
  t.ok(answer.ended, "and the server closes the connection");
});

t.test("metrics: a request that gets no descriptor from the budget is answered 503", async (t) => {
  // serveMetrics in a Bun child, with a budget of one descriptor that the script holds itself.
  const script = `
    import { serveMetrics } from "./lib/server/metrics-http.ts";
    import { DescriptorBudget } from "./lib/reactor/descriptors.ts";
    const budget = new DescriptorBudget(1);
    const held = budget.acquire();
    const endpoint = serveMetrics("127.0.0.1", 0, "t", () => { throw new Error("not asked while full"); }, budget);
    const full = await fetch(endpoint.url + "metrics");
    held.release();
    const notFound = await fetch(endpoint.url + "nothing");
    console.log(JSON.stringify({ full: full.status, after: notFound.status, refusals: budget.refusals }));
    endpoint.stop();
  `;
  const run = await runBun(["--eval", script], { timeoutMs: 20_000 });
  const result = JSON.parse(run.stdout.trim().split("\n").pop() || "null") as Record<string, number> | null;
  t.ok(result, "the script ran", { stderr: run.stderr });
  t.equal(result?.full, 503, "no descriptor left: 503");
  t.equal(result?.refusals, 1, "counted as a refusal");
  t.equal(result?.after, 404, "once one is free, requests are answered again");
});
