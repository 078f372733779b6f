// The web gateway's HTTP side (lib/web/gateway.ts) and its flags: the page
// and its headers, what /ws refuses and how (one line each, and nothing
// else affected), https/wss with --tls-cert, --web-origin, the web-client
// figures in --metrics, and the errors of --web where it cannot run.
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import t, { type Test } from "tap";
import {
  CONTENT_SECURITY_POLICY,
  contentTypeOf,
  loadPage,
  OriginError,
  PAGE_DIR,
  parseOrigin,
  startGateway,
  upgradeProblem,
  WebGatewayError,
} from "../../lib/web/gateway.ts";
import { jsonLines, runBun } from "../support/bun.ts";
import { LineClient } from "../support/line-client.ts";
import { makeCertificate } from "../support/tls.ts";
import { type HttpAnswer, WsClient } from "../support/ws-client.ts";
import { startWebServer, type WebServer } from "./support/web.ts";

t.test("origins, content types, the page's files, upgrade checks (units)", async (t) => {
  t.equal(parseOrigin("https://chat.example.com"), "https://chat.example.com");
  t.equal(parseOrigin("http://Chat.Example.com:80/"), "http://chat.example.com", "as browsers send it: lower case, no default port");
  t.equal(parseOrigin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
  for (const bad of ["chat.example.com", "ftp://x", "https://x/chat", "https://x?y", "https://u@x"]) {
    t.throws(() => parseOrigin(bad), OriginError, `${bad} is refused`);
  }
  t.equal(contentTypeOf("index.html"), "text/html; charset=utf-8");
  t.equal(contentTypeOf("app.js"), "text/javascript; charset=utf-8");
  t.equal(contentTypeOf("style.CSS"), "text/css; charset=utf-8");
  t.equal(contentTypeOf("icon.svg"), "image/svg+xml");
  t.equal(contentTypeOf("blob.bin"), "application/octet-stream");

  const dir = mkdtempSync(path.join(os.tmpdir(), "gateway-page-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, "index.html"), "<!doctype html>");
  writeFileSync(path.join(dir, "app.js"), "1");
  writeFileSync(path.join(dir, ".secret"), "no");
  mkdirSync(path.join(dir, "img"));
  writeFileSync(path.join(dir, "img", "a.png"), "png");
  mkdirSync(path.join(dir, ".git"));
  writeFileSync(path.join(dir, ".git", "config"), "no");
  const page = loadPage(dir);
  t.same([...page.keys()].sort(), ["/app.js", "/img/a.png", "/index.html"], "every file by its path, dot files left out");
  t.equal(page.get("/img/a.png")?.type, "image/png");
  rmSync(path.join(dir, "index.html"));
  t.throws(() => loadPage(dir), { name: "WebGatewayError", message: /index\.html is missing/ });
  t.throws(() => loadPage(path.join(dir, "nope")), { name: "WebGatewayError", message: /^cannot read the web page in / });

  const req = (headers: Record<string, string>, method = "GET") => new Request("http://127.0.0.1/ws", { method, headers });
  const good = {
    upgrade: "websocket",
    connection: "keep-alive, Upgrade",
    "sec-websocket-version": "13",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  };
  t.equal(upgradeProblem(req(good)), null, "a browser's handshake passes");
  t.match(upgradeProblem(req({ ...good, upgrade: "h2c" })), { status: 400, reason: /Upgrade: websocket/ });
  t.match(upgradeProblem(req({ ...good, connection: "keep-alive" })), { status: 400, reason: /Connection/ });
  t.match(upgradeProblem(req({ ...good, "sec-websocket-version": "8" })), {
    status: 400,
    reason: 'unsupported WebSocket version "8": this server speaks 13',
    headers: { "sec-websocket-version": "13" },
  });
  t.match(upgradeProblem(req({ ...good, "sec-websocket-key": "short" })), { status: 400, reason: /Sec-WebSocket-Key/ });
  t.match(upgradeProblem(req(good, "POST")), { status: 405 });
});

t.test("outside Bun the gateway says it needs Bun", async (t) => {
  t.throws(() => startGateway({ host: "127.0.0.1", port: 0, maxLine: 100 }), WebGatewayError);
  t.throws(() => startGateway({ host: "127.0.0.1", port: 0, maxLine: 100 }), { message: /needs the Bun runtime/ });
});

/** A raw HTTP/1.1 request, path as is (no normalising): status and body. */
function rawGet(port: number, target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
    let got = "";
    socket.on("data", (d) => (got += d));
    socket.on("close", () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(got)?.[1]), body: got.split("\r\n\r\n")[1] ?? "" }));
    socket.on("error", reject);
  });
}

t.test("the page: every file of lib/web/page with its type, a strict CSP; nothing else", async (t) => {
  const server = await startWebServer();
  t.teardown(() => server.stop());
  const res = await fetch(server.pageUrl);
  t.equal(res.status, 200);
  t.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  t.equal(res.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY, "the CSP: no inline script, nothing from elsewhere");
  t.match(CONTENT_SECURITY_POLICY, /default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'/);
  t.equal(res.headers.get("x-content-type-options"), "nosniff");
  t.equal(res.headers.get("x-frame-options"), "DENY");
  const html = await res.text();
  t.equal(html, readFileSync(path.join(PAGE_DIR, "index.html"), "utf8"), "/ is index.html");
  // What the CSP would refuse (the browser test would see the refusal as a console error): none of it.
  t.notMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, "no inline script");
  t.notMatch(html, /<style|\sstyle=|\son[a-z]+=/i, "no inline style, no event-handler attribute");
  t.notMatch(html, /(?:src|href)="(?:https?:)?\/\//i, "nothing from elsewhere");
  for (const name of readdirSync(PAGE_DIR)) {
    if (name.startsWith(".")) continue;
    const file = await fetch(server.pageUrl + name);
    t.equal(file.status, 200, `/${name} is served`);
    t.equal(file.headers.get("content-type"), contentTypeOf(name), `/${name} as ${contentTypeOf(name)}`);
    t.equal(file.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
    t.same(Buffer.from(await file.arrayBuffer()), readFileSync(path.join(PAGE_DIR, name)));
  }
  const names = await fetch(`${server.pageUrl}colours.js`);
  t.equal(names.headers.get("content-type"), "text/javascript; charset=utf-8");
  const js = await names.text();
  t.match(js, /export function colorFor\(name\)/, "/colours.js: lib/chat/colours.ts as JavaScript, for the page's name colours");
  t.notMatch(js, /: number|: string|readonly /, "its types are gone");
  for (const target of [
    "/../bin/server.ts",
    "/..%2fbin%2fserver.ts",
    "/%2e%2e/%2e%2e/package.json",
    "/bin/server.ts",
    "/page/index.html",
  ]) {
    const got = await rawGet(server.webPort, target);
    t.equal(got.status, 404, `${target}: not found`);
    t.equal(got.body, "not found\n");
  }
  const post = await fetch(server.pageUrl, { method: "POST", body: "x" });
  t.equal(post.status, 405);
  t.equal(post.headers.get("allow"), "GET, HEAD");
  const head = await fetch(server.pageUrl, { method: "HEAD" });
  t.equal(head.status, 200);
});

/** A TCP client and a web client in the room: `check()` proves they still chat with each other. */
async function pair(t: Test, server: WebServer) {
  const tcp = await LineClient.connect(server.port);
  const web = await WsClient.open({ port: server.webPort, origin: server.origin });
  await tcp.waitFor(`Client ${web.addr} connected\n`);
  let n = 0;
  return {
    tcp,
    web,
    async check(what: string) {
      n++;
      tcp.send(`from tcp ${n}\n`);
      web.send(`from web ${n}`);
      await web.waitText(`from tcp ${n}`);
      await tcp.waitFor(`<127.0.0.1:${web.port}> from web ${n}\n`);
      t.pass(`${what}: the others still chat`);
    },
  };
}

/** The answer was a one-line refusal with this status. */
function refused(t: Test, got: WsClient | HttpAnswer, status: number, reason: RegExp): void {
  if (got instanceof WsClient) {
    t.fail(`expected ${status}, got an open WebSocket`);
    got.reset();
    return;
  }
  t.equal(got.status, status, `${status}: ${got.body.trim()}`);
  t.match(got.body, reason);
  t.match(got.body, /^[^\n]+\n$/, "one line");
}

t.test("refusals at /ws: one clear answer each, nobody else affected", async (t) => {
  const server = await startWebServer([
    "--web-origin",
    "https://one.example, https://two.example:8443",
    "--web-origin",
    "http://three.example",
  ]);
  t.teardown(() => server.stop());
  const { tcp, web, check } = await pair(t, server);
  const ws = (o: Partial<Parameters<typeof WsClient.handshake>[0]>) => WsClient.handshake({ port: server.webPort, ...o });

  const plain = await fetch(server.wsUrl.replace("ws:", "http:"));
  t.equal(plain.status, 400, "a plain GET of /ws");
  t.equal(await plain.text(), 'not a WebSocket upgrade: /ws needs an "Upgrade: websocket" header\n');
  refused(t, await ws({ headers: { Connection: "keep-alive" } }), 400, /"Connection" header must include "Upgrade"/);
  const version = await ws({ headers: { "Sec-WebSocket-Version": "8" } });
  refused(t, version, 400, /unsupported WebSocket version "8": this server speaks 13/);
  t.equal((version as HttpAnswer).headers["sec-websocket-version"], "13", "and says which version it speaks");
  refused(t, await ws({ headers: { "Sec-WebSocket-Key": null } }), 400, /Sec-WebSocket-Key/);
  refused(t, await ws({ origin: "http://evil.example" }), 403, /^a page from http:\/\/evil\.example may not open \/ws here/);
  refused(t, await ws({ origin: "null" }), 403, /a page from null/);
  refused(t, await ws({ origin: `http://localhost:${server.webPort}` }), 403, /localhost/);
  await check("after the refused upgrades");

  for (const origin of [server.origin, "https://one.example", "https://two.example:8443", "http://three.example", undefined]) {
    const ok = await WsClient.open({ port: server.webPort, ...(origin ? { origin } : {}) });
    await tcp.waitFor(`Client ${ok.addr} connected\n`);
    t.pass(`origin ${origin ?? "(none: not a browser)"} is let in`);
    ok.close();
    await tcp.waitFor(`Client ${ok.addr} is offline\n`);
  }

  const binary = await WsClient.open({ port: server.webPort });
  await tcp.waitFor(`Client ${binary.addr} connected\n`);
  binary.sendFrame(0x2, Buffer.from("hi\n"));
  await binary.waitClosed();
  t.same(binary.closeFrame, { code: 1003, reason: "binary frames are not accepted" }, "a binary frame: closed with 1003 and why");
  await tcp.waitFor(`Client ${binary.addr} is offline\n`);
  t.notMatch(tcp.received, /> hi\n/, "nothing of it reached the room");
  await check("after a binary frame");

  const garbage = await WsClient.open({ port: server.webPort });
  await tcp.waitFor(`Client ${garbage.addr} connected\n`);
  garbage.sendRaw(Buffer.from("this is not a WebSocket frame\r\n"));
  await garbage.waitClosed();
  t.equal(garbage.closeFrame?.code, 1002, `malformed frames: closed with 1002 (${garbage.closeFrame?.reason})`);
  await tcp.waitFor(`Client ${garbage.addr} is offline\n`);
  await check("after malformed frames");

  const latin1 = await WsClient.open({ port: server.webPort });
  await tcp.waitFor(`Client ${latin1.addr} connected\n`);
  latin1.sendFrame(0x1, Buffer.from([0x63, 0x61, 0x66, 0xe9]));
  await latin1.waitClosed();
  t.equal(latin1.closeFrame?.code, 1007, `a text frame that is not UTF-8: closed with 1007 (${latin1.closeFrame?.reason})`);
  await tcp.waitFor(`Client ${latin1.addr} is offline\n`);
  await check("after a frame that is not UTF-8");

  const joined = tcp.received.match(/ connected\n/g)?.length;
  t.equal(joined, 1 + 5 + 3, "only the upgrades let in ever joined the room");
  web.close();
  tcp.end();
});

t.test("--tls-cert/--tls-key: https and wss with the same certificate", async (t) => {
  const certificate = makeCertificate();
  t.teardown(() => certificate.remove());
  const server = await startWebServer(["--tls-cert", certificate.cert, "--tls-key", certificate.key]);
  t.teardown(() => server.stop());
  t.match(server.pageUrl, /^https:\/\/127\.0\.0\.1:\d+\/$/);
  t.match(server.wsUrl, /^wss:\/\/127\.0\.0\.1:\d+\/ws$/);
  const page = await new Promise<{ status: number; csp: string | undefined }>((resolve, reject) =>
    https
      .get(server.pageUrl, { ca: certificate.ca }, (res) => {
        res.resume();
        resolve({ status: res.statusCode!, csp: res.headers["content-security-policy"] as string | undefined });
      })
      .on("error", reject),
  );
  t.equal(page.status, 200, "the page over https, verified against the certificate");
  t.equal(page.csp, CONTENT_SECURITY_POLICY);

  const web = await WsClient.open({ port: server.webPort, origin: server.origin, tls: { ca: certificate.ca } });
  const other = await WsClient.open({ port: server.webPort, origin: server.origin, tls: { ca: certificate.ca } });
  await web.waitText(`Client ${other.addr} connected`);
  other.send("over wss");
  await web.waitText("over wss");
  t.pass("wss: two web clients chat");
  const caFile = path.join(mkdtempSync(path.join(os.tmpdir(), "gateway-ca-")), "ca.pem");
  writeFileSync(caFile, certificate.ca);
  t.teardown(() => rmSync(path.dirname(caFile), { recursive: true, force: true }));
  const bun = await runBun(["spec/web/support/bun-ws-client.ts", server.wsUrl, "--ca", caFile, "hello from Bun over wss"], {
    timeoutMs: 20_000,
  });
  t.equal(bun.code, 0, bun.stderr);
  await web.waitText("hello from Bun over wss");
  t.pass("Bun's own WebSocket client, verifying the certificate, is in the room too");
  web.close();
  other.close();
});

t.test("Bun's WebSocket client and a TCP client chat", async (t) => {
  const server = await startWebServer();
  t.teardown(() => server.stop());
  const tcp = await LineClient.connect(server.port);
  const bun = runBun(["spec/web/support/bun-ws-client.ts", server.wsUrl, "/nick bunny", "hello from Bun"], { timeoutMs: 20_000 });
  await tcp.waitFor("<bunny> hello from Bun\n");
  const { code, stdout } = await bun;
  t.equal(code, 0);
  const events = jsonLines(stdout);
  t.match(events[0], { k: "presence", names: [`127.0.0.1:${tcp.port}`] });
  t.match(
    events.filter((e) => e.k !== "presence"),
    [
      { k: "reply", x: "You are now bunny" },
      { k: "nick", s: /^127\.0\.0\.1:\d+$/, to: "bunny" },
      { k: "line", s: "bunny", x: "hello from Bun" },
    ],
  );
  tcp.end();
});

t.test("--metrics counts web clients apart", async (t) => {
  const server = await startWebServer(["--metrics", "127.0.0.1:0"]);
  t.teardown(() => server.stop());
  await server.waitFor(/Metrics on (http:\S+)metrics/);
  const base = /Metrics on (http:\S+)metrics/.exec(server.output())![1]!;
  const tcp = await LineClient.connect(server.port);
  const web = await WsClient.open({ port: server.webPort });
  await tcp.waitFor(`Client ${web.addr} connected\n`);
  const metrics = await (await fetch(`${base}metrics`)).text();
  t.match(metrics, /^# TYPE chat_web_clients gauge$/m);
  t.match(metrics, /^chat_clients 2$/m);
  t.match(metrics, /^chat_web_clients 1$/m);
  t.match(metrics, /^chat_descriptors_used 3$/m, "the WebSocket holds a descriptor, like the TCP client and the scrape");
  const json = (await (await fetch(`${base}stats.json`)).json()) as { clients: number; webClients: number };
  t.same([json.clients, json.webClients], [2, 1]);
  t.match(await (await fetch(base)).text(), /id="webClients"/, "the status page shows them");
  web.close();
  await tcp.waitFor(`Client ${web.addr} is offline\n`);
  t.match(await (await fetch(`${base}metrics`)).text(), /^chat_web_clients 0$/m);
  tcp.end();
});

t.test("--web where it cannot run, and bad --web flags: one line each", async (t) => {
  const server = (args: string[]) => runBun(["bin/server.ts", "--port", "0", ...args], { timeoutMs: 20_000 });
  const nodeBackend = await server(["--web", "127.0.0.1:0", "--backend", "node"]);
  t.equal(nodeBackend.code, 2);
  t.equal(nodeBackend.stderr, "server: --web needs --backend bun (its WebSockets come from Bun.serve) (see --help)\n");
  const badOrigin = await server(["--web", "127.0.0.1:0", "--web-origin", "example.com"]);
  t.equal(badOrigin.code, 2);
  t.equal(badOrigin.stderr, 'server: --web-origin: "example.com" is not an origin (like https://chat.example.com:8443) (see --help)\n');
  const alone = await server(["--web-origin", "https://example.com"]);
  t.equal(alone.code, 2);
  t.equal(alone.stderr, "server: --web-origin goes with --web (see --help)\n");
  const badAt = await server(["--web", "8080"]);
  t.equal(badAt.code, 2);
  t.match(badAt.stderr, /^server: --web: must be HOST:PORT, e\.g\. 127\.0\.0\.1:8080 \(see --help\)\n$/);

  const taken = net.createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => taken.once("listening", resolve));
  t.teardown(() => taken.close());
  const port = (taken.address() as net.AddressInfo).port;
  const busy = await server(["--web", `127.0.0.1:${port}`]);
  t.equal(busy.code, 1);
  t.match(busy.stderr, new RegExp(`^server: --web: cannot listen on 127\\.0\\.0\\.1:${port}: .+\\n$`));

  // Held by another chat server: Bun.serve must not share the port with it (SO_REUSEPORT).
  const first = await startWebServer();
  t.teardown(() => first.stop());
  const second = await server(["--web", `127.0.0.1:${first.webPort}`]);
  t.equal(second.code, 1, "a second server on the same --web port stops");
  t.equal(
    second.stderr,
    `server: --web: cannot listen on 127.0.0.1:${first.webPort}: address already in use ` +
      "(is another server running there? stop it, or choose another address with --web HOST:PORT)\n",
  );
});

t.test("shutdown: web clients hear the server go and are closed with 1001 (going away)", async (t) => {
  const server = await startWebServer();
  t.teardown(() => server.stop());
  const web = await WsClient.open({ port: server.webPort, origin: server.origin });
  const tcp = await LineClient.connect(server.port);
  await web.waitText(`Client (127.0.0.1, ${tcp.port}) connected`);
  server.child.kill("SIGTERM");
  await web.waitClosed();
  t.match(
    web.events.filter((e) => e.k === "notice").map((e) => e.x),
    ["Server is shutting down"],
    "the shutdown notice, as an event",
  );
  t.same(web.closeFrame, { code: 1001, reason: "server shutting down" });
  await tcp.waitClosed();
  t.equal((await server.exited).code, 0);
  // "exit" may come before the last of stdout is read: wait for its end.
  const stdout = server.child.stdout!;
  if (!stdout.readableEnded) await once(stdout, "end");
  t.match(server.output(), /Server stopped\n$/);
});
