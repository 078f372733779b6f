// The commands README.md and docs/*.md show run as written on a fresh
// clone after `npm install`: Node 20 and npm, Bun only in node_modules/.bin
// (no `bun` on the PATH). Every shell command in a ```sh, ```bash,
// ```shell or ```console block names a program such a clone has (or a
// system tool the docs say to install), npm scripts that exist, and files
// that exist; those that only print their --help or --version are run.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import t from "tap";
import { root } from "../support/bun.ts";

/** The documents checked: the README and everything in docs/ (docs/reactor.md included). */
const DOCS = [
  "README.md",
  ...readdirSync(path.join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`),
];

/** Programs a fresh clone has, or that the docs say how to install (apt-get), or that a shell has built in. */
const PROGRAMS = new Set([
  // Node and npm, and what they install
  "npm",
  "npx",
  "node",
  // the shell and the base system
  "cd",
  "echo",
  "printf",
  "kill",
  "wait",
  "ulimit",
  "export",
  "cat",
  "ls",
  "mkdir",
  "cp",
  "rm",
  "uptime",
  "git",
  "curl",
  "nc",
  "openssl",
  "apt-get",
  "useradd",
  "systemctl",
  "journalctl",
  "systemd-analyze",
  // what some specs and docs use, installed with apt-get (.ci/run)
  "redis-server",
  "redis-cli",
  "tmux",
  "chromium",
  "sqlite3",
  // IRC clients docs/irc.md connects (apt-get install irssi / weechat)
  "irssi",
  "weechat",
]);

/** Words that run the next word as the command. */
const PREFIXES = new Set(["sudo", "exec", "time", "env", "nohup"]);

/** Bun as a fresh clone has it: the npm package's binary, by path. */
const LOCAL_BUN = /^(?:\.\/|\/\S*\/)?node_modules\/\.bin\/bun$/;

const scripts: Record<string, string> = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).scripts;

/** One fenced code block of a document. */
interface Block {
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  body: string[];
}

/** The fenced code blocks of a Markdown text. */
function blocksOf(doc: string, text: string): Block[] {
  const blocks: Block[] = [];
  let open: Block | null = null;
  let fence = "";
  text.split("\n").forEach((row, i) => {
    const marker = /^\s*(`{3,}|~{3,})\s*([\w-]*)/.exec(row);
    if (open === null) {
      if (marker) {
        open = { doc, line: i + 1, lang: marker[2]!.toLowerCase(), body: [] };
        fence = marker[1]!;
      }
    } else if (marker && marker[1]!.startsWith(fence) && marker[2] === "") {
      blocks.push(open);
      open = null;
    } else open.body.push(row);
  });
  return blocks;
}

/** The prose of a Markdown text: everything outside fenced blocks. */
function proseOf(text: string): string {
  return text.replace(/^\s*(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\s*\1\s*$/gm, "");
}

/** One simple command: its words (quotes removed), and whether it was sent to the background (`&`). */
interface Command {
  words: string[];
  background: boolean;
}

/**
 * A command line as the shell would split it: comments dropped, then the
 * simple commands between `&&`, `||`, `|`, `;` and `&`, each as words
 * (quotes removed, `$VAR` and `$(...)` kept as written).
 */
export function splitCommandLine(line: string): Command[] {
  const commands: Command[] = [];
  let words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: string | null = null;
  const endWord = () => {
    if (inWord) words.push(word);
    word = "";
    inWord = false;
  };
  const endCommand = (background: boolean) => {
    endWord();
    if (words.length) commands.push({ words, background });
    words = [];
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (c === "#" && !inWord) break;
    else if (c === " " || c === "\t") endWord();
    else if (c === ";" || c === "|") {
      if (line[i + 1] === c) i++;
      endCommand(false);
    } else if (c === "&") {
      if (line[i + 1] === "&") {
        i++;
        endCommand(false);
      } else if (line[i - 1] === ">" || line[i + 1] === ">") word += c;
      else endCommand(true);
    } else {
      word += c;
      inWord = true;
    }
  }
  endCommand(false);
  return commands;
}

/** The command lines of a shell block: continuation lines joined, and for `console`, only the lines after a `$ ` prompt. */
function commandLines(block: Block): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  let pending: { line: number; text: string } | null = null;
  block.body.forEach((row, i) => {
    let text = row;
    if (pending === null) {
      if (block.lang === "console") {
        const prompt = /^\s*[$#] (.*)$/.exec(row);
        if (!prompt) return;
        text = prompt[1]!;
      }
      if (text.trim() === "" || text.trim().startsWith("#")) return;
      pending = { line: block.line + 1 + i, text: "" };
    }
    const continued = /\\\s*$/.test(text) && !/#.*\\\s*$/.test(text);
    pending.text += continued ? text.replace(/\\\s*$/, " ") : text;
    if (!continued) {
      out.push(pending);
      pending = null;
    }
  });
  if (pending) out.push(pending);
  return out;
}

/** The program a simple command runs, and its arguments, past `VAR=value`s and prefixes such as `sudo`. */
function programOf(words: readonly string[]): { program: string; args: string[] } | null {
  let i = 0;
  for (;;) {
    while (i < words.length && /^[A-Za-z_]\w*=/.test(words[i]!)) i++;
    if (i < words.length && PREFIXES.has(words[i]!)) {
      i++;
      while (i < words.length && words[i]!.startsWith("-")) i++;
      continue;
    }
    break;
  }
  return i < words.length ? { program: words[i]!, args: words.slice(i + 1) } : null;
}

/** Why a simple command would not run as written on a fresh clone, or null if it would. `bunSetUp`: the document installed bun globally before. */
export function problemOf(words: readonly string[], bunSetUp = false): string | null {
  const run = programOf(words);
  if (!run) return null; // only assignments (`server=$!`)
  const { program, args } = run;
  if (program === "bun") {
    return bunSetUp ? null : "bare `bun` is not on a fresh clone's PATH: use `npx bun ...`, an npm script, or node_modules/.bin/bun";
  }
  if (LOCAL_BUN.test(program)) return fileProblem(args[0]);
  if (!PROGRAMS.has(program)) return `\`${program}\` is not a program a fresh clone has`;
  if (program === "npx") {
    const tool = args.find((arg) => !arg.startsWith("-"));
    if (!tool || !existsSync(path.join(root, "node_modules", ".bin", tool))) {
      return `\`npx ${tool ?? ""}\` names nothing in node_modules/.bin (npx would download it)`;
    }
    return tool === "bun" ? fileProblem(args[args.indexOf(tool) + 1]) : null;
  }
  if (program === "npm") {
    const rest = args.filter((arg) => !/^-(?:s|-silent)$/.test(arg));
    const [command, script] = rest;
    if (command === "start" || command === "test") return scripts[command] ? null : `package.json has no "${command}" script`;
    if (command === "run" || command === "run-script") {
      return script && scripts[script] ? null : `package.json has no script "${script ?? ""}"`;
    }
    return command === "install" || command === "i" || command === "ci" ? null : `\`npm ${command ?? ""}\`: not a command the docs need`;
  }
  return null;
}

/** A script given to Bun must exist in the checkout. */
function fileProblem(file: string | undefined): string | null {
  if (!file || file.startsWith("-") || !/[/.]/.test(file)) return null;
  return existsSync(path.join(root, file)) ? null : `${file} does not exist`;
}

/** Every shell command of every document, with where it is. */
function everyCommand() {
  const found: Array<{ where: string; text: string; commands: Command[]; bunSetUp: boolean }> = [];
  for (const doc of DOCS) {
    const blocks = blocksOf(doc, readFileSync(path.join(root, doc), "utf8")).filter((block) =>
      ["sh", "bash", "shell", "console", "zsh"].includes(block.lang),
    );
    let bunSetUp = false;
    for (const block of blocks)
      for (const { line, text } of commandLines(block)) {
        const commands = splitCommandLine(text);
        found.push({ where: `${doc}:${line}`, text, commands, bunSetUp });
        if (commands.some(({ words }) => words.join(" ") === "npm install -g bun")) bunSetUp = true;
      }
  }
  return found;
}

t.test("the shell parser: simple commands, comments, quotes, background", async (t) => {
  t.same(splitCommandLine("npm install && npm start   # starts it"), [
    { words: ["npm", "install"], background: false },
    { words: ["npm", "start"], background: false },
  ]);
  t.same(splitCommandLine(`printf 'hello\\nq\\n' | npx bun bin/client.ts`), [
    { words: ["printf", "hello\\nq\\n"], background: false },
    { words: ["npx", "bun", "bin/client.ts"], background: false },
  ]);
  t.same(splitCommandLine("npx bun bin/server.ts --port 6000 & kill $!"), [
    { words: ["npx", "bun", "bin/server.ts", "--port", "6000"], background: true },
    { words: ["kill", "$!"], background: false },
  ]);
  t.same(splitCommandLine("redis-server --save '' --appendonly no 2>&1"), [
    { words: ["redis-server", "--save", "", "--appendonly", "no", "2>&1"], background: false },
  ]);
  t.same(splitCommandLine("npm start -- --web-origin https://x.example#frag"), [
    { words: ["npm", "start", "--", "--web-origin", "https://x.example#frag"], background: false },
  ]);
});

t.test("what a fresh clone cannot run is refused", async (t) => {
  const refused = [
    "bun bin/server.ts",
    "bun bench --scenario burst",
    "FOO=1 bun bin/client.ts --port 5001",
    "sudo bun bin/server.ts",
    "bin/server.ts --port 6000",
    "npx cowsay hi",
    "npm run nonesuch",
    "npx bun bin/nonesuch.ts",
    "node_modules/.bin/bun bin/nonesuch.ts",
  ];
  for (const line of refused) {
    t.ok(
      splitCommandLine(line).some(({ words }) => problemOf(words) !== null),
      line,
    );
  }
  const accepted = [
    "npm install && npm start -- --web 127.0.0.1:8080",
    "npm run -s bench -- --json",
    "npx bun bin/server.ts --port 6000",
    "node_modules/.bin/bun bin/server.ts --port 6000",
    "/opt/select-chat/node_modules/.bin/bun bin/server.ts",
    "npx tap spec/e2e/browser.test.ts",
    "server=$!",
  ];
  for (const line of accepted)
    t.same(
      splitCommandLine(line)
        .map(({ words }) => problemOf(words))
        .filter(Boolean),
      [],
      line,
    );
  t.equal(problemOf(["bun", "bin/server.ts"], true), null, "after `npm install -g bun` a document may say `bun`");
});

t.test("every command in README.md and docs/*.md names what a fresh clone has", async (t) => {
  const all = everyCommand();
  t.ok(all.length > 30, `commands found (${all.length})`);
  t.ok(
    all.some(({ where }) => where.startsWith("docs/reactor.md")) ||
      !/```(?:sh|bash|shell|console)\b/.test(readFileSync(path.join(root, "docs/reactor.md"), "utf8")),
    "docs/reactor.md is read too",
  );
  for (const { where, text, commands, bunSetUp } of all) {
    for (const { words, background } of commands) {
      const problem = problemOf(words, bunSetUp);
      t.equal(problem, null, `${where}: ${text.trim()}`);
      // A signal to npx does not reach the Bun it started (docs/operating.md): backgrounded, it cannot be stopped by its pid.
      if (background)
        t.not(programOf(words)?.program, "npx", `${where}: no \`npx ... &\` in scripts (use node_modules/.bin/bun or npm start)`);
    }
  }
});

t.test("inline code in the prose does not tell anyone to type bare `bun`", async (t) => {
  for (const doc of DOCS) {
    const prose = proseOf(readFileSync(path.join(root, doc), "utf8"));
    // `bun ...` (an ellipsis) is the README's placeholder for typing bun after installing it globally.
    const spans = [...prose.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!).filter((span) => /^bun\s+(?!\.\.\.)\S/.test(span));
    t.same(spans, [], `${doc}: no \`bun COMMAND\` in the prose`);
  }
});

t.test("README's first block: typed top to bottom in two terminals, each command works", async (t) => {
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  const first = blocksOf("README.md", readme).find((block) => ["sh", "bash", "shell", "console"].includes(block.lang))!;
  const commands = commandLines(first).flatMap(({ text }) => splitCommandLine(text).map(({ words }) => words.join(" ")));
  t.match(commands[0], /^npm install$/, "it installs first");
  const servers = commands.filter((command) => command.startsWith("npm start"));
  t.equal(servers.length, 1, "one server: a second one would find its port taken by the first, still running");
  t.match(servers[0], /--web /, "which serves the page too");
  t.ok(commands.includes("npm run client"), "the client, in the second terminal");
  t.ok(commands.includes("npm test"), "and the tests");
});

/** Run a command line as a user would type it, in the checkout (killed after 60 s). */
function sh(line: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("npm_")));
    const child = spawn("sh", ["-c", line], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
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

t.test("the commands that only print their --help or --version run, and exit 0", async (t) => {
  const safe = everyCommand().filter(({ commands }) => {
    if (commands.length !== 1 || commands[0]!.background) return false;
    const run = programOf(commands[0]!.words);
    const last = commands[0]!.words.at(-1);
    return (
      run !== null &&
      (last === "--help" || last === "--version") &&
      (["npm", "npx", "node"].includes(run.program) || LOCAL_BUN.test(run.program))
    );
  });
  t.ok(safe.length >= 4, `some to run (${safe.map(({ text }) => text.replace(/\s*#.*$/, "")).join("; ")})`);
  const seen = new Set<string>();
  for (const { where, text } of safe) {
    const line = splitCommandLine(text)[0]!.words.join(" ");
    if (seen.has(line)) continue;
    seen.add(line);
    const result = await sh(line);
    t.equal(result.code, 0, `${where}: ${line} exits 0${result.code === 0 ? "" : `: ${result.stderr.trim()}`}`);
    t.ok(result.stdout.trim().length > 0, `${where}: ${line} prints something`);
  }
});
