// The --metrics status page in a real browser: headless Chromium loads `/`,
// runs its script, and the client count it shows follows the server's.
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import t from "tap";
import { LineClient } from "../support/line-client.ts";
import { startServer } from "../support/bun.ts";

const chromium = ["chromium", "chromium-browser"].find((c) => spawnSync(c, ["--version"]).status === 0);
if (!chromium) t.plan(0, "chromium is not installed (apt-get install chromium); the status page cannot be checked in a browser");

/** Run headless Chromium once on `url` with a fresh profile; resolves to its stdout. */
function browse(url: string, extra: string[]): Promise<string> {
  const profile = mkdtempSync(path.join(tmpdir(), "select-chat-chromium-"));
  const args = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    `--user-data-dir=${profile}`,
    // Virtual time runs the page's timers until the budget is spent, then the DOM is taken.
    "--virtual-time-budget=2000",
    ...extra,
    url,
  ];
  return new Promise((resolve, reject) => {
    execFile(chromium!, args, { timeout: 60_000, maxBuffer: 1 << 22 }, (err, stdout, stderr) => {
      rmSync(profile, { recursive: true, force: true });
      if (err) reject(new Error(`chromium failed: ${err.message}\n${stderr.slice(-2000)}`));
      else resolve(stdout);
    });
  });
}

/** The text of the page's `#clients` cell in a dumped DOM. */
const clientsShown = (dom: string) => /id="clients">([^<]*)</.exec(dom)?.[1];

t.test("the status page shows the live client count", async (t) => {
  const server = await startServer(["--metrics", "127.0.0.1:0"]);
  t.teardown(() => server.stop());
  await server.waitFor(/status page on (http:\S+)/);
  const page = /status page on (http:\S+)/.exec(server.output())![1]!;

  const before = await browse(page, ["--dump-dom"]);
  t.equal(clientsShown(before), "0", "no clients yet");
  t.match(before, /id="state">updated /, "the page fetched the figures itself");

  const a = await LineClient.connect(server.port);
  const b = await LineClient.connect(server.port);
  await a.waitFor(`Client ${b.addr} connected\n`);
  const after = await browse(page, ["--dump-dom"]);
  t.equal(clientsShown(after), "2", "the page follows clients connecting");

  const shot = path.join(mkdtempSync(path.join(tmpdir(), "select-chat-shot-")), "status.png");
  t.teardown(() => rmSync(path.dirname(shot), { recursive: true, force: true }));
  await browse(page, [`--screenshot=${shot}`, "--window-size=640,480"]);
  const png = readFileSync(shot);
  t.equal(png.subarray(1, 4).toString("latin1"), "PNG", "a PNG screenshot");
  t.same([png.readUInt32BE(16), png.readUInt32BE(20)], [640, 480], "of the window size asked for");
  a.end();
  b.end();
});
