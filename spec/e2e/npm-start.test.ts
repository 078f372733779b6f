// The README's commands through npm: `npm start` runs the server, and a
// signal to npm (a service manager's SIGTERM, say) reaches the server
// instead of leaving it running without a parent; `npm run client` runs
// the client. npm runs a script under `sh -c`: the scripts `exec` the
// program, so that the shell does not stand between npm and it.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import t from "tap";
import { root } from "../support/bun.ts";
import { Waiters } from "../support/waiters.ts";

/** The npm next to this Node, else the one on the PATH. */
const npmNextToNode = path.join(path.dirname(process.execPath), "npm");
const npm = existsSync(npmNextToNode) ? npmNextToNode : "npm";

/** Whether something accepts connections on `port`. */
const accepting = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  t.test(`${signal} to \`npm start\` stops the server`, async (t) => {
    // Its own process group, so that the teardown can end a server npm left behind.
    const child = spawn(npm, ["start", "--", "--port", "0"], { cwd: root, stdio: ["ignore", "pipe", "pipe"], detached: true });
    t.teardown(() => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // the group is gone: nothing was left behind
      }
    });
    let out = "";
    const waiters = new Waiters();
    child.stdout!.on("data", (chunk) => {
      out += chunk;
      waiters.wake();
    });
    child.stderr!.resume();
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await waiters.until(
      () => /listening on \S+:\d+/.test(out),
      "the server's start line",
      20_000,
      () => `; got: ${out}`,
    );
    const port = Number(/listening on \S+:(\d+)/.exec(out)![1]);
    child.kill(signal);
    t.equal(await exited, 0, "npm exits 0 once the server has stopped");
    t.match(out, `Received ${signal}, shutting down`, "the server got the signal");
    t.match(out, "Server stopped");
    t.equal(await accepting(port), false, "nothing listens on the server's port any more");
  });
}

t.test("`npm run client` runs the client", async (t) => {
  const child = spawn(npm, ["run", "--silent", "client", "--", "--version"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (chunk) => (out += chunk));
  child.stderr.resume();
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  t.equal(code, 0);
  t.match(out, /^select-chat client \d+\.\d+\.\d+ \(bun [\d.]+\)\n$/);
});
