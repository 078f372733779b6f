// README's "Write your own select loop" shows examples/echo.ts verbatim;
// this keeps the two the same and runs the example as a real server.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import t from "tap";
import { LineClient } from "../support/line-client.ts";
import { bunPath, root } from "../support/bun.ts";

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
    child.stdout.on("data", (d) => {
      out += d;
      const m = /echo server on port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on("exit", (code) => reject(new Error(`example exited with ${code}: ${out}`)));
  });
  const a = await LineClient.connect(port);
  const b = await LineClient.connect(port);
  a.send("ping from a\n");
  b.send("ping from b");
  await a.waitFor("ping from a\n");
  await b.waitFor("ping from b");
  t.equal(a.received, "ping from a\n", "each client hears only itself");
  a.end();
  await a.waitClosed();
  b.end();
});
