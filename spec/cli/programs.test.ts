// What every program (server, client, bench) does with its command line
// before its real work, end to end: --help fits 80 columns when stdout is
// not a terminal, and flags npm kept for itself (`npm start --port 20003`,
// without `--`) get a usage error that says what to type instead.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import t from "tap";
import { bunPath, root } from "../support/bun.ts";

/** The npm next to this Node, else the one on the PATH. */
const npmNextToNode = path.join(path.dirname(process.execPath), "npm");
const npm = existsSync(npmNextToNode) ? npmNextToNode : "npm";

/** Each program, as bun runs it and as npm does. */
const PROGRAMS = [
  { name: "server", script: "bin/server.ts", npm: ["start"], said: "npm start" },
  { name: "client", script: "bin/client.ts", npm: ["run", "client"], said: "npm run client" },
  { name: "bench", script: "bench/main.ts", npm: ["run", "bench"], said: "npm run bench" },
];

/** Run `command` to its end (killed after 60 s: a program that starts instead of failing must not hang the spec). */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("npm_")));
    const child = spawn(command, args, { cwd: root, env: { ...clean, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

for (const program of PROGRAMS) {
  t.test(`${program.name} --help: 80 columns through a pipe, and says how npm runs it`, async (t) => {
    const help = await run(bunPath, [program.script, "--help"]);
    t.equal(help.code, 0);
    const rows = help.stdout.split("\n");
    t.same(
      rows.filter((row) => row.length > 80),
      [],
      "no line over 80 columns",
    );
    t.same(
      rows.filter((row) => row.startsWith("(")),
      [],
      "no description starts at column 0",
    );
    t.ok(rows.length > 10, "help was printed");
    t.match(help.stdout, /^ {2}(?:-h, )?--help/m, "the flags are listed");
    if (program.name !== "server") t.match(rows[0], `Usage: ${program.said} -- `, "the usage line is a command a fresh clone has");
  });

  t.test(`${program.name}: a flag npm kept for itself is named, with the command meant`, async (t) => {
    // As npm runs a script for `npm run client --port 6000`: the flag's value alone, the flag in the environment.
    const variables = { npm_config_port: "true", npm_config_clients: "true", npm_lifecycle_event: program.npm.at(-1)! };
    const value = program.name === "bench" ? "50" : "20003";
    const flag = program.name === "bench" ? "--clients" : "--port";
    const bad = await run(bunPath, [program.script, value], variables);
    t.equal(bad.code, 2, "a usage error");
    t.match(bad.stderr, `npm took ${flag} for itself`);
    t.match(bad.stderr, `did you mean \`${program.said} -- ${flag} ${value}\`?`);
    t.equal(bad.stderr.split("\n").length, 2, "in one line");
    t.equal(bad.stdout, "", "nothing started");
  });
}

t.test("`npm start --port 20003` (no `--`): the server says what to type", async (t) => {
  const bad = await run(npm, ["start", "--silent", "--port", "20003"]);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^server: unexpected argument "20003": npm took --port for itself .*did you mean `npm start -- --port 20003`\?$/m);
  t.notMatch(bad.stdout, "listening", "no server was started");
});
