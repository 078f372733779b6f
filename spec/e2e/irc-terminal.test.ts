// Real IRC terminal clients against the IRC listener: irssi, and WeeChat
// with docs/irc.md's one command, in tmux, connect, join #chat, say a line
// that a line client reads, and show a line the line client says. Each is
// skipped, with the reason, without tmux or without the client.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import t from "tap";
import { startServer } from "../support/bun.ts";
import { LineClient } from "../support/line-client.ts";

const hasTmux = spawnSync("tmux", ["-V"]).status === 0;
const hasIrssi = spawnSync("irssi", ["--version"]).status === 0;
const hasWeechat = spawnSync("weechat", ["--version"]).status === 0;
if (!hasTmux) t.plan(0, "tmux is not installed (apt-get install tmux): no terminal client can be driven");

/** tmux on a socket of our own, so nothing else is touched. */
const socket = `select-chat-irc-spec-${process.pid}`;
const tmux = (...args: string[]) => execFileSync("tmux", ["-L", socket, ...args], { encoding: "utf8" });
const screen = () => tmux("capture-pane", "-p", "-t", "irc").split("\n");

/** tmux tells nobody when the screen changes: poll capture-pane until `test` holds. */
async function waitScreen(test: (rows: string[]) => boolean, what: string, timeoutMs = 15_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let rows: string[] = [];
    try {
      rows = screen();
    } catch {
      // not started yet, or gone
    }
    if (test(rows)) return rows;
    if (Date.now() > deadline) throw new Error(`irssi never showed ${what}:\n${rows.join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const irssiSkip = hasIrssi ? false : "irssi is not installed (apt-get install irssi)";
const weechatSkip = hasWeechat ? false : "weechat is not installed (apt-get install weechat)";

t.test("irssi joins #chat, talks with a line client both ways", { skip: !hasTmux || irssiSkip }, async (t) => {
  const server = await startServer(["--irc", "127.0.0.1:0", "--server-name", "irc.test"]);
  t.teardown(() => server.stop());
  const irc = Number(/IRC on 127\.0\.0\.1:(\d+)/.exec(server.output())![1]);
  const home = mkdtempSync(path.join(tmpdir(), "irssi-home-"));
  t.teardown(() => {
    spawnSync("tmux", ["-L", socket, "kill-server"]);
    rmSync(home, { recursive: true, force: true });
  });
  const tcp = await LineClient.connect(server.port);
  t.teardown(() => tcp.reset());
  await tcp.joined();

  tmux(
    "new-session",
    "-d",
    "-s",
    "irc",
    "-x",
    "100",
    "-y",
    "20",
    `TERM=xterm exec irssi --home=${home} -c 127.0.0.1 -p ${irc} -n irssiuser`,
  );
  await waitRegistered();
  tmux("send-keys", "-t", "irc", "-l", "/join #chat");
  tmux("send-keys", "-t", "irc", "Enter");
  await tcp.waitFor("irssiuser joined\n");
  await waitScreen((rows) => rows.some((r) => r.includes("irssiuser") && r.includes("has joined #chat")), "its own join");
  tmux("send-keys", "-t", "irc", "-l", "hello from irssi");
  tmux("send-keys", "-t", "irc", "Enter");
  await tcp.waitFor("<irssiuser> hello from irssi\n");
  tcp.send("hello from tcp\n");
  const rows = await waitScreen((r) => r.some((row) => row.includes("hello from tcp")), "the line client's line");
  t.ok(
    rows.some((row) => row.includes(`_127_0_0_1_${tcp.port}`) && row.includes("hello from tcp")),
    "shown under the line client's address nick",
  );
  tmux("send-keys", "-t", "irc", "-l", "/quit leaving");
  tmux("send-keys", "-t", "irc", "Enter");
  await tcp.waitFor("irssiuser quits\n");

  async function waitRegistered() {
    await waitScreen((r) => r.some((row) => row.includes("Welcome to the irc.test IRC network")), "the welcome");
  }
});

t.test("WeeChat, started with docs/irc.md's command, joins #chat and talks both ways", { skip: !hasTmux || weechatSkip }, async (t) => {
  const server = await startServer(["--irc", "127.0.0.1:0", "--server-name", "irc.test"]);
  t.teardown(() => server.stop());
  const irc = Number(/IRC on 127\.0\.0\.1:(\d+)/.exec(server.output())![1]);
  t.teardown(() => spawnSync("tmux", ["-L", socket, "kill-server"]));
  const tcp = await LineClient.connect(server.port);
  t.teardown(() => tcp.reset());
  await tcp.joined();
  const commands = `/set irc.server_default.nicks weeuser; /server add chat 127.0.0.1/${irc} -notls -autojoin=#chat; /connect chat`;
  tmux("new-session", "-d", "-s", "irc", "-x", "120", "-y", "20", `TERM=xterm exec weechat -t -r '${commands}'`);
  await tcp.waitFor("weeuser joined\n");
  await waitScreen((rows) => rows.some((r) => r.includes("weeuser") && r.includes("has joined #chat")), "its own join");
  tmux("send-keys", "-t", "irc", "-l", "hello from weechat");
  tmux("send-keys", "-t", "irc", "Enter");
  await tcp.waitFor("<weeuser> hello from weechat\n");
  tcp.send("hello from tcp\n");
  const rows = await waitScreen((r) => r.some((row) => row.includes("hello from tcp")), "the line client's line");
  t.ok(
    rows.some((row) => row.includes(`_127_0_0_1_${tcp.port}`) && row.includes("hello from tcp")),
    "under the address nick",
  );
  tmux("send-keys", "-t", "irc", "-l", "/quit");
  tmux("send-keys", "-t", "irc", "Enter");
  await tcp.waitFor("weeuser quits\n");
});
