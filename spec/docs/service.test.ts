// The systemd unit docs/operating.md shows ("Running it as a service"):
// systemd-analyze verifies it without a warning (with the checkout's path
// in place of /opt/select-chat), it runs Bun itself (not npx, which keeps a
// signal from the server), and its ExecStart, run from the checkout as
// systemd would, serves and stops on SIGTERM with exit 0.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import t from "tap";
import { root } from "../support/bun.ts";
import { Waiters } from "../support/waiters.ts";

/** Where the unit says the checkout is. */
const INSTALLED = "/opt/select-chat";
/** Where its state is (`StateDirectory=select-chat`). */
const STATE = "/var/lib/select-chat";

/** The unit: the ```ini block whose first line names the unit file. */
function unitText(): string {
  const doc = readFileSync(path.join(root, "docs/operating.md"), "utf8");
  const block = /```ini\n(# \/etc\/systemd\/system\/select-chat\.service\n[\s\S]*?)```/.exec(doc);
  if (!block) throw new Error("docs/operating.md shows no ```ini block for /etc/systemd/system/select-chat.service");
  return block[1]!;
}

/** The unit's settings, `section.key` to values (a key may be given more than once). */
function parseUnit(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0) throw new Error(`not a unit line: ${line}`);
    const key = `${section}.${line.slice(0, eq).trim()}`;
    settings.set(key, [...(settings.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return settings;
}

const unit = unitText();
const settings = parseUnit(unit);
const one = (key: string): string => {
  const values = settings.get(key) ?? [];
  if (values.length !== 1) throw new Error(`${key}: ${values.length} values`);
  return values[0]!;
};

t.test("the unit: Bun itself from the checkout, restarted on failure, stopped by SIGTERM", async (t) => {
  t.equal(one("Service.Type"), "simple");
  t.equal(one("Service.WorkingDirectory"), INSTALLED, "runs in the checkout");
  const exec = one("Service.ExecStart").split(/\s+/);
  t.equal(exec[0], `${INSTALLED}/node_modules/.bin/bun`, "Bun by absolute path (the npm package's), not npx: SIGTERM reaches the server");
  t.equal(exec[1], "bin/server.ts");
  t.notOk(exec.includes("npx"), "no npx");
  t.match(one("Service.Restart"), /^(?:on-failure|always|on-abnormal)$/);
  t.notOk(settings.has("Service.KillSignal") && !/^SIG(?:TERM|INT)$/.test(one("Service.KillSignal")), "stopped by SIGTERM (or SIGINT)");
  t.ok(Number(one("Service.TimeoutStopSec")) > 2, "more time to stop than the server's 2 s");
  t.equal(one("Service.StateDirectory"), path.basename(STATE), "the history's directory is the service's");
  t.ok(
    exec.some((arg) => arg.startsWith(`${STATE}/`)),
    "the history lives there",
  );
  t.equal(one("Install.WantedBy"), "multi-user.target");
});

/** The unit as it would be for a checkout here, in a directory of its own. */
function unitHere(dir: string): string {
  const file = path.join(dir, "select-chat.service");
  writeFileSync(file, unit.replaceAll(INSTALLED, root));
  return file;
}

const analyze = spawnSync("systemd-analyze", ["--version"]).status === 0;

t.test(
  "systemd-analyze verify: no error and no warning",
  { skip: analyze ? false : "systemd-analyze is not installed (apt-get install systemd)" },
  async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "unit-"));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const verify = spawnSync("systemd-analyze", ["verify", unitHere(dir)], { encoding: "utf8", cwd: dir });
    t.equal(verify.status, 0, "verified");
    // verify exits 0 for unknown keys and bad values too: it only warns, on stderr (lines about other units of the machine aside).
    const ours = verify.stderr.split("\n").filter((line) => line.includes("select-chat.service"));
    t.same(ours, [], "not a single warning about the unit");
  },
);

t.test("ExecStart, run from the checkout: serves, and exits 0 on SIGTERM as systemctl stop sends it", async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "unit-state-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // As written, but on a free port of the loopback, with the state directory here.
  const args = one("Service.ExecStart")
    .replaceAll(INSTALLED, root)
    .replaceAll(STATE, dir)
    .split(/\s+/)
    .map((arg, i, all) => (all[i - 1] === "--port" ? "0" : all[i - 1] === "--host" ? "127.0.0.1" : arg));
  const child = spawn(args[0]!, args.slice(1), {
    cwd: one("Service.WorkingDirectory").replace(INSTALLED, root),
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let out = "";
  let err = "";
  const waiters = new Waiters();
  child.stdout.on("data", (chunk) => {
    out += chunk;
    waiters.wake();
  });
  child.stderr.on("data", (chunk) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  await waiters.until(
    () => /listening on \S+:\d+/.test(out),
    "the start line",
    20_000,
    () => `; got: ${out} ${err}`,
  );
  t.match(out, `History in ${dir}/`, "the history in the state directory");
  child.kill("SIGTERM");
  t.equal(await exited, 0, "a clean stop");
  t.match(out, "Server stopped");
});
