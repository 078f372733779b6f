#!/usr/bin/env bun
/**
 * The chat server program: `bun bin/server.ts [--host H] [--port P] [--cluster redis://...]`.
 * Flags and signals are handled here; the select loop is lib/chat/server.ts.
 */
import { type BackendName, createBackend } from "../lib/backends/index.ts";
import { ChatServer, type Slot } from "../lib/chat/server.ts";
import { checks, formatHelp, parseFlags, UsageError } from "../lib/cli/flags.ts";
import { formatHostPort, ListenError } from "../lib/reactor/backend.ts";
import { Reactor } from "../lib/reactor/reactor.ts";
import { ClusterRelay } from "../lib/cluster/relay.ts";
import { parseRedisUrl, type RedisTarget, RedisUrlError } from "../lib/cluster/url.ts";

const flags = {
  host: { type: "string", default: "127.0.0.1", value: "HOST", help: "address to listen on" },
  port: { type: "number", default: 5000, value: "PORT", help: "TCP port (0: any free port)", check: checks.port },
  backend: { type: "string", default: "bun", value: "NAME", help: "socket backend: bun or node", check: checks.backend },
  "tail-ms": {
    type: "number",
    default: 100,
    value: "MS",
    help: "deliver a line without newline after the sender is quiet this long",
    check: checks.nonNegative,
  },
  coalesce: { type: "boolean", default: true, help: "one write per receiver per tick (--no-coalesce: one per message)" },
  cluster: {
    type: "string",
    value: "redis://HOST:PORT[/DB]",
    help: "share the room with other servers through Redis pub/sub (default: none, a lone server)",
  },
  room: { type: "string", default: "chat", value: "NAME", help: "with --cluster: servers with the same Redis and room are one room" },
  "cluster-queue": {
    type: "number",
    default: 1 << 20,
    value: "BYTES",
    help: "with --cluster: messages kept while Redis is away; beyond this they are not relayed",
    check: checks.positive,
  },
  help: { type: "boolean", help: "show this help" },
} as const;

const usage = "bun bin/server.ts [flags]";
const summary = "A TCP chat server: every line a client sends goes to every other client.";

function fail(message: string, code: number): never {
  process.stderr.write(`server: ${message}\n`);
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
  let redis: RedisTarget | null = null;
  try {
    if (opts.cluster !== undefined) redis = parseRedisUrl(opts.cluster);
  } catch (err) {
    if (err instanceof RedisUrlError) fail(`--cluster: ${err.message}`, 2);
    throw err;
  }
  const backend = await createBackend(opts.backend as BackendName);
  const reactor = new Reactor<Slot>(backend);
  let listener;
  try {
    listener = await backend.listen({ host: opts.host!, port: opts.port!, backlog: 4096 });
  } catch (err) {
    if (err instanceof ListenError) fail(err.message, 1);
    throw err;
  }
  const log = (line: string) => process.stdout.write(line + "\n");
  const relay = redis
    ? new ClusterRelay(reactor, { target: redis, room: opts.room!, queueBytes: opts["cluster-queue"]!, log })
    : null;
  const server = new ChatServer(reactor, listener, {
    tailMs: opts["tail-ms"]!,
    coalesce: opts.coalesce!,
    log,
    relay,
  });
  const { host, port } = listener.address;
  process.stdout.write(`Chat server listening on ${formatHostPort(host, port)} (backend ${backend.name})\n`);
  relay?.start((bytes) => server.room.broadcast(null, bytes));
  const stop = (signal: string) => {
    process.stdout.write(`Received ${signal}, shutting down\n`);
    server.shutdown();
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  await server.run();
  reactor.close();
  process.stdout.write("Server stopped\n");
  process.exit(0);
}

main().catch((err) => fail(`unexpected error: ${err?.message ?? err}`, 1));
