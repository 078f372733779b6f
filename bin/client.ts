#!/usr/bin/env bun
/**
 * The chat client program: `bun bin/client.ts [--host H] [--port P]`.
 * Reads lines from stdin (a terminal or a pipe), prints what others say.
 */
import { type BackendName, createBackend } from "../lib/backends/index.ts";
import { ChatClient, ClientExit } from "../lib/chat/client.ts";
import { checks, formatHelp, parseFlags, UsageError } from "../lib/cli/flags.ts";
import { ConnectError, formatHostPort } from "../lib/reactor/backend.ts";
import { Reactor } from "../lib/reactor/reactor.ts";

const flags = {
  host: { type: "string", default: "127.0.0.1", value: "HOST", help: "server address" },
  port: { type: "number", default: 5000, value: "PORT", help: "server port", check: checks.port },
  backend: { type: "string", default: "bun", value: "NAME", help: "socket backend: bun or node", check: checks.backend },
  help: { type: "boolean", help: "show this help" },
} as const;

const usage = "bun bin/client.ts [flags]";
const summary = "A TCP chat client: type lines to send them, q to quit.";

function fail(message: string, code: number): never {
  process.stderr.write(`client: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let opts;
  try {
    opts = parseFlags(process.argv.slice(2), flags);
  } catch (err) {
    if (err instanceof UsageError) fail(`${err.message}\n${formatHelp(usage, summary, flags)}`, 2);
    throw err;
  }
  if (opts.help) {
    process.stdout.write(formatHelp(usage, summary, flags));
    return;
  }
  const backend = await createBackend(opts.backend as BackendName);
  let conn;
  try {
    conn = await backend.connect({ host: opts.host!, port: opts.port! });
  } catch (err) {
    if (err instanceof ConnectError) fail(err.message, 1);
    throw err;
  }
  const interactive = process.stdin.isTTY === true;
  if (interactive) {
    process.stderr.write(`Connected to ${formatHostPort(opts.host!, opts.port!)}. Type a line to send it, q to quit.\n`);
  }
  const reactor = new Reactor<"server" | "input">(backend);
  const client = new ChatClient(reactor, conn, backend.stdin(), {
    line: (text) => {
      process.stdout.write(text);
      process.stdout.write("\n");
    },
    status: (text) => process.stderr.write(text + "\n"),
  });
  const exit = await client.run();
  process.exitCode = exit === ClientExit.QUIT ? 0 : 1;
  // Let the last line reach the server before the process ends: stdin and
  // the socket are closed, so the runtime exits once the write is done.
  setTimeout(() => process.exit(process.exitCode), 2000).unref();
}

main().catch((err) => fail(`unexpected error: ${err?.message ?? err}`, 1));
