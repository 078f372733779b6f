#!/usr/bin/env bun
/**
 * The chat client program: `bun bin/client.ts [--host H] [--port P]`.
 * On a terminal: a line editor with history, incoming lines printed above
 * the input (lib/client/line-editor.ts, shown through lib/client/display.ts).
 * From a pipe: lines in, lines out, as plain as the original.
 */
import { readFileSync } from "node:fs";
import { type BackendName, createBackend } from "../lib/backends/index.ts";
import { ChatClient, type ChatClientIO, ClientExit } from "../lib/client/client.ts";
import { encode } from "../lib/chat/protocol.ts";
import { decodeLine, type StyleOptions, styleLine, styleOwn, timestamp } from "../lib/client/display.ts";
import { LineEditor } from "../lib/client/line-editor.ts";
import { checks } from "../lib/cli/flags.ts";
import { fail as failWith, parseProgramFlags } from "../lib/cli/program.ts";
import { ConnectError, formatHostPort, type TlsClientOptions } from "../lib/reactor/backend.ts";
import { Reactor } from "../lib/reactor/reactor.ts";

const flags = {
  host: { type: "string", default: "127.0.0.1", value: "HOST", help: "server address" },
  port: { type: "number", default: 5000, value: "PORT", help: "server port", check: checks.port },
  backend: { type: "string", default: "bun", value: "NAME", help: "socket backend: bun or node", check: checks.backend },
  timestamps: { type: "boolean", default: false, help: "show [HH:MM:SS] before each received line" },
  color: { type: "boolean", default: true, help: "colour names on a terminal (--no-color, or NO_COLOR set, turns it off)" },
  tls: { type: "boolean", default: false, help: "connect with TLS, verifying the server against the system CAs or --ca" },
  ca: { type: "string", value: "FILE", help: "with --tls: trust the PEM certificates in FILE instead of the system CAs (default: none)" },
  insecure: { type: "boolean", default: false, help: "with --tls: do not verify the server's certificate (anyone could be in the middle)" },
  version: { type: "boolean", help: "print the version and exit" },
  help: { type: "boolean", help: "show this help" },
} as const;

const usage = "bun bin/client.ts [flags]";
const summary = "A TCP chat client: type lines to send them, q to quit, /help for the server's commands.";

const program = { name: "client", usage, summary, flags };
function fail(message: string, code: number): never {
  return failWith(program.name, message, code);
}

async function main(): Promise<void> {
  const opts = parseProgramFlags(program);
  if (!opts) return;
  const tls = tlsOptions(opts.tls!, opts.ca, opts.insecure!);
  const backend = await createBackend(opts.backend as BackendName);
  const conn = await backend.connect({ host: opts.host!, port: opts.port!, ...(tls ? { tls } : {}) }).catch((err: unknown) => {
    if (err instanceof ConnectError) fail(err.message, 1);
    throw err;
  });
  const where = formatHostPort(opts.host!, opts.port!);
  const reactor = new Reactor<"server" | "input">(backend);
  const terminal = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const style: StyleOptions = {
    color: process.stdout.isTTY === true && opts.color! && !process.env.NO_COLOR,
    timestamps: opts.timestamps!,
  };
  let client: ChatClient;
  const io = terminal ? terminalIO(() => client, style, where) : pipeIO(style);
  client = new ChatClient(reactor, conn, backend.stdin(), io);
  const exit = await client.run();
  process.exitCode = exit === ClientExit.QUIT ? 0 : 1;
  // Let the last line reach the server before the process ends: stdin and
  // the socket are closed, so the runtime exits once the write is done.
  setTimeout(() => process.exit(process.exitCode), 2000).unref();
}

/**
 * From a pipe (or to one): one line per line. To a pipe the bytes go
 * through unchanged; to a terminal (input from a pipe) they are styled,
 * and control characters always neutralised (see `visible`), colour or not.
 */
function pipeIO(style: StyleOptions): ChatClientIO {
  const toTerminal = process.stdout.isTTY === true;
  return {
    line: (text) => {
      if (style.color || toTerminal) return void process.stdout.write(styleLine(decodeLine(text), style) + "\n");
      if (style.timestamps) process.stdout.write(timestamp(Date.now()));
      process.stdout.write(text);
      process.stdout.write("\n");
    },
    status: (text) => process.stderr.write(text + "\n"),
  };
}

/**
 * On a terminal: raw mode and the line editor. Stdin's bytes still come
 * through the reactor (ChatClient hands them to `input`); only the
 * editing and drawing happen here.
 */
function terminalIO(client: () => ChatClient, style: StyleOptions, where: string): ChatClientIO {
  const out = (s: string) => process.stdout.write(s);
  const editor = new LineEditor({ prompt: "> ", columns: () => process.stdout.columns || 80 });
  const keys = new TextDecoder(); // streaming: a key's UTF-8 may be split across reads
  const restore = () => {
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
  };
  process.stdin.setRawMode(true);
  process.on("exit", () => {
    out(editor.clear());
    restore();
  });
  process.stdout.on("resize", () => out(editor.render()));
  out(editor.printAbove(styleLine(`Connected to ${where}. /help lists commands; q or Ctrl-C quits.`, { ...style, timestamps: false })));
  return {
    line: (text) => out(editor.printAbove(styleLine(decodeLine(text), style))),
    status: (text) => out(editor.printAbove(styleLine(text, { ...style, timestamps: false }))),
    input: (data) => {
      for (const action of editor.feed(keys.decode(data, { stream: true }))) {
        if (action.kind === "quit") {
          out(editor.clear());
          client().quit();
          return;
        }
        if (action.line === "") continue;
        out(editor.printAbove(styleOwn(action.line, style)));
        client().send(encode(action.line));
      }
      out(editor.render());
    },
  };
}

function tlsOptions(tls: boolean, caFile: string | undefined, insecure: boolean): TlsClientOptions | null {
  if (!tls) {
    if (caFile || insecure) fail("--ca and --insecure only apply with --tls", 2);
    return null;
  }
  if (caFile && insecure) fail("--ca and --insecure contradict each other: pick one", 2);
  if (insecure) return { insecure: true };
  if (!caFile) return {};
  try {
    return { ca: readFileSync(caFile, "utf8") };
  } catch (err) {
    fail(`--ca: cannot read ${caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2);
  }
}

main().catch((err) => fail(`unexpected error: ${err?.message ?? err}`, 1));
