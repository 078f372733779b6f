#!/usr/bin/env bun
/**
 * The chat server program: `bun bin/server.ts [--host H] [--port P] [--cluster redis://...]`.
 * Flags and signals are handled here; the select loop is lib/server/server.ts.
 */
import { type BackendName, createBackend } from "../lib/backends/index.ts";
import { clientsWithinFdLimit, defaultLimits, type Limits, limitMessages, socketsWithinFdLimit } from "../lib/server/limits.ts";
import { openFileLimit } from "../lib/cli/fd-limit.ts";
import { createLogger, type LogFormat } from "../lib/server/logger.ts";
import type { ServerAttachment } from "../lib/server/peer.ts";
import { ChatServer } from "../lib/server/server.ts";
import { readTlsPair, TlsFileError } from "../lib/server/tls-files.ts";
import { formatStatsLine, StatsSampler } from "../lib/server/stats.ts";
import { checks } from "../lib/cli/flags.ts";
import { fail as failWith, parseProgramFlags, usageLine } from "../lib/cli/program.ts";
import { type MetricsServer, serveMetrics } from "./metrics-http.ts";
import { formatHostPort, parseHostPort } from "../lib/reactor/address.ts";
import {
  type Backend,
  describeError,
  type Listener,
  ListenError,
  type ListenOptions,
  type TlsServerOptions,
} from "../lib/reactor/backend.ts";
import { Reactor } from "../lib/reactor/reactor.ts";
import { DescriptorBudget } from "../lib/reactor/descriptors.ts";
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
    value: "redis://[USER[:PASSWORD]@]HOST[:PORT][/DB]",
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
  "log-format": {
    type: "string",
    default: "text",
    value: "FORMAT",
    help: "log lines as text or json (each with a timestamp and the client's address)",
    check: (v: string | number) => (v === "text" || v === "json" ? null : 'must be "text" or "json"'),
  },
  quiet: { type: "boolean", default: false, help: "do not log clients coming and going (start, stop, errors and stats still are)" },
  stats: {
    type: "number",
    value: "SECONDS",
    help: "log a one-line summary every SECONDS (default: none)",
    check: checks.positive,
  },
  metrics: {
    type: "string",
    value: "HOST:PORT",
    help: "serve /metrics (Prometheus) and a live status page at / on HOST:PORT (default: none)",
    check: (v: string | number) => (parseHostPort(String(v)) ? null : "must be HOST:PORT, e.g. 127.0.0.1:9100"),
  },
  "max-outbound": {
    type: "number",
    default: defaultLimits.maxOutbound,
    value: "BYTES",
    help: "evict a client (too slow) once this much output waits for it; 0: no limit",
    check: checks.wholeNonNegative,
  },
  "max-line": {
    type: "number",
    default: defaultLimits.maxLine,
    value: "BYTES",
    help: "longest line a client may send; a longer one gets an error and is disconnected",
    check: checks.wholePositive,
  },
  rate: {
    type: "number",
    default: defaultLimits.rate,
    value: "LINES_PER_S",
    help: "lines per second a client may send on average; excess lines are dropped; 0: no limit",
    check: checks.nonNegative,
  },
  burst: {
    type: "number",
    default: defaultLimits.burst,
    value: "N",
    help: "lines a client may send at once above --rate",
    check: checks.wholePositive,
  },
  "max-clients": {
    type: "number",
    default: defaultLimits.maxClients,
    value: "N",
    help: "clients at once; more are told the server is full (lowered to fit the open-file limit)",
    check: checks.wholePositive,
  },
  "intake-bytes": {
    type: "number",
    default: defaultLimits.intakeBytes,
    value: "BYTES",
    help: "input taken from all clients in one tick; the rest waits in the kernel (TCP flow control)",
    check: checks.wholePositive,
  },
  "intake-lines": {
    type: "number",
    default: defaultLimits.intakeLines,
    value: "N",
    help: "lines handled from all clients in one tick",
    check: checks.wholePositive,
  },
  "idle-timeout": {
    type: "number",
    default: 0,
    value: "SECONDS",
    help: "disconnect a client that sent nothing for this long; 0: never",
    check: checks.nonNegative,
  },
  "tls-cert": { type: "string", value: "FILE", help: "serve TLS with this PEM certificate chain (needs --tls-key) (default: none)" },
  "tls-key": { type: "string", value: "FILE", help: "PEM private key for --tls-cert" },
  version: { type: "boolean", help: "print the version and exit" },
  help: { type: "boolean", help: "show this help" },
} as const;

const usage = "bun bin/server.ts [flags]";
const summary = "A TCP chat server: every line a client sends goes to every other client.";

const program = { name: "server", usage, summary, flags };
function fail(message: string, code: number): never {
  return failWith(program.name, message, code);
}

async function main(): Promise<void> {
  const opts = parseProgramFlags(program);
  if (!opts) return;
  const redis = clusterTarget(opts.cluster);
  const tls = readTlsFiles(opts["tls-cert"], opts["tls-key"]);
  const fdLimit = openFileLimit();
  const limits = limitsFrom(opts, fdLimit);
  // Every socket the process accepts (chat, TLS handshakes, metrics) holds a descriptor from this one budget.
  const descriptors = new DescriptorBudget(socketsWithinFdLimit(fdLimit));
  const backend = await createBackend(opts.backend as BackendName);
  const reactor = new Reactor<ServerAttachment>(backend);
  const listener = await listenOrFail(backend, {
    host: opts.host!,
    port: opts.port!,
    backlog: 4096,
    descriptors,
    fullMessage: new TextEncoder().encode(limitMessages.full(limits.maxClients) + "\n"),
    ...(tls ? { tls } : {}),
  });
  const log = createLogger({
    format: opts["log-format"] as LogFormat,
    quiet: opts.quiet!,
    write: (line) => process.stdout.write(line),
  });
  const relay = redis ? new ClusterRelay(reactor, { target: redis, room: opts.room!, queueBytes: opts["cluster-queue"]!, log }) : null;
  const server = new ChatServer(reactor, listener, {
    tailMs: opts["tail-ms"]!,
    coalesce: opts.coalesce!,
    log,
    relay,
    limits,
  });
  // Before the start line: whoever waits for it (a test, a supervisor) may signal at once.
  const stop = (signal: string) => {
    log(`Received ${signal}, shutting down`);
    server.shutdown();
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  const { host, port } = listener.address;
  log(`Chat server listening on ${formatHostPort(host, port)} (backend ${backend.name}${tls ? ", TLS" : ""})`);
  const metrics = startStats(server, log, descriptors, opts.stats, opts.metrics);
  relay?.start((bytes) => server.room.broadcast(null, bytes));
  await server.run();
  reactor.close();
  metrics?.stop();
  log("Server stopped");
  process.exit(0);
}

/** The `--cluster` URL parsed, or null without the flag; a bad URL is a usage error. */
function clusterTarget(url: string | undefined): RedisTarget | null {
  if (url === undefined) return null;
  try {
    return parseRedisUrl(url);
  } catch (err) {
    if (err instanceof RedisUrlError) fail(usageLine(`--cluster: ${err.message}`), 2);
    throw err;
  }
}

/** Open the listener; one that cannot be opened (port taken, bad host) ends the program. */
async function listenOrFail(backend: Backend, options: ListenOptions): Promise<Listener> {
  try {
    return await backend.listen(options);
  } catch (err) {
    if (err instanceof ListenError) fail(err.message, 1);
    throw err;
  }
}

/**
 * --stats and --metrics: one sampler, sampled every --stats seconds (every
 * second when only --metrics is on), on a reactor timer.
 */
function startStats(
  server: ChatServer,
  log: (line: string) => void,
  descriptors: DescriptorBudget,
  statsSeconds?: number,
  metricsAt?: string,
): MetricsServer | null {
  if (statsSeconds === undefined && metricsAt === undefined) return null;
  const reactor = server.reactor;
  const source = {
    counters: server.counters,
    reactor,
    descriptors,
    get clients() {
      return server.clients;
    },
  };
  const sampler = new StatsSampler(source, () => reactor.now());
  const periodMs = (statsSeconds ?? 1) * 1000;
  const sample = () => {
    const snapshot = sampler.sample();
    if (statsSeconds !== undefined) log(formatStatsLine(snapshot));
    reactor.setTimer(periodMs, sample);
  };
  reactor.setTimer(periodMs, sample);
  if (metricsAt === undefined) return null;
  const { host, port } = parseHostPort(metricsAt)!;
  let endpoint: MetricsServer;
  try {
    endpoint = serveMetrics(host, port, "select-chat server", () => sampler.current(), descriptors);
  } catch (err) {
    fail(`--metrics: cannot listen on ${metricsAt}: ${describeError(err)}`, 1);
  }
  log(`Metrics on ${endpoint.url}metrics, status page on ${endpoint.url}`);
  return endpoint;
}

/** `--tls-cert` and `--tls-key`, read and checked (a file that is not what its flag says is a usage error). */
function readTlsFiles(certFile: string | undefined, keyFile: string | undefined): TlsServerOptions | null {
  if (!certFile && !keyFile) return null;
  if (!certFile || !keyFile) fail(usageLine("--tls-cert and --tls-key go together"), 2);
  try {
    return readTlsPair(certFile, keyFile);
  } catch (err) {
    if (err instanceof TlsFileError) fail(err.message, 2);
    throw err;
  }
}

function limitsFrom(
  opts: {
    "max-outbound"?: number;
    "max-line"?: number;
    rate?: number;
    burst?: number;
    "max-clients"?: number;
    "idle-timeout"?: number;
    "intake-bytes"?: number;
    "intake-lines"?: number;
  },
  fdLimit: number | null,
): Limits {
  const wanted = opts["max-clients"]!;
  const maxClients = clientsWithinFdLimit(wanted, fdLimit);
  if (maxClients < wanted) {
    process.stderr.write(`server: --max-clients lowered from ${wanted} to ${maxClients} to fit the open-file limit (${fdLimit})\n`);
  }
  return {
    maxOutbound: opts["max-outbound"]!,
    maxLine: opts["max-line"]!,
    rate: opts.rate!,
    burst: opts.burst!,
    maxClients,
    idleTimeoutMs: opts["idle-timeout"]! * 1000,
    intakeBytes: opts["intake-bytes"]!,
    intakeLines: opts["intake-lines"]!,
  };
}

main().catch((err) => fail(`unexpected error: ${err?.message ?? err}`, 1));
