// A real IRC terminal client against the IRC listener: irssi in tmux
// connects, joins #chat, says a line that a line client reads, and shows a
// line the line client says. Skipped, with the reason, without irssi or tmux.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import t from "tap";
import { startServer } from "../support/bun.ts";
import { LineClient } from "../support/line-client.ts";

const hasTmux = spawnSync("tmux", ["-V"]).status === 0;
const hasIrssi = spawnSync("irssi", ["--version"]).status === 0;
if (!hasTmux) t.plan(0, "tmux is not installed (apt-get install tmux): irssi cannot be driven");
else if (!hasIrssi) t.plan(0, "irssi is not installed (apt-get install irssi)");

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

t.test("irssi joins #chat, talks with a line client both ways", { skip: !hasTmux || !hasIrssi }, async (t) => {
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
