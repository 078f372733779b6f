// TLS on both backends: the server with --tls-cert/--tls-key, clients with
// node:tls and with bin/client.ts --tls --ca / --insecure. The certificate
// is made for the test with the system's openssl, in a temp dir.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import t from "tap";
import { bunPath, root, startServer } from "../support/bun.ts";
import { readFileSync } from "node:fs";

const dir = mkdtempSync(path.join(os.tmpdir(), "chat-tls-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const cert = path.join(dir, "cert.pem");
const key = path.join(dir, "key.pem");
execFileSync("openssl", [
  "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
  "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
  "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
], { stdio: "ignore" });
const ca = readFileSync(cert, "utf8");

/** A node:tls client that collects what it receives. */
function tlsClient(port: number): Promise<{ socket: tls.TLSSocket; text: () => string; waitFor: (s: string) => Promise<void> }> {
  return new Promise((resolve, reject) => {
    let text = "";
    const waiters: Array<() => void> = [];
    const socket = tls.connect({ host: "127.0.0.1", port, ca }, () =>
      resolve({
        socket,
        text: () => text,
        waitFor: (s) =>
          new Promise<void>((res, rej) => {
            const timer = setTimeout(() => rej(new Error(`timed out waiting for ${s}; got ${text}`)), 10_000);
            const check = () => {
              if (text.includes(s)) {
                clearTimeout(timer);
                res();
              } else waiters.push(check);
            };
            check();
          }),
      }),
    );
    socket.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      for (const w of waiters.splice(0)) w();
    });
    socket.once("error", reject);
  });
}

/** Run bin/client.ts with `input` on stdin; resolves with its output once it exits. */
function runClient(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(bunPath, ["bin/client.ts", ...args], { cwd: root });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

for (const backend of ["bun", "node"]) {
  t.test(`TLS server, ${backend} backend`, async (t) => {
    const server = await startServer(["--backend", backend, "--tls-cert", cert, "--tls-key", key]);
    t.teardown(() => server.stop());
    t.match(server.output(), /, TLS\)/, "start line says TLS");

    const a = await tlsClient(server.port);
    const b = await tlsClient(server.port);
    await server.waitFor(`Client (127.0.0.1, ${b.socket.localPort}) connected`);
    a.socket.write("over tls\n");
    await b.waitFor(`<127.0.0.1:${a.socket.localPort}> over tls\n`);
    t.pass("node:tls clients chat through it");

    for (const clientBackend of ["bun", "node"]) {
      const viaCa = await runClient(["--port", String(server.port), "--backend", clientBackend, "--tls", "--ca", cert], "hello from the client\n");
      t.equal(viaCa.code, 0, `bin/client.ts --tls --ca (${clientBackend}) exits 0`, { stderr: viaCa.stderr });
      await b.waitFor("> hello from the client\n");
      const insecure = await runClient(["--port", String(server.port), "--backend", clientBackend, "--tls", "--insecure"], "q\n");
      t.equal(insecure.code, 0, `bin/client.ts --tls --insecure (${clientBackend}) exits 0`, { stderr: insecure.stderr });
      const untrusted = await runClient(["--port", String(server.port), "--backend", clientBackend, "--tls"], "q\n");
      t.equal(untrusted.code, 1, `a self-signed server without --ca is refused (${clientBackend})`);
      t.match(untrusted.stderr, /^client: cannot connect to 127\.0\.0\.1:\d+: .+\n$/, "with a one-line message");
    }

    // A plain-TCP client speaking to the TLS port fails alone, unannounced.
    const net = await import("node:net");
    const plain = net.connect({ host: "127.0.0.1", port: server.port });
    plain.on("error", () => {});
    plain.resume(); // read, so that the server's close is seen
    plain.write("not a handshake\n");
    await new Promise((r) => plain.once("close", r));
    a.socket.write("still fine\n");
    await b.waitFor(`<127.0.0.1:${a.socket.localPort}> still fine\n`);
    t.notOk(b.text().includes(`(127.0.0.1, ${plain.localPort})`), "the plain client was never announced");
    a.socket.destroy();
    b.socket.destroy();
  });
}

t.test("flag errors are one line", async (t) => {
  const r = await runClient(["--insecure"], "");
  t.equal(r.code, 2);
  t.match(r.stderr, /^client: --ca and --insecure only apply with --tls\n/);
});
