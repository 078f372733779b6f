#!/usr/bin/env bun
/**
 * The chat client program: `npm run client -- [HOST [PORT]] [flags]`
 * (`npx bun bin/client.ts ...`, or node_modules/.bin/bun in scripts).
 * On a terminal: a line editor with history, incoming lines printed above
 * the input (lib/client/line-editor.ts, shown through lib/client/display.ts),
 * the room in the prompt and Tab completing /join's room (lib/client/rooms.ts).
 * From a pipe: lines in, lines out, as plain as the original.
 */
import { readFileSync } from "node:fs";
import { type BackendName, createBackend } from "../lib/backends/index.ts";
import { ChatClient, type ChatClientIO, ClientExit } from "../lib/client/client.ts";
import { ClientConnectError, connectToServer } from "../lib/client/connect.ts";
import { encode } from "../lib/chat/protocol.ts";
import { decodeLine, HistoryView, NameColors, type StyleOptions, styleLine, styleOwn, timestamp } from "../lib/client/display.ts";
import { LineEditor } from "../lib/client/line-editor.ts";
import { RoomState } from "../lib/client/rooms.ts";
import { checks } from "../lib/cli/flags.ts";
import { fail as failWith, parseProgramFlags } from "../lib/cli/program.ts";
import { formatHostPort, type TlsClientOptions } from "../lib/reactor/backend.ts";
import { parseHostPort } from "../lib/reactor/address.ts";
import { Reactor } from "../lib/reactor/reactor.ts";

/** After `q`, how long a client reading a pipe waits for the server to close (it does at once). */
const QUIT_LINGER_MS = 2000;
/** Entries of scrollback a terminal asks for on joining, unless --history says otherwise. */
const DEFAULT_TERMINAL_HISTORY = 50;

const flags = {
  host: { type: "string", default: "127.0.0.1", value: "HOST", help: "server address", check: oneHost, positional: true },
  port: { type: "number", default: 5000, value: "PORT", help: "server port", check: checks.port, positional: true },
  "connect-timeout": {
    type: "number",
    default: 10,
    value: "SECONDS",
    help: "give up connecting (TCP and TLS handshake) after this long",
    // A timer cannot wait longer than 2^31 - 1 ms; a day is more than anyone waits.
    check: (value: string | number) =>
      (value as number) > 0 && (value as number) <= 86_400 ? null : "must be more than 0 and at most 86400",
  },
  stay: {
    type: "boolean",
    default: false,
    help: "reading a pipe: at end of input keep printing what arrives, until the server closes or Ctrl-C (SIGINT)",
  },
  history: {
    type: "number",
    value: "N",
    help: "ask for the room's last N entries on joining, shown dimmed (default: 50 on a terminal, 0 otherwise)",
    check: checks.wholeNonNegative,
  },
  "show-ids": {
    type: "boolean",
    default: false,
    help: "on a terminal, show /history's answers as the server sends them: each entry's id, and the end line with the last id (through a pipe they always are)",
  },
  backend: { type: "string", default: "bun", value: "NAME", help: "socket backend: bun or node", check: checks.backend },
  timestamps: { type: "boolean", default: false, help: "show [HH:MM:SS] before each received line" },
  color: { type: "boolean", default: true, help: "colour names on a terminal (--no-color, or NO_COLOR set, turns it off)" },
  tls: { type: "boolean", default: false, help: "connect with TLS, verifying the server against the system CAs or --ca" },
  ca: { type: "string", value: "FILE", help: "with --tls: trust the PEM certificates in FILE instead of the system CAs (default: none)" },
  insecure: { type: "boolean", default: false, help: "with --tls: do not verify the server's certificate (anyone could be in the middle)" },
  version: { type: "boolean", help: "print the version and exit" },
  help: { type: "boolean", help: "show this help" },
} as const;

const usage = "npm run client -- [HOST [PORT]] [flags]";
const summary = "A TCP chat client: type lines to send them, q to quit, /help for the server's commands.";

const MORE =
  "Also run as npx bun bin/client.ts [HOST [PORT]] [flags], or in scripts as node_modules/.bin/bun bin/client.ts. " +
  "The client, the protocol and the server's commands: docs/chatting.md.";

const program = { name: "client", usage, summary, flags, npm: "npm run client", more: MORE };
function fail(message: string, code: number): never {
  return failWith(program.name, message, code);
}

async function main(): Promise<void> {
  const opts = parseProgramFlags(program);
  if (!opts) return;
  const tls = tlsOptions(opts.tls!, opts.ca, opts.insecure!);
  const backend = await createBackend(opts.backend as BackendName);
  const host = opts.host!;
  const port = opts.port!;
  const conn = await connectToServer(backend, {
    host,
    port,
    timeoutMs: opts["connect-timeout"]! * 1000,
    ...(tls ? { tls } : {}),
  }).catch((err: unknown) => {
    if (err instanceof ClientConnectError) fail(err.message, 1);
    throw err;
  });
  const where = formatHostPort(host, port);
  const reactor = new Reactor<"server" | "input">(backend);
  const terminal = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const style: StyleOptions = {
    color: process.stdout.isTTY === true && opts.color! && !process.env.NO_COLOR,
    timestamps: opts.timestamps!,
    // Until `/nick`, others know us by the address the server sees (ours, unless a NAT is between).
    names: new NameColors(formatHostPort(conn.local.host, conn.local.port)),
    showIds: opts["show-ids"]!,
  };
  const history = opts.history ?? (terminal ? DEFAULT_TERMINAL_HISTORY : 0);
  const replay = new HistoryView(formatHostPort(conn.local.host, conn.local.port), history > 0, opts["show-ids"]!);
  let client: ChatClient;
  const io = terminal ? terminalIO(() => client, style, where, replay) : pipeIO(style, replay);
  client = new ChatClient(reactor, conn, backend.stdin(), io, {
    tls: tls !== null,
    stay: opts.stay! && !terminal,
    // On a terminal the user is leaving now; from a pipe, a TLS server's answer to what was sent is still caught.
    quitLingerMs: terminal ? 0 : QUIT_LINGER_MS,
  });
  if (history > 0) client.send(encode(`/history ${history}`));
  if (!terminal) {
    // Ctrl-C on a pipeline quits like `q` (the others read "quits", not "is offline"); a second one ends at once.
    process.once("SIGINT", () => {
      process.once("SIGINT", () => process.exit(130));
      client.quit();
    });
  }
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
function pipeIO(style: StyleOptions, replay: HistoryView): ChatClientIO {
  const toTerminal = process.stdout.isTTY === true;
  return {
    line: (text) => {
      if (style.color || toTerminal) {
        const shown = replay.take(decodeLine(text));
        if (shown !== null) process.stdout.write(styleLine(shown, style) + "\n");
        return;
      }
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
function terminalIO(client: () => ChatClient, style: StyleOptions, where: string, replay: HistoryView): ChatClientIO {
  const out = (s: string) => process.stdout.write(s);
  // The room in the prompt, and Tab's rooms for /join: only from what the server says anyway.
  const rooms = new RoomState();
  const editor = new LineEditor({
    prompt: rooms.prompt,
    columns: () => process.stdout.columns || 80,
    complete: (before) => rooms.complete(before),
  });
  const note = (text: string) => out(editor.printAbove(styleLine(text, { ...style, timestamps: false })));
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
    line: (text) => {
      const decoded = decodeLine(text);
      const moved = rooms.follow(decoded);
      if (moved) editor.setPrompt(rooms.prompt);
      const shown = replay.take(decoded);
      if (shown !== null) out(editor.printAbove(styleLine(shown, style)));
      else if (moved) out(editor.render());
    },
    status: note,
    input: (data) => {
      for (const action of editor.feed(keys.decode(data, { stream: true }))) {
        if (action.kind === "quit") {
          out(editor.clear());
          client().quit();
          return;
        }
        if (action.kind === "candidates") {
          note(action.candidates.length ? action.candidates.join("  ") : (action.none ?? ""));
          continue;
        }
        if (action.line === "") continue;
        out(editor.printAbove(styleOwn(action.line, style)));
        client().send(encode(action.line));
      }
      out(editor.render());
    },
  };
}

/** `--host` (or HOST) is one host: `HOST:PORT` in one argument is refused with what to type instead. */
function oneHost(value: string | number): string | null {
  const both = parseHostPort(String(value));
  return both ? `give the host and the port apart: ${both.host} ${both.port} (or --port ${both.port})` : null;
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
