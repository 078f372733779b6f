// TLS on both backends: the server with --tls-cert/--tls-key, clients with
// node:tls and with bin/client.ts --tls --ca / --insecure. The certificate
// is made for the test with the system's openssl, in a temp dir.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Duplex } from "node:stream";
import * as tls from "node:tls";
import { spawn } from "node:child_process";
import t, { type Test } from "tap";
import { bunPath, root, runBun, startServer } from "../support/bun.ts";
import { LineClient } from "../support/line-client.ts";
import { makeCertificate } from "../support/tls.ts";

const certificate = makeCertificate();
t.teardown(() => certificate.remove());
const { cert, key, ca } = certificate;

/** A node:tls client that collects what it receives. */
function tlsClient(port: number): Promise<{ socket: tls.TLSSocket; text: () => string; waitFor: (wanted: string) => Promise<void> }> {
  return new Promise((resolve, reject) => {
    let text = "";
    const waiters: Array<() => void> = [];
    const socket = tls.connect({ host: "127.0.0.1", port, ca }, () =>
      resolve({
        socket,
        text: () => text,
        waitFor: (wanted) =>
          new Promise<void>((resolveWait, rejectWait) => {
            const timer = setTimeout(() => rejectWait(new Error(`timed out waiting for ${wanted}; got ${text}`)), 10_000);
            const check = () => {
              if (text.includes(wanted)) {
                clearTimeout(timer);
                resolveWait();
              } else waiters.push(check);
            };
            check();
          }),
      }),
    );
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      for (const wake of waiters.splice(0)) wake();
    });
    socket.once("error", reject);
  });
}

/** Run bin/client.ts with `input` on stdin; resolves with its output once it exits. */
const runClient = (args: string[], input: string) => runBun(["bin/client.ts", ...args], { input, timeoutMs: 20_000 });

for (const backend of ["bun", "node"]) {
  t.test(`TLS server, ${backend} backend`, async (t) => {
    const server = await startServer(["--backend", backend, "--tls-cert", cert, "--tls-key", key]);
    t.teardown(() => server.stop());
    t.match(server.output(), /, TLS\)/, "start line says TLS");

    const speaker = await tlsClient(server.port);
    const listener = await tlsClient(server.port);
    await server.waitFor(`Client (127.0.0.1, ${listener.socket.localPort}) connected`);
    speaker.socket.write("over tls\n");
    await t.resolves(listener.waitFor(`<127.0.0.1:${speaker.socket.localPort}> over tls\n`), "node:tls clients chat through it");

    for (const clientBackend of ["bun", "node"]) {
      // Worded per backend: the second client's line must not be found in what the first sent.
      const hello = `hello from the ${clientBackend} client`;
      const viaCa = await runClient(["--port", String(server.port), "--backend", clientBackend, "--tls", "--ca", cert], `${hello}\n`);
      t.equal(viaCa.code, 0, `bin/client.ts --tls --ca (${clientBackend}) exits 0`, { stderr: viaCa.stderr });
      await listener.waitFor(`> ${hello}\n`);
      const insecure = await runClient(["--port", String(server.port), "--backend", clientBackend, "--tls", "--insecure"], "q\n");
      t.equal(insecure.code, 0, `bin/client.ts --tls --insecure (${clientBackend}) exits 0`, { stderr: insecure.stderr });
      const untrusted = await runClient(["--port", String(server.port), "--backend", clientBackend, "--tls"], "q\n");
      t.equal(untrusted.code, 1, `a self-signed server without --ca is refused (${clientBackend})`);
      t.match(untrusted.stderr, /^client: cannot connect to 127\.0\.0\.1:\d+: .+\n$/, "with a one-line message");
    }

    // A plain-TCP client speaking to the TLS port fails alone, unannounced.
    const plain = net.connect({ host: "127.0.0.1", port: server.port });
    plain.on("error", () => {});
    plain.resume(); // read, so that the server's close is seen
    // Taken while connected: a closed socket no longer knows its port.
    const plainPort = await new Promise<number>((resolve) => plain.once("connect", () => resolve(plain.localPort!)));
    plain.write("not a handshake\n");
    await new Promise((resolve) => plain.once("close", resolve));
    speaker.socket.write("still fine\n");
    await listener.waitFor(`<127.0.0.1:${speaker.socket.localPort}> still fine\n`);
    t.notOk(listener.text().includes(`(127.0.0.1, ${plainPort})`), "the plain client was never announced");
    speaker.socket.destroy();
    listener.socket.destroy();
  });
}

t.test("flag errors are one line", async (t) => {
  const run = await runClient(["--insecure"], "");
  t.equal(run.code, 2);
  t.match(run.stderr, /^client: --ca and --insecure only apply with --tls\n/);
});

/**
 * A node:tls client on a socket that records the raw bytes the server
 * sends: what a TLS client gets from a plain server is not TLS, so only the
 * raw bytes show it.
 */
function recordedTlsClient(port: number): { raw: () => string; closed: Promise<void>; error: Promise<Error> } {
  const socket = net.connect({ host: "127.0.0.1", port });
  let raw = "";
  const wire = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      socket.write(chunk, () => done());
    },
    final(done) {
      socket.end();
      done();
    },
    destroy(err, done) {
      socket.destroy();
      done(err);
    },
  });
  socket.on("data", (chunk: Buffer) => {
    raw += chunk.toString("latin1");
    wire.push(chunk);
  });
  socket.on("end", () => wire.push(null));
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const client = tls.connect({ socket: wire, rejectUnauthorized: false });
  const error = new Promise<Error>((resolve) => client.once("error", resolve));
  return { raw: () => raw, closed, error };
}

for (const backend of ["bun", "node"]) {
  t.test(`a TLS client on a plain server (${backend} backend) is told in one plain line, and nothing it sent is relayed`, async (t) => {
    const server = await startServer(["--backend", backend]);
    t.teardown(() => server.stop());
    const watcher = await LineClient.connect(server.port);
    const client = recordedTlsClient(server.port);
    await client.closed;
    t.equal(client.raw(), "This server speaks plain TCP, not TLS: connect without --tls\n", "one plain line, then the close");
    t.ok(await client.error, "the TLS client fails (its handshake got no TLS answer)");
    await server.waitFor(/\S+ 127\.0\.0\.1:(\d+) Client \(127\.0\.0\.1, \1\) is offline \(spoke TLS to a plain-TCP server\)/);
    await watcher.waitFor("is offline (spoke TLS to a plain-TCP server)\n");
    t.match(
      watcher.received,
      /^Client \(127\.0\.0\.1, \d+\) connected\nClient \(127\.0\.0\.1, \d+\) is offline \(spoke TLS to a plain-TCP server\)\n$/,
      "the others hear it come and go, none of its bytes",
    );
    watcher.end();
  });

  t.test(`a plain client's line on the TLS port (${backend} backend) ends its connection at once`, async (t) => {
    const server = await startServer(["--backend", backend, "--tls-cert", cert, "--tls-key", key]);
    t.teardown(() => server.stop());
    const plain = await LineClient.connect(server.port);
    plain.send("hello, anyone?\n");
    await plain.waitClosed();
    // At once, not at the handshake timeout (10 s), which closes without a word:
    // the TLS alert (record type 0x15) says the handshake failed on the bytes sent.
    t.match(plain.received, /^\x15\x03/, "a TLS alert, then the close");
  });
}

t.test("a certificate or key file that is not one, or a pair that does not match: one line naming the file, exit 2", async (t) => {
  const { cert: otherCert } = makeCertificate(); // removed with its directory below
  const dir = mkdtempSync(path.join(os.tmpdir(), "chat-bad-pem-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const junk = path.join(dir, "junk.pem");
  writeFileSync(junk, "hello\n");
  const cases: Array<[string[], RegExp]> = [
    [["--tls-cert", junk, "--tls-key", key], new RegExp(`^server: --tls-cert: ${junk} is not a PEM certificate \\(.+\\)\\n$`)],
    [["--tls-cert", cert, "--tls-key", junk], new RegExp(`^server: --tls-key: ${junk} is not a PEM private key \\(.+\\)\\n$`)],
    [
      ["--tls-cert", key, "--tls-key", cert],
      new RegExp(`^server: --tls-cert: ${key} holds a private key, not a certificate \\(are --tls-cert and --tls-key swapped\\?\\)\\n$`),
    ],
    [
      ["--tls-cert", otherCert, "--tls-key", key],
      new RegExp(`^server: --tls-key: ${key} is not the key of the certificate in ${otherCert}\\n$`),
    ],
  ];
  for (const [args, message] of cases) {
    const run = await runBun(["bin/server.ts", "--port", "0", ...args]);
    t.equal(run.code, 2, args.join(" "));
    t.match(run.stderr, message, "one line naming the file and what is wrong with it");
    t.equal(run.stdout, "", "nothing listened");
  }
  rmSync(path.dirname(otherCert), { recursive: true, force: true });
});

// ---- The client's side of a TLS mismatch: one line that says so, exit 1. ----

/** A plain-TCP server on port 0 that does `answer` with each connection once its first bytes arrive (null: nothing). */
async function fakePlainServer(t: Test, answer: ((socket: net.Socket) => void) | null): Promise<number> {
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    if (answer) socket.once("data", () => answer(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => {
    server.close();
    // A silent server's connections would keep close() waiting.
    (server as net.Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  });
  return (server.address() as net.AddressInfo).port;
}

/** One line on stderr, nothing else. */
const oneLine = /^[^\n]+\n$/;

for (const backend of ["bun", "node"]) {
  t.test(`bin/client.ts --tls at a plain server that answers in plain text (${backend} backend): "does not speak TLS"`, async (t) => {
    // Answers a ClientHello as our plain server does: one plain line, then the close.
    const port = await fakePlainServer(t, (socket) => socket.end("This server speaks plain TCP, not TLS: connect without --tls\n"));
    for (const trust of [["--ca", cert], ["--insecure"]]) {
      const run = await runClient(["--port", String(port), "--backend", backend, "--tls", ...trust], "hello\n");
      t.equal(run.code, 1, `${trust[0]}: exit 1`);
      t.match(run.stderr, oneLine, `${trust[0]}: one line`);
      t.match(run.stderr, /does not speak TLS.*without --tls/, `${trust[0]}: says the server does not speak TLS, and to drop --tls`);
    }
  });

  t.test(`bin/client.ts --tls at our plain server (${backend} backend): one line naming TLS, exit 1`, async (t) => {
    const server = await startServer();
    t.teardown(() => server.stop());
    // Whatever the server does with a ClientHello (answer in plain text, close, or wait), the client says so in time.
    const run = await runClient(
      ["--port", String(server.port), "--backend", backend, "--tls", "--ca", cert, "--connect-timeout", "5"],
      "hello\n",
    );
    t.equal(run.code, 1);
    t.match(run.stderr, oneLine);
    t.match(run.stderr, /^client: cannot connect to 127\.0\.0\.1:\d+: .*TLS.*without --tls/);
  });

  t.test(`bin/client.ts --tls at a server that never answers the handshake (${backend} backend): --connect-timeout`, async (t) => {
    const port = await fakePlainServer(t, null);
    const run = await runClient(["--port", String(port), "--backend", backend, "--tls", "--insecure", "--connect-timeout", "0.5"], "");
    t.equal(run.code, 1);
    t.equal(
      run.stderr,
      `client: cannot connect to 127.0.0.1:${port}: no TLS handshake within 0.5 s: if the server does not speak TLS, connect without --tls\n`,
    );
  });

  t.test(`a plain bin/client.ts at a TLS server (${backend} backend) says the server speaks TLS and exits 1`, async (t) => {
    const server = await startServer(["--tls-cert", cert, "--tls-key", key]);
    t.teardown(() => server.stop());
    // From a pipe: the line, then end of input (q), and the server's alert to them.
    const piped = await runClient(["--port", String(server.port), "--backend", backend], "hello over plain TCP\n");
    t.equal(piped.code, 1, "piped: exit 1, not 0");
    t.match(piped.stderr, oneLine, "piped: one line");
    t.match(piped.stderr, /speaks TLS.*connect with --tls/, "piped: names TLS and --tls");

    // Typed, input still open: the first line sent already gets the answer.
    const typed = spawn(bunPath, ["bin/client.ts", "--port", String(server.port), "--backend", backend], { cwd: root });
    t.teardown(() => typed.kill("SIGKILL"));
    let stderr = "";
    typed.stderr.on("data", (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => typed.on("close", (code) => resolve(code)));
    typed.stdin.write("hello, anyone?\n");
    t.equal(await exited, 1, "typed: exit 1 without end of input");
    t.match(stderr, /speaks TLS.*connect with --tls/, "typed: names TLS and --tls");
  });
}

t.test("bin/client.ts --tls at a self-signed server without --ca: the error says how to trust it", async (t) => {
  const server = await startServer(["--tls-cert", cert, "--tls-key", key]);
  t.teardown(() => server.stop());
  const run = await runClient(["--port", String(server.port), "--tls"], "");
  t.equal(run.code, 1);
  t.match(run.stderr, /^client: cannot connect to 127\.0\.0\.1:\d+: .*SELF_SIGNED.*--ca FILE.*--insecure.*\n$/);
});
