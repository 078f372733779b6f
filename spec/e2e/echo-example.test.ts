// README's "Write your own select loop" shows examples/echo.ts verbatim;
// this keeps the two the same and runs the example as a real server.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import t from "tap";
import { LineClient } from "../support/line-client.ts";
import { bunPath, root, runBun } from "../support/bun.ts";

const file = readFileSync(path.join(root, "examples/echo.ts"), "utf8");

t.test("README shows examples/echo.ts as it is", async (t) => {
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Write your own select loop"));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  t.ok(block, "the section has a ts code block");
  t.equal(block![1], file, "README code block === examples/echo.ts");
});

t.test("the example echoes what clients send", async (t) => {
  const child = spawn(bunPath, ["examples/echo.ts", "0"], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  t.teardown(() => child.kill("SIGKILL"));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = /echo server on port (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.on("exit", (code) => reject(new Error(`example exited with ${code}: ${out}`)));
  });
  const first = await LineClient.connect(port);
  const second = await LineClient.connect(port);
  first.send("ping from the first\n");
  second.send("ping from the second");
  await first.waitFor("ping from the first\n");
  await second.waitFor("ping from the second");
  t.equal(first.received, "ping from the first\n", "each client hears only itself");
  t.equal(second.received, "ping from the second", "each client hears only itself, a line without newline too");
  first.end();
  await first.waitClosed();
  second.end();
});

t.test("the example on a port already taken: one line, exit 1, no stack trace", async (t) => {
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
  t.teardown(() => taken.close());
  const { port } = taken.address() as net.AddressInfo;
  const run = await runBun(["examples/echo.ts", String(port)]);
  t.equal(run.code, 1);
  t.equal(run.stderr, `echo: cannot listen on 127.0.0.1:${port}: address already in use\n`);
});
