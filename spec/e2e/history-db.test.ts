// End to end: `bun bin/server.ts --history-db FILE`. A restart (SIGTERM, or
// SIGKILL) keeps the room's history with the same ids; a file of the first
// release is migrated and answers `/history` as that release did; every file the
// server cannot use stops it at start with one line and exit code 1 (a
// second server on the same file among them); a disk that fills up is
// logged and chat goes on. The store itself: spec/server/history-sqlite.test.ts.
import { spawn } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import t, { type Test } from "tap";
import { LineClient } from "../support/line-client.ts";
import { ask, replayed } from "../support/history-answers.ts";
import { bunPath, root, runBun, type ServerProcess, startServer } from "../support/bun.ts";
import { Waiters } from "../support/waiters.ts";

const epochOf = (id: string) => id.split(":")[0]!;
const seqOf = (id: string) => Number(id.split(":")[1]);

function tempDir(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), "history-db-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function stopWith(server: ServerProcess, signal: NodeJS.Signals) {
  server.child.kill(signal);
  return server.exited;
}

/** The `History in FILE: N entries loaded, last id ID` start line, parsed. */
function loadedLine(output: string): { count: number; last: string | null } {
  const m = /History in .*: (\d+) entries loaded, last id (\S+)/.exec(output);
  if (!m) throw new Error(`no history start line in ${output}`);
  return { count: Number(m[1]), last: m[2] === "none" ? null : m[2]! };
}

t.test("a restarted server has its history: same ids, same epoch, numbering goes on", async (t) => {
  const file = path.join(tempDir(t), "room.db");
  const first = await startServer(["--history-db", file]);
  t.teardown(() => first.stop());
  t.same(loadedLine(first.output()), { count: 0, last: null }, "a new file");
  const [a, b] = (await LineClient.connectAll(first.port, 2)) as [LineClient, LineClient];
  a.send("/nick alice\n");
  await b.waitFor("is now alice\n");
  a.send("one\ntwo\n");
  await b.waitFor("<alice> two\n");
  const before = replayed(await ask(b, "/history"));
  t.same(before.map(([, line]) => line).slice(-3), [`Client ${a.addr} is now alice`, "<alice> one", "<alice> two"]);
  a.end();
  b.end();
  t.same(await stopWith(first, "SIGTERM"), { code: 0, signal: null }, "a clean stop");
  t.notOk(existsSync(`${file}-wal`), "the WAL was checkpointed into the file and removed on close");

  const second = await startServer(["--history-db", file]);
  t.teardown(() => second.stop());
  const loaded = loadedLine(second.output());
  t.ok(loaded.count >= before.length, `what was said is loaded (${loaded.count} entries: the shutdown's leaves too)`);
  t.equal(epochOf(loaded.last!), epochOf(before[0]![0]), "the epoch is unchanged");
  const c = await LineClient.connect(second.port);
  await c.joined();
  const after = replayed(await ask(c, "/history 1000"));
  t.same(after.slice(0, before.length), before, "the old entries, with their ids, as they were");
  t.same(
    after.map(([id]) => seqOf(id)),
    after.map((_, i) => i + 1),
    "one run of ids, 1, 2, 3... across the restart",
  );
  t.ok(
    after.every(([id]) => epochOf(id) === epochOf(before[0]![0])),
    "one epoch",
  );
  t.same(
    after.at(-1),
    [`${epochOf(loaded.last!)}:${seqOf(loaded.last!) + 1}`, `Client ${c.addr} connected`],
    "the first new entry is the next id",
  );
  c.end();
});

t.test("a first release's file (schema 1) is migrated at start: /history answers as that release did, ids unchanged", async (t) => {
  const file = path.join(tempDir(t), "room.db");
  copyFileSync(path.join(root, "spec/fixtures/history-v1.db"), file);
  // The previous release's `/history 50` answer on that file (latin1, as LineClient decodes: bytes as they are).
  const answer = readFileSync(path.join(root, "spec/fixtures/history-v1.answer.txt")).toString("latin1").split("\n").slice(0, -1);
  const server = await startServer(["--history-db", file]);
  t.teardown(() => server.stop());
  t.match(server.output(), `History: ${file} migrated from schema 1 to 2 (21 entries kept)\n`, "the migration is logged");
  t.same(loadedLine(server.output()), { count: 21, last: "mxdzsd98znmd:21" });
  const c = await LineClient.connect(server.port);
  await c.joined();
  const lines = (await ask(c, "/history 50")).split("\n");
  t.same(lines.slice(0, 21), answer, "the old entries first, worded byte for byte as before, same ids and times");
  t.match(
    lines[21],
    new RegExp(`^\\[history mxdzsd98znmd:22 \\S+\\] Client \\(127\\.0\\.0\\.1, ${c.port}\\) connected$`),
    "then the new entries, numbered on",
  );
  t.same(lines.slice(22), ["[history end] 22 entries, last mxdzsd98znmd:22", ""]);
  c.end();
  t.same(await stopWith(server, "SIGTERM"), { code: 0, signal: null });

  const again = await startServer(["--history-db", file]);
  t.teardown(() => again.stop());
  t.notMatch(again.output(), "migrated", "a second start does not migrate again");
  const d = await LineClient.connect(again.port);
  await d.joined();
  t.same((await ask(d, "/history 50")).split("\n").slice(0, 21), answer, "the same answer after a restart");
  d.end();
});

t.test("entries survive the server being killed (SIGKILL): committed every tick", async (t) => {
  const file = path.join(tempDir(t), "room.db");
  const first = await startServer(["--history-db", file]);
  t.teardown(() => first.stop());
  const [a, b] = (await LineClient.connectAll(first.port, 2)) as [LineClient, LineClient];
  a.send("kept\n");
  await b.waitFor(`${a.from} kept\n`);
  // The reply comes in a later tick than the line's, whose entries were committed before that tick ended.
  const before = replayed(await ask(b, "/history"));
  t.same(await stopWith(first, "SIGKILL"), { code: null, signal: "SIGKILL" });
  // Closed by the kernel's FIN, not reset: Node 20's resetAndDestroy() while
  // its own end() (at the server's EOF) is pending fails with EINVAL and
  // leaves the process unable to exit.
  await Promise.all([a.waitClosed(), b.waitClosed()]);
  const second = await startServer(["--history-db", file]);
  t.teardown(() => second.stop());
  const c = await LineClient.connect(second.port);
  await c.joined();
  const after = replayed(await ask(c, "/history"));
  t.same(after.slice(0, before.length), before, "everything up to the kill is there, same ids");
  t.same(after.at(-1)![1], `Client ${c.addr} connected`);
  t.equal(seqOf(after.at(-1)![0]), seqOf(before.at(-1)![0]) + 1, "no id given twice");
  c.end();
});

t.test("--history-age: an entry past its age is replayed neither by the running server nor after a restart", async (t) => {
  const file = path.join(tempDir(t), "room.db");
  const args = ["--history-db", file, "--history-age", "3s"];
  const first = await startServer(args);
  t.teardown(() => first.stop());
  const a = await LineClient.connect(first.port);
  await a.joined();
  a.send("soon too old\n");
  t.match(await ask(a, "/history"), `${a.from} soon too old`, "replayed while it is young");
  // The server stamped the entry before it answered (a busy server may do so well after the send).
  const stampedBy = Date.now();
  // The age is the subject here: nothing but the clock can say it has passed.
  await new Promise((resolve) => setTimeout(resolve, stampedBy + 3300 - Date.now()));
  const aged = await ask(a, "/history");
  t.notMatch(aged, "soon too old", "past 3 s it is not replayed from memory");
  t.match(aged, /^\[history end\] 0 entries, last \S+:2$/m, "nothing else was said: nothing is replayed, and ids go on");
  a.end();
  t.same(await stopWith(first, "SIGTERM"), { code: 0, signal: null });
  const second = await startServer(args);
  t.teardown(() => second.stop());
  const b = await LineClient.connect(second.port);
  await b.joined();
  t.notMatch(await ask(b, "/history"), "soon too old", "nor from the file after a restart");
  b.end();
});

t.test("a second server on the same file is refused at start; the first goes on", async (t) => {
  const file = path.join(tempDir(t), "room.db");
  const first = await startServer(["--history-db", file]);
  t.teardown(() => first.stop());
  const second = await runBun(["bin/server.ts", "--port", "0", "--history-db", file]);
  t.equal(second.code, 1, "exit code 1");
  t.equal(second.stderr, `server: cannot use history database ${file}: it is locked by another process (another server using it?)\n`);
  t.notMatch(second.stdout, "listening", "it never listened");
  const a = await LineClient.connect(first.port);
  await a.joined();
  const answer = await ask(a, "/history");
  t.match(answer, `Client ${a.addr} connected`, "the first server still serves and records");
  a.end();
  t.same(await stopWith(first, "SIGTERM"), { code: 0, signal: null });
  const third = await startServer(["--history-db", file]);
  t.teardown(() => third.stop());
  t.match(third.output(), /History in .* entries loaded/, "once the first has stopped, the file is free");
});

/** User and group nobody. */
const NOBODY = 65534;

/** The bun binary and a directory holding bin/server.ts, for a user who cannot enter the clone. */
interface ProgramCopy {
  bun: string;
  cwd: string;
}

/** The first directory from `dir` up to / that users other than its owner cannot enter, or null. */
function closedAncestor(dir: string): string | null {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if (!(statSync(d).mode & 0o001)) return d;
    if (d === path.dirname(d)) return null;
  }
}

/** Make everything under `dir` readable (and its folders enterable) by every user, whatever umask made it. */
function openToAll(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) openToAll(p);
    else if (entry.isFile()) chmodSync(p, statSync(p).mode & 0o111 ? 0o755 : 0o644);
  }
}

/** The packages the program needs at run time: package.json's dependencies and theirs (npm's flat node_modules). */
function runtimePackages(): string[] {
  const found = new Set<string>();
  const visit = (packageJson: string) => {
    const deps = (JSON.parse(readFileSync(packageJson, "utf8")) as { dependencies?: Record<string, string> }).dependencies ?? {};
    for (const name of Object.keys(deps)) {
      if (found.has(name)) continue;
      found.add(name);
      visit(path.join(root, "node_modules", name, "package.json"));
    }
  };
  visit(path.join(root, "package.json"));
  return [...found];
}

/**
 * The server for user nobody: the clone may sit where only its owner can
 * enter (a mode-700 home, `mktemp -d`), and then user nobody reaches
 * neither node_modules/.bin/bun nor bin/server.ts. So the bun binary (a
 * hard link when it can be) and the program's files go into a fresh
 * directory under the temporary directory, open to all. A string: why that
 * cannot be done.
 */
function programForNobody(t: Test): ProgramCopy | string {
  const dir = mkdtempSync(path.join(tmpdir(), "history-db-program-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const closed = closedAncestor(path.dirname(dir));
  if (closed) return `user nobody cannot enter ${closed}, where the temporary directory is (set TMPDIR elsewhere)`;
  for (const name of ["package.json", "tsconfig.json", "bin", "lib", ...runtimePackages().map((p) => path.join("node_modules", p))]) {
    const from = path.join(root, name);
    if (existsSync(from)) cpSync(from, path.join(dir, name), { recursive: true });
  }
  openToAll(dir);
  const bun = path.join(dir, "bun");
  try {
    linkSync(realpathSync(bunPath), bun);
  } catch {
    copyFileSync(realpathSync(bunPath), bun); // another file system
    chmodSync(bun, 0o755);
  }
  return { bun, cwd: dir };
}

/** Run the server on `file` until it exits; as user nobody, from `nobody`'s copy, when given. */
function runServer(file: string, nobody?: ProgramCopy): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(nobody?.bun ?? bunPath, ["bin/server.ts", "--port", "0", "--history-db", file], {
      cwd: nobody?.cwd ?? root,
      stdio: ["ignore", "pipe", "pipe"],
      ...(nobody ? { uid: NOBODY, gid: NOBODY, env: { ...process.env, HOME: tmpdir(), BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" } } : {}),
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => {
      stdout += d;
      // A file it can use: the test failed; do not leave it running.
      if (stdout.includes("listening")) child.kill("SIGKILL");
    });
    child.stderr!.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The server refuses `file` at start, for `reason`: one line on stderr, exit code 1, never listening. */
async function refused(t: Test, file: string, reason: string, nobody?: ProgramCopy): Promise<void> {
  const r = await runServer(file, nobody);
  t.same([r.code, r.stderr], [1, `server: cannot use history database ${file}: ${reason}\n`], reason);
  t.notMatch(r.stdout, "listening", `${reason}: it never listened`);
}

t.test("files the server cannot use: one line on stderr, exit code 1, before it listens", async (t) => {
  const dir = tempDir(t);
  await refused(t, path.join(dir, "missing", "room.db"), `directory ${path.join(dir, "missing")} does not exist`);
  const sub = path.join(dir, "sub");
  mkdirSync(sub);
  await refused(t, sub, "it is a directory");
  const junk = path.join(dir, "junk.db");
  writeFileSync(junk, Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 13) % 251)));
  await refused(t, junk, "it is not a SQLite database");

  // Made by this server, then marked as made by a newer one.
  const newer = path.join(dir, "newer.db");
  const made = await startServer(["--history-db", newer]);
  t.same(await stopWith(made, "SIGTERM"), { code: 0, signal: null });
  const bump = await runBun([
    "-e",
    `import { Database } from "bun:sqlite"; new Database(${JSON.stringify(newer)}).run("PRAGMA user_version = 9");`,
  ]);
  t.equal(bump.code, 0, bump.stderr);
  await refused(t, newer, "its schema is version 9, newer than this server knows (2)");

  const other = path.join(dir, "other.db");
  const create = await runBun([
    "-e",
    `import { Database } from "bun:sqlite"; new Database(${JSON.stringify(other)}).run("CREATE TABLE notes (x)");`,
  ]);
  t.equal(create.code, 0, create.stderr);
  await refused(t, other, "it is another program's SQLite database");

  // Permissions: root may open anything, so as root the server runs as nobody (uid 65534).
  const copy = process.getuid?.() === 0 ? programForNobody(t) : undefined;
  const skip = typeof copy === "string" ? `as root the server runs as user nobody here, but ${copy}` : false;
  await t.test("a file it may not open; a file it may not write", { skip }, async (t) => {
    const nobody = typeof copy === "string" ? undefined : copy;
    chmodSync(dir, 0o755);
    const secret = path.join(dir, "secret.db");
    writeFileSync(secret, "");
    chmodSync(secret, nobody ? 0o600 : 0o000);
    await refused(t, secret, "permission denied", nobody);
    const readOnly = path.join(dir, "read-only.db");
    writeFileSync(readOnly, "");
    chmodSync(readOnly, nobody ? 0o644 : 0o444);
    await refused(t, readOnly, "it cannot be written (read-only file or directory)", nobody);
  });
});

t.test("flags: --history-db not with --cluster, --history-age needs --history-db and a duration", async (t) => {
  const usage = async (args: string[], message: string) => {
    const r = await runBun(["bin/server.ts", "--port", "0", ...args]);
    t.same([r.code, r.stderr], [2, `server: ${message} (see --help)\n`], message);
  };
  await usage(
    ["--history-db", "x.db", "--cluster", "redis://127.0.0.1:1"],
    "--history-db and --cluster do not go together (in a cluster the log is in Redis)",
  );
  await usage(["--history-age", "7d"], "--history-age needs --history-db");
  await usage(["--history-db", "x.db", "--history-age", "week"], '--history-age needs a duration such as 7d, 12h, 30m or 45s, got "week"');
  t.notOk(existsSync(path.join(root, "x.db")), "no file was made");
});

/**
 * The server with a file-size limit (RLIMIT_FSIZE, `ulimit -f`): a write
 * past it fails with EFBIG, as on a full disk. SIGXFSZ, which would kill
 * the process, is ignored (an ignored signal stays ignored across exec).
 */
function startLimited(file: string, kib: number) {
  const args = ["bin/server.ts", "--port", "0", "--rate", "0", "--history-db", file, "--metrics", "127.0.0.1:0"];
  const child = spawn("bash", ["-c", `trap '' XFSZ; ulimit -f ${kib} && exec "$0" "$@"`, bunPath, ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" },
  });
  let out = "";
  let err = "";
  const waiters = new Waiters();
  child.stdout!.on("data", (d) => {
    out += d;
    waiters.wake();
  });
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => {
      waiters.wake();
      resolve({ code, signal });
    }),
  );
  const waitFor = (re: RegExp) =>
    waiters.until(
      () => {
        if (re.test(out)) return true;
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited; stderr: ${err}`);
        return false;
      },
      String(re),
      20_000,
      () => `; stdout: ${out}; stderr: ${err}`,
    );
  return { child, exited, waitFor, output: () => out, errors: () => err };
}

t.test("a disk that fills up: the failure is logged, chat goes on, the server stops cleanly", async (t) => {
  const file = path.join(tempDir(t), "room.db");
  const server = startLimited(file, 256);
  t.teardown(() => {
    if (server.child.exitCode === null) server.child.kill("SIGKILL");
  });
  await server.waitFor(/listening on \S+:(\d+)/);
  const port = Number(/listening on \S+:(\d+)/.exec(server.output())![1]);
  const [a, b] = (await LineClient.connectAll(port, 2)) as [LineClient, LineClient];
  // 400 lines of 2 KB: more than 256 KiB of WAL.
  const filler = "z".repeat(2000);
  for (let i = 0; i < 400; i++) a.send(`${i} ${filler}\n`);
  await b.waitFor(`${a.from} 399 ${filler}\n`);
  await server.waitFor(/History: cannot save to .*room\.db: .*\(SQLITE_(IOERR\w*|FULL)\); chat goes on/);
  t.pass("the failed write was logged");
  // Counted in the metrics too (sampled once a second: asked until the sample shows it).
  const metricsUrl = /Metrics on (http:\/\/\S+?\/metrics)/.exec(server.output())![1]!;
  const deadline = Date.now() + 10_000;
  let failures = 0;
  while (failures === 0 && Date.now() < deadline) {
    const text = await (await fetch(metricsUrl)).text();
    failures = Number(/^chat_history_write_failures_total (\d+)$/m.exec(text)?.[1] ?? 0);
    if (failures === 0) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.ok(failures >= 1, `chat_history_write_failures_total counts it (${failures})`);
  // Chat goes on after the failure.
  a.send("still here\n");
  await b.waitFor(`${a.from} still here\n`);
  b.send("me too\n");
  await a.waitFor(`${b.from} me too\n`);
  const replay = await ask(b, "/history 3");
  t.match(replay, `${a.from} still here`, "the log in memory has what the disk could not take");
  a.end();
  b.end();
  server.child.kill("SIGTERM");
  t.same(await server.exited, { code: 0, signal: null }, "the server stops cleanly (no crash, no stack)");
  t.notMatch(server.errors(), /\S/, "nothing on stderr");
  const failed = server.output().match(/History: cannot save to/g)!.length;
  const recoveries = server.output().match(/History: saving to .* again/g)?.length ?? 0;
  t.ok(failed - recoveries === 1 || failed - recoveries === 0, `one line per episode (${failed} failed, ${recoveries} recovered)`);
});
