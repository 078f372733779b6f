// TLS on both backends: the server with --tls-cert/--tls-key, clients with
// node:tls and with bin/client.ts --tls --ca / --insecure. The certificate
// is made for the test with the system's openssl, in a temp dir.
import * as net from "node:net";
import * as tls from "node:tls";
import t from "tap";
import { runBun, startServer } from "../support/bun.ts";
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
