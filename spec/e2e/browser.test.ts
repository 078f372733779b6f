// The web page in a real headless Chromium (the system's `chromium`,
// driven by playwright-core), against the real server with --web: two
// pages and a TCP client in one room; the XSS line shown as text; a
// cross-origin upgrade refused; a server restart the page rides out by
// itself, then shows what was said while it was away; a second room
// joined from the page (each room's lines in its own view, unread marks,
// member counts), private messages in views of their own, and a restart
// after which the page resumes both rooms. Every wait is for
// something to appear (Playwright's locators re-check on each DOM change),
// never a sleep. Screenshots go to tmp/artifacts/ (or $ARTIFACTS_DIR).
import { mkdtempSync, rmSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import t from "tap";
import { colorFor, cssColor } from "../../lib/chat/colours.ts";
import { type ServerProcess, startServer } from "../support/bun.ts";
import { artifactPath, chromiumMissing, DESKTOP, launchChromium, openPage, PHONE, type WatchedPage } from "../support/browser.ts";
import { LineClient } from "../support/line-client.ts";

// The browser's globals, for the functions this test runs in the page (the project's TypeScript has no DOM library).
declare const getComputedStyle: (element: unknown) => { color: string; display: string };
declare const document: { documentElement: { scrollWidth: number } };

const missing = chromiumMissing();
if (missing) t.plan(0, missing);
else await run();

/** `#rrggbb` as getComputedStyle reports colours. */
function rgb(hex: string): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgb(${n >> 16}, ${(n >> 8) & 255}, ${n & 255})`;
}

/** HTML-escaped text. */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * One picture of the room: the desktop page, the phone page, and the last
 * lines a TCP client (`nc`) received, each under a caption.
 */
function overviewHtml(wide: Buffer, phone: Buffer, tcpReceived: string, tcpPort: number): string {
  const png = (b: Buffer) => `data:image/png;base64,${b.toString("base64")}`;
  const lines = tcpReceived.trimEnd().split("\n").slice(-8);
  return `<!doctype html><meta charset="utf-8"><style>
    body { margin: 0; background: #d8dce3; font: 13px system-ui, sans-serif; }
    #sheet { display: inline-grid; grid-template-columns: ${DESKTOP.width}px ${PHONE.width}px; gap: 16px; padding: 16px; }
    figure { margin: 0; } figcaption { color: #333; margin: 0 0 4px; }
    img { display: block; border: 1px solid #aab; }
    .left { display: grid; gap: 12px; align-content: start; }
    pre { margin: 0; padding: 8px 10px; background: #1d1f21; color: #d0d0d0; border: 1px solid #aab;
          font: 13px/1.4 ui-monospace, monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
  </style><div id="sheet">
    <div class="left">
      <figure><figcaption>A browser (alice)</figcaption><img src="${png(wide)}" width="${DESKTOP.width}"></figure>
      <figure><figcaption>A TCP client: nc 127.0.0.1 ${tcpPort} (carol)</figcaption><pre>${escapeHtml(lines.join("\n"))}</pre></figure>
    </div>
    <figure><figcaption>A phone-sized browser (bob)</figcaption><img src="${png(phone)}" width="${PHONE.width}"></figure>
  </div>`;
}

/** The address line of `Web page on http://HOST:PORT/ ...` the server prints. */
function webUrlOf(server: ServerProcess): string {
  const m = /Web page on (http\S+)/.exec(server.output());
  if (!m) throw new Error(`the server printed no web address: ${server.output()}`);
  return m[1]!;
}

async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "browser-test-"));
  const db = path.join(dir, "history.db");
  const serverArgs = (tcpPort: number, webPort: number) => ["--port", String(tcpPort), "--web", `127.0.0.1:${webPort}`, "--history-db", db];
  let server = await startServer(serverArgs(0, 0));
  const url = webUrlOf(server);
  const tcpPort = server.port;
  const webPort = Number(new URL(url).port);
  const browser = await launchChromium();
  const clients: LineClient[] = [];
  t.teardown(async () => {
    for (const c of clients) c.reset();
    await browser.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = async (viewport = DESKTOP): Promise<WatchedPage & { self: string }> => {
    const watched = await openPage(browser, url, viewport);
    watched.page.setDefaultTimeout(15_000);
    await watched.page.locator("#state[data-state=connected]").waitFor();
    // Its own entry in the member list, once presence has come: the name others see.
    const self = await watched.page.locator("#member-list li", { hasText: "(you)" }).locator(".name").textContent();
    return { ...watched, self: self! };
  };
  /** The log's item that contains `text`. */
  const entry = (w: WatchedPage, text: string | RegExp) => w.page.locator("#log li", { hasText: text });
  const type = async (w: WatchedPage, line: string) => {
    await w.page.locator("#line").fill(line);
    await w.page.locator("#line").press("Enter");
  };
  const tcp = async () => {
    const c = await LineClient.connect(tcpPort);
    clients.push(c);
    await c.joined();
    return c;
  };
  /** A TCP client named `nick`, in `room` if given (else the default room). */
  const named = async (nick: string, room?: string) => {
    const c = await tcp();
    c.send(`/nick ${nick}\n`);
    await c.waitFor(`You are now ${nick}\n`);
    if (room) {
      c.send(`/join ${room}\n`);
      await c.waitFor(`You are now in ${room}\n`);
    }
    return c;
  };
  /** Until what `c` said before is in its room's log: the answer to a /history it asks after it. */
  const recorded = async (c: LineClient) => {
    const ends = (r: string) => r.split("[history end]").length - 1;
    const n = ends(c.received);
    c.send("/history 1\n");
    await c.waitUntil((r) => ends(r) > n, "its /history answer");
  };
  /** The log of a room's view, of a conversation's, and a room's item in the room list. */
  const roomLog = (w: WatchedPage, room: string) => w.page.locator(`#log ol[data-room="${room}"]`);
  const peerLog = (w: WatchedPage, peer: string) => w.page.locator(`#log ol[data-peer="${peer}"]`);
  const roomItem = (w: WatchedPage, room: string) => w.page.locator(`#room-list li[data-room="${room}"]`);

  const a = await open(DESKTOP);
  const b = await open(PHONE);
  let carol: LineClient;
  /** TCP clients of the rooms part: erin in #rust, frank in #chat. */
  let erin: LineClient;
  let frank: LineClient;

  await t.test("two pages and a TCP client: lines, notices, /nick and /who, each seen by all", async (t) => {
    t.match(a.self, /^127\.0\.0\.1:\d+$/, "a page is named by its address until it picks a name, like a TCP client");
    await entry(a, `Client (127.0.0.1, ${b.self.split(":")[1]}) connected`).waitFor();

    carol = await tcp();
    t.match(carol.presence, a.self, "the TCP client is told the pages are here");
    t.match(carol.presence, b.self);
    const carolAddress = `127.0.0.1:${carol.port}`;
    for (const w of [a, b]) {
      const joined = entry(w, `Client ${carol.addr} connected`);
      await joined.waitFor();
      t.match(await joined.getAttribute("class"), /\bjoin\b/);
      // Attached, not necessarily visible: on the phone the list is folded.
      await w.page.locator("#member-list li", { hasText: carolAddress }).waitFor({ state: "attached" });
    }

    await type(a, "hello from a browser");
    await entry(b, "hello from a browser").waitFor();
    await carol.waitFor(`<${a.self}> hello from a browser\n`);

    carol.send("hello from a terminal\n");
    for (const w of [a, b]) {
      const line = entry(w, "hello from a terminal");
      await line.waitFor();
      t.equal(await line.locator(".name").textContent(), carolAddress);
      t.equal(
        await line.locator(".name").evaluate((e) => getComputedStyle(e).color),
        rgb(cssColor(colorFor(carolAddress))),
        "the sender's name in the colour the terminal client gives it",
      );
      const text = await line.locator(".text").evaluate((e) => getComputedStyle(e).color);
      const notice = await entry(w, `Client ${carol.addr} connected`).evaluate((e) => getComputedStyle(e).color);
      t.not(notice, text, "notices are dimmed, not in the lines' colour");
    }

    // A name from the page's name field, another with /nick in the input, a third over TCP.
    await a.page.locator("#nick").fill("alice");
    await a.page.locator("#nick").press("Enter");
    await carol.waitFor(`Client (127.0.0.1, ${a.self.split(":")[1]}) is now alice\n`);
    await type(b, "/nick bob");
    await carol.waitFor(`Client (127.0.0.1, ${b.self.split(":")[1]}) is now bob\n`);
    carol.send("/nick carol\n");
    await carol.waitFor("You are now carol\n");
    for (const w of [a, b]) {
      const renamed = entry(w, `Client ${carol.addr} is now carol`);
      await renamed.waitFor();
      const look = (e: unknown) => {
        const style = getComputedStyle(e);
        return [style.color, style.display];
      };
      t.same(
        await renamed.evaluate(look),
        await entry(w, `Client ${carol.addr} connected`).evaluate(look),
        "a rename is shown like the other notices",
      );
      await w.page.locator("#member-list li", { hasText: "carol" }).waitFor({ state: "attached" });
      t.same(
        (await w.page.locator("#member-list .name").allTextContents()).sort(),
        ["alice", "bob", "carol"],
        "the member list follows renames",
      );
    }
    t.equal(await a.page.locator("#nick").inputValue(), "alice", "the name field shows the name the server granted");
    t.equal(await b.page.locator("#nick").inputValue(), "bob", "...however it was chosen");
    // The member lists above show the renames: each page has its own rename's entry by now.
    for (const [w, name] of [
      [a, "alice"],
      [b, "bob"],
    ] as const) {
      t.equal(await entry(w, `You are now ${name}`).count(), 1, `${name}'s own rename is said once, to ${name}...`);
      t.equal(await entry(w, `is now ${name}`).count(), 0, "...and not again as the others read it");
    }

    await type(b, "bob here");
    await entry(a, "bob here").locator(".name", { hasText: "bob" }).waitFor();
    await carol.waitFor("<bob> bob here\n");

    await type(b, "/who");
    const who = entry(b, /^\d\d:\d\d Online \(3\): /);
    await who.waitFor();
    // Each name with its address, the asker's marked.
    t.match(await who.textContent(), /bob \(127\.0\.0\.1:\d+\) \(you\)/);
    t.match(await who.textContent(), /alice/);
    t.match(await who.textContent(), /carol/);
    carol.send("/who\n");
    await carol.waitUntil((r) => /Online \(3\): .*carol \(127\.0\.0\.1:\d+\) \(you\)/.test(r), "carol's /who");
    t.match(carol.received, /Online \(3\): [^\n]*alice/);
    t.match(carol.received, /Online \(3\): [^\n]*bob/);

    // Up and Down bring back what was sent, and Down past the newest restores the empty input.
    const input = b.page.locator("#line");
    await input.press("ArrowUp");
    t.equal(await input.inputValue(), "/who");
    await input.press("ArrowUp");
    t.equal(await input.inputValue(), "bob here");
    await input.press("ArrowDown");
    t.equal(await input.inputValue(), "/who");
    await input.press("ArrowDown");
    t.equal(await input.inputValue(), "");
  });

  await t.test("markup in a line is shown as text, from a page and from TCP", async (t) => {
    const xss = "<img src=x onerror=alert(1)>";
    carol.send(`${xss}\n`);
    await type(a, xss);
    await carol.waitFor(`<alice> ${xss}\n`);
    for (const w of [a, b]) {
      await w.page.locator("#log .text").getByText(xss, { exact: true }).nth(1).waitFor();
      t.equal(await w.page.locator("#log img").count(), 0, "no element was made from it");
      // As in the terminal client, a renamed person keeps the colour of the name they came with.
      t.equal(
        await entry(w, xss)
          .locator(".name", { hasText: "carol" })
          .evaluate((e) => getComputedStyle(e).color),
        rgb(cssColor(colorFor(`127.0.0.1:${carol.port}`))),
        "carol's colour is still her address's",
      );
    }
  });

  await t.test("the page on a phone-sized screen", async (t) => {
    const width = await b.page.evaluate(() => document.documentElement.scrollWidth);
    t.ok(width <= PHONE.width, `nothing wider than the screen (${width} px)`);
    t.ok(await b.page.locator("#line").isVisible(), "the input is on screen");
    t.ok(await b.page.locator("#state").isVisible(), "so is the connection's state");
    t.equal(await b.page.locator("#count").textContent(), "3", "who is here, folded into a count");
    await b.page.locator("#members summary").click();
    await b.page.locator("#member-list li", { hasText: "alice" }).waitFor();
  });

  await t.test("screenshots, kept as artifacts", async (t) => {
    await type(a, "/me waves");
    await entry(b, "waves").waitFor();
    await carol.waitFor("* alice waves\n");
    const wide = artifactPath("web.png");
    const phone = artifactPath("web-phone.png");
    const overview = artifactPath("web-overview.png");
    const wideShot = await a.page.screenshot({ path: wide });
    const phoneShot = await b.page.screenshot({ path: phone });
    // The two pages and what the TCP client received, side by side (docs/img/web.png is one of these).
    const sheet = await browser.newPage({ viewport: { width: 100, height: 100 } });
    await sheet.setContent(overviewHtml(wideShot, phoneShot, carol.received, tcpPort));
    await sheet.locator("#sheet").screenshot({ path: overview });
    await sheet.close();
    t.comment(`screenshots: ${wide} ${phone} ${overview}`);
    t.pass("taken");
  });

  await t.test("an upgrade from a page of another origin is refused", async (t) => {
    // Another origin: a page served from another port.
    const other = http.createServer((_, res) => res.end("<!doctype html><title>elsewhere</title>"));
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    t.teardown(() => void other.close());
    const otherOrigin = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    const page = await a.context.newPage();
    await page.goto(otherOrigin);
    const wsUrl = `ws://127.0.0.1:${webPort}/ws`;
    const outcome = await page.evaluate(
      (target) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(target);
          ws.onopen = () => resolve("open");
          ws.onclose = (e) => resolve(`closed ${e.code}`);
        }),
      wsUrl,
    );
    t.equal(outcome, "closed 1006", "the browser could not open it");
    await page.close();

    // What the server answered that browser: 403, with the reason.
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`http://127.0.0.1:${webPort}/ws`, {
        headers: {
          Origin: otherOrigin,
          Connection: "Upgrade",
          Upgrade: "websocket",
          "Sec-WebSocket-Version": "13",
          "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
      });
      req.on("response", (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
      });
      req.on("upgrade", () => reject(new Error("the upgrade was accepted")));
      req.on("error", reject);
      req.end();
    });
    t.equal(answer.status, 403);
    t.match(answer.body, otherOrigin, "the refusal names the origin");
    t.ok(await a.page.locator("#state[data-state=connected]").isVisible(), "the page on the server's own origin is still connected");
  });

  await t.test("after a server restart the pages reconnect by themselves and show what was said meanwhile", async (t) => {
    const before = await roomLog(a, "#chat").locator("li[data-id]").count();
    server.child.kill("SIGTERM");
    await server.exited;
    for (const w of [a, b]) await w.page.locator("#state:not([data-state=connected])").waitFor();
    // Page a stays away while the server is back and someone speaks: the browser is offline.
    await a.context.setOffline(true);
    server = await startServer(serverArgs(tcpPort, webPort));

    // Page b was never held back: it comes back on its own, and takes its name again.
    await b.page.locator("#state[data-state=connected]").waitFor();
    await b.page.locator("#member-list li", { hasText: "(you)" }).locator(".name", { hasText: "bob" }).waitFor({ state: "attached" });
    const dave = await tcp();
    dave.send("said while you were away\n");
    await entry(b, "said while you were away").waitFor();

    await a.context.setOffline(false);
    await a.page.locator("#state[data-state=connected]").waitFor();
    const missed = entry(a, "said while you were away");
    await missed.waitFor();
    t.equal(await missed.count(), 1, "shown once");
    t.match(await missed.getAttribute("class"), /\breplayed\b/, "from the resume, not live");
    await a.page.locator("#log .note", { hasText: /^\d\d:\d\d Back: \d+ entr/ }).waitFor();
    await a.page.locator("#member-list li", { hasText: "(you)" }).locator(".name", { hasText: "alice" }).waitFor();

    // No gap, no duplicate: the ids page a shows count up by one.
    const ids = await roomLog(a, "#chat")
      .locator("li[data-id]")
      .evaluateAll((items) => items.map((e) => e.getAttribute("data-id")!));
    t.ok(ids.length > before, "more than before the restart");
    const epochs = new Set(ids.map((id) => id.split(":")[0]));
    t.equal(epochs.size, 1, "one log across the restart (--history-db)");
    const seqs = ids.map((id) => Number(id.split(":")[1]));
    t.same(
      seqs,
      seqs.map((_, i) => seqs[0]! + i),
      "consecutive ids",
    );

    // The page and the TCP client are in one room again.
    await type(a, "back again");
    await dave.waitFor("<alice> back again\n");
    dave.send("/quit\n");
    const left = entry(a, `Client ${dave.addr} quits`);
    await left.waitFor();
    t.match(await left.getAttribute("class"), /\bleave\b/);
    t.not(
      await left.evaluate((e) => getComputedStyle(e).color),
      await entry(a, "back again")
        .locator(".text")
        .evaluate((e) => getComputedStyle(e).color),
      "leaves are dimmed too",
    );
    await a.page.locator("#member-list li", { hasText: `127.0.0.1:${dave.port}` }).waitFor({ state: "detached" });
  });

  await t.test(
    "rooms: a second room joined from the page, each room's lines in its own view, unread marks, private messages",
    async (t) => {
      // Two TCP clients, one in each room.
      erin = await named("erin", "#rust");
      frank = await named("frank");
      await a.page.locator("#member-list li", { hasText: "frank" }).waitFor();

      await a.page.locator("#join-room").fill("rust");
      await a.page.locator("#join-room").press("Enter");
      await roomItem(a, "#rust").waitFor();
      await roomLog(a, "#rust").locator(".note", { hasText: "You are now in #rust, with 1 other." }).waitFor();
      t.ok(await roomLog(a, "#rust").isVisible(), "the room joined comes into view");
      t.notOk(await roomLog(a, "#chat").isVisible(), "the other one's log is hidden");
      t.equal(await a.page.locator("#view-title").textContent(), "#rust");
      await erin.waitFor("alice joined\n");
      t.same(
        await a.page.locator("#room-list li .room-name").allTextContents(),
        ["#chat", "#rust"],
        "both rooms in the list, in the order joined",
      );
      t.equal(await roomItem(a, "#rust").locator(".count").textContent(), "2", "each with its member count");
      t.equal(await roomItem(a, "#chat").locator(".count").textContent(), "3");
      t.same(
        (await a.page.locator("#member-list .name").allTextContents()).sort(),
        ["alice", "erin"],
        "the member list is the room in view's",
      );
      t.equal(await a.page.locator("#members-title").textContent(), "In #rust");

      erin.send("only in rust\n");
      frank.send("only in chat\n");
      await roomLog(a, "#rust").locator("li", { hasText: "only in rust" }).waitFor();
      await roomLog(a, "#chat").locator("li", { hasText: "only in chat" }).waitFor({ state: "attached" });
      await entry(b, "only in chat").waitFor();
      t.equal(await roomLog(a, "#rust").locator("li", { hasText: "only in chat" }).count(), 0, "#chat's line is not in #rust's view");
      t.equal(await roomLog(a, "#chat").locator("li", { hasText: "only in rust" }).count(), 0, "nor the other way");
      t.equal(await entry(b, "only in rust").count(), 0, "a page only in #chat never sees #rust's");
      const unread = roomItem(a, "#chat").locator(".unread");
      await unread.waitFor();
      t.equal(await unread.textContent(), "1", "an unread mark on the room not in view");
      t.notOk(await roomItem(a, "#rust").locator(".unread").isVisible(), "none on the room in view");
      t.equal(await a.page.title(), "(1) Chat", "the tab's title counts it");

      await type(a, "hello rust");
      await erin.waitFor("<alice> hello rust\n");
      await type(a, "/who");
      await roomLog(a, "#rust")
        .locator("li", { hasText: /^\d\d:\d\d Online \(2\): / })
        .waitFor();

      await roomItem(a, "#chat").locator(".open").click();
      await roomLog(a, "#chat").locator("li", { hasText: "only in chat" }).waitFor();
      await unread.waitFor({ state: "hidden" });
      t.equal(await a.page.title(), "Chat", "seen: the mark goes");
      await type(a, "hello chat");
      await frank.waitFor("<alice> hello chat\n");
      t.notMatch(erin.received, "hello chat", "a line typed in #chat's view is said in #chat");

      // A private message from a TCP client: a view of its own, with its unread mark.
      erin.send("/msg alice psst, from rust\n");
      const fromErin = a.page.locator('#private-list li[data-peer="erin"]');
      await fromErin.locator(".unread", { hasText: "1" }).waitFor();
      t.ok(await roomLog(a, "#chat").isVisible(), "it does not take the view");
      t.equal(
        await a.page.locator("#log li", { hasText: "psst, from rust" }).count(),
        1,
        "it is in no room's log, only the conversation's",
      );
      await fromErin.locator(".open").click();
      await peerLog(a, "erin").locator("li", { hasText: "psst, from rust" }).waitFor();
      t.equal(await peerLog(a, "erin").locator("li .name").first().textContent(), "erin");
      t.same(
        await a.page.locator("#member-list .name").allTextContents(),
        ["alice", "erin"],
        "the member list of a conversation: its two people",
      );
      await type(a, "hi there, privately");
      await erin.waitFor("[private] <alice> hi there, privately\n");
      await peerLog(a, "erin").locator("li.own", { hasText: "hi there, privately" }).waitFor();
      await type(a, "/me nods");
      await erin.waitFor("[private] * alice nods\n");
      t.notMatch(frank.received, "privately", "nobody else hears it");

      // A member's name clicked, then typing: a conversation opened from the page.
      await roomItem(a, "#chat").locator(".open").click();
      await a.page.locator("#member-list .member", { hasText: "frank" }).click();
      await peerLog(a, "frank").waitFor();
      t.equal(
        await a.page
          .locator("#line")
          .evaluate((e) => e === (e as { ownerDocument: { activeElement: unknown } }).ownerDocument.activeElement),
        true,
        "the cursor is in the input",
      );
      await type(a, "psst, frank");
      await frank.waitFor("[private] <alice> psst, frank\n");
      await peerLog(a, "frank").locator("li", { hasText: "psst, frank" }).waitFor();

      // The picture for docs/img/web-rooms.png: the conversation with erin in view, news in both rooms.
      await fromErin.locator(".open").click();
      frank.send("anyone for lunch?\n");
      erin.send("the build is green\n");
      frank.send("/msg alice see you at noon\n");
      erin.send("/msg alice are you coming to the meetup?\n");
      await peerLog(a, "erin").locator("li", { hasText: "meetup" }).waitFor();
      await roomItem(a, "#rust").locator(".unread", { hasText: "1" }).waitFor();
      await roomItem(a, "#chat").locator(".unread", { hasText: "1" }).waitFor();
      await a.page.locator('#private-list li[data-peer="frank"] .unread', { hasText: "1" }).waitFor();
      await type(a, "yes, see you there");
      await erin.waitFor("[private] <alice> yes, see you there\n");
      await peerLog(a, "erin").locator("li", { hasText: "yes, see you there" }).waitFor();
      // A shorter window than the tests use: the picture without a screenful of empty log.
      await a.page.setViewportSize({ width: DESKTOP.width, height: 440 });
      const shot = artifactPath("web-rooms.png");
      await a.page.screenshot({ path: shot });
      await a.page.setViewportSize(DESKTOP);
      t.comment(`screenshot: ${shot}`);
      await roomItem(a, "#rust").locator(".open").click();
    },
  );

  await t.test("after a server restart the page resumes both rooms, each without a gap or a duplicate", async (t) => {
    const rooms = ["#chat", "#rust"] as const;
    const idsOf = (room: string) =>
      roomLog(a, room)
        .locator("li[data-id]")
        .evaluateAll((items) => items.map((e) => e.getAttribute("data-id")!));
    const before = { "#chat": (await idsOf("#chat")).length, "#rust": (await idsOf("#rust")).length };
    const back = (room: string) => roomLog(a, room).locator(".note", { hasText: /^\d\d:\d\d Back: \d+ entr/ });
    const backBefore = { "#chat": await back("#chat").count(), "#rust": await back("#rust").count() };
    server.child.kill("SIGTERM");
    await server.exited;
    await a.page.locator("#state:not([data-state=connected])").waitFor();
    await a.context.setOffline(true);
    server = await startServer(serverArgs(tcpPort, webPort));
    // While the page is away, each room hears a line, recorded in its log before the page comes back.
    erin = await named("erin", "#rust");
    frank = await named("frank");
    erin.send("rust, while you were away\n");
    frank.send("chat, while you were away\n");
    await recorded(erin);
    await recorded(frank);

    await a.context.setOffline(false);
    await a.page.locator("#state[data-state=connected]").waitFor();
    for (const room of rooms) {
      const missed = roomLog(a, room).locator("li", { hasText: `${room.slice(1)}, while you were away` });
      await missed.waitFor({ state: "attached" });
      t.equal(await missed.count(), 1, `${room}: shown once`);
      t.match(await missed.getAttribute("class"), /\breplayed\b/, `${room}: from its resume`);
      // Its own note, after those of earlier resumes.
      await back(room).nth(backBefore[room]).waitFor({ state: "attached" });
      const ids = await idsOf(room);
      t.ok(ids.length > before[room], `${room}: more entries than before the restart`);
      t.equal(new Set(ids).size, ids.length, `${room}: no id twice`);
      t.equal(new Set(ids.map((id) => id.split(":")[0])).size, 1, `${room}: one log across the restart (--history-db)`);
      const seqs = ids.map((id) => Number(id.split(":")[1]));
      t.same(
        seqs,
        seqs.map((_, i) => seqs[0]! + i),
        `${room}: consecutive ids`,
      );
    }
    t.equal(
      await roomLog(a, "#rust").locator("li", { hasText: "chat, while you were away" }).count(),
      0,
      "each room's lines in its own view",
    );
    t.same(await a.page.locator("#room-list li .room-name").allTextContents(), ["#chat", "#rust"], "in both rooms again");
    t.same(
      await a.page.locator("#private-list li .name").allTextContents(),
      ["erin", "frank"],
      "the conversations are still there (what was said in them is the page's: the server keeps none)",
    );
    await roomItem(a, "#rust").locator(".count", { hasText: "2" }).waitFor();
    await a.page.locator("#member-list .name", { hasText: "erin" }).waitFor();
    await type(a, "back in rust");
    await erin.waitFor("<alice> back in rust\n");
    await roomItem(a, "#chat").locator(".open").click();
    await type(a, "back in chat");
    await frank.waitFor("<alice> back in chat\n");
    t.notMatch(erin.received, "back in chat");
  });

  await t.test("a server restarted without its history: the page says what it cannot know", async (t) => {
    server.child.kill("SIGTERM");
    await server.exited;
    await a.page.locator("#state:not([data-state=connected])").waitFor();
    server = await startServer(["--port", String(tcpPort), "--web", `127.0.0.1:${webPort}`]);
    await a.page.locator("#state[data-state=connected]").waitFor();
    for (const room of ["#chat", "#rust"]) {
      await roomLog(a, room).locator(".note", { hasText: "The server's log started over" }).waitFor({ state: "attached" });
      t.pass(`told, in ${room}`);
    }
  });

  t.test("no page raised an error or opened a dialog", async (t) => {
    for (const w of [a, b]) {
      t.same(w.dialogs, [], "no dialog");
      // While the server was down, Chromium logs each failed connection attempt: expected, and nothing else.
      t.same(
        w.errors.filter((e) => !/WebSocket connection to .* failed/.test(e)),
        [],
        "no script error",
      );
    }
  });
}
