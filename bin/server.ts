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
import { HistoryStoreError, RoomLog } from "../lib/server/history.ts";
import { SqliteHistoryStore, type StoredHistory } from "../lib/server/history-sqlite.ts";
import { parseDuration } from "../lib/cli/duration.ts";
import { readTlsPair, TlsFileError } from "../lib/server/tls-files.ts";
import { formatStatsLine, StatsSampler } from "../lib/server/stats.ts";
import { checks, UsageError } from "../lib/cli/flags.ts";
import { type GatewayOptions, OriginError, parseOrigin, startGateway, type WebGateway, WebGatewayError } from "../lib/web/gateway.ts";
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
import { ClusterRelay, randomNodeName } from "../lib/cluster/relay.ts";
import { NODE_NAME } from "../lib/cluster/stream-entry.ts";
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
    help: "share the room with other servers: its log is a Redis Stream (default: none, a lone server)",
  },
  room: { type: "string", default: "chat", value: "NAME", help: "with --cluster: servers with the same Redis and room are one room" },
  node: {
    type: "string",
    value: "NAME",
    help: "with --cluster: this server's name, shown after the address of its clients without a nickname\n(default: 6 random characters)",
    check: (v: string | number) =>
      NODE_NAME.test(String(v)) ? null : "must be 1 to 32 letters, digits, _, - or ., starting with a letter or digit",
  },
  "cluster-retention": {
    type: "number",
    value: "N",
    help: "with --cluster: entries the stream keeps (MAXLEN ~N): how far behind a server may fall and miss nothing\n(default: --history or 10000, the larger)",
    check: checks.wholePositive,
  },
  "cluster-queue": {
    type: "number",
    default: 1 << 20,
    value: "BYTES",
    help: "with --cluster: entries kept while Redis is away; beyond this they are not relayed",
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
  history: {
    type: "number",
    default: 1000,
    value: "N",
    help: "entries of the room's log kept for /history and resume (0: none)",
    check: checks.wholeNonNegative,
  },
  "history-db": {
    type: "string",
    value: "FILE",
    help: "keep the room's log in this SQLite file across restarts (created if missing; not with --cluster) (default: none)",
  },
  "history-age": {
    type: "string",
    value: "DURATION",
    help: "with --history-db: also drop entries older than this, e.g. 7d, 12h, 30m (default: kept by count only)",
    parse: (value: string | undefined, flag: string) => parseDuration(value, flag),
  },
  web: {
    type: "string",
    value: "HOST:PORT",
    help: "serve the chat page at / and WebSockets at /ws on HOST:PORT, in the same room (Bun only) (default: none)",
    check: (v: string | number) => (parseHostPort(String(v)) ? null : "must be HOST:PORT, e.g. 127.0.0.1:8080"),
  },
  "web-origin": {
    type: "string",
    value: "ORIGIN",
    help: "with --web: another origin whose pages may open /ws (repeatable or comma-separated) (default: the page's own only)",
    parse: (v: string | undefined, flag: string) => webOriginsFlag(v, flag),
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
  const webAt = webTarget(opts.web, opts["web-origin"], opts.backend!);
  const tls = readTlsFiles(opts["tls-cert"], opts["tls-key"]);
  // Opened before listening: a file that cannot be used stops the program before it takes the port.
  const history = openHistory(opts["history-db"], opts["history-age"], opts.history!, redis !== null, (line) => log(line));
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
  const web = webAt
    ? startWebOrFail({ ...webAt, origins: opts["web-origin"] ?? [], descriptors, maxLine: limits.maxLine, ...(tls ? { tls } : {}) })
    : null;
  const log = createLogger({
    format: opts["log-format"] as LogFormat,
    quiet: opts.quiet!,
    write: (line) => process.stdout.write(line),
  });
  const node = redis ? (opts.node ?? randomNodeName()) : "";
  const relay = redis
    ? new ClusterRelay(reactor, {
        target: redis,
        room: opts.room!,
        node,
        retention: opts["cluster-retention"] ?? Math.max(opts.history!, 10_000),
        load: opts.history!,
        queueBytes: opts["cluster-queue"]!,
        log,
      })
    : null;
  const server = new ChatServer(reactor, listener, {
    tailMs: opts["tail-ms"]!,
    coalesce: opts.coalesce!,
    log,
    relay,
    origin: node,
    limits,
    history: roomLog(opts.history!, history),
    historyStore: history?.store ?? null,
  });
  if (history) log(`History in ${history.store.file}: ${server.log.size} entries loaded, last id ${server.log.lastId ?? "none"}`);
  // Before the start line: whoever waits for it (a test, a supervisor) may signal at once.
  const stop = (signal: string) => {
    log(`Received ${signal}, shutting down`);
    server.shutdown();
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  if (web) server.addListener(web.listener);
  // Before the start line, so that whoever waits for that line has the web address too.
  if (web) log(`Web page on ${web.url} (WebSocket ${web.wsUrl})`);
  const { host, port } = listener.address;
  log(`Chat server listening on ${formatHostPort(host, port)} (backend ${backend.name}${tls ? ", TLS" : ""})`);
  const metrics = startStats(server, log, descriptors, opts.stats, opts.metrics);
  relay?.start(server.relaySink);
  await server.run();
  history?.store.close();
  web?.stop();
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

/** --web-origin values so far: the flag may be given more than once, each a comma-separated list. */
const webOrigins: string[] = [];

/** One `--web-origin` value, added to the others; a value that is not an origin is a usage error. */
function webOriginsFlag(value: string | undefined, flag: string): string[] {
  if (value === undefined) throw new UsageError(`${flag} needs a value`);
  for (const item of value.split(",")) {
    try {
      webOrigins.push(parseOrigin(item));
    } catch (err) {
      if (err instanceof OriginError) throw new UsageError(`${flag}: ${err.message}`);
      throw err;
    }
  }
  return webOrigins;
}

/**
 * `--web HOST:PORT`, checked against the runtime: the gateway is Bun.serve's
 * WebSocket server, so it needs Bun and the Bun backend (usage errors otherwise).
 */
function webTarget(at: string | undefined, origins: string[] | undefined, backend: string): { host: string; port: number } | null {
  if (at === undefined) {
    if (origins) fail(usageLine("--web-origin goes with --web"), 2);
    return null;
  }
  if (typeof (globalThis as { Bun?: unknown }).Bun === "undefined")
    fail(usageLine("--web needs the Bun runtime (run the server with bun)"), 2);
  if (backend !== "bun") fail(usageLine("--web needs --backend bun (its WebSockets come from Bun.serve)"), 2);
  return parseHostPort(at)!;
}

/** Start the web gateway; one that cannot start (port taken, no page) ends the program. */
function startWebOrFail(options: GatewayOptions): WebGateway {
  try {
    return startGateway(options);
  } catch (err) {
    if (err instanceof ListenError || err instanceof WebGatewayError) fail(`--web: ${err.message}`, 1);
    throw err;
  }
}

/** `--history-db`: the store, opened and read, or null without the flag; a file that cannot be used ends the program. */
function openHistory(
  file: string | undefined,
  maxAgeMs: number | undefined,
  capacity: number,
  clustered: boolean,
  log: (line: string) => void,
): { store: SqliteHistoryStore; stored: StoredHistory } | null {
  if (file === undefined) {
    if (maxAgeMs !== undefined) fail(usageLine("--history-age needs --history-db"), 2);
    return null;
  }
  // In a cluster the Redis stream is the log, shared by the servers.
  if (clustered) fail(usageLine("--history-db and --cluster do not go together (in a cluster the log is in Redis)"), 2);
  const store = new SqliteHistoryStore(file, { ...(maxAgeMs !== undefined ? { maxAgeMs } : {}), log });
  try {
    return { store, stored: store.load(capacity) };
  } catch (err) {
    if (err instanceof HistoryStoreError) fail(err.message, 1);
    throw err;
  }
}

/** The room's log, with what the store kept (the same epoch, so ids given before the restart still resume). */
function roomLog(capacity: number, history: { store: SqliteHistoryStore; stored: StoredHistory } | null): RoomLog {
  const log = new RoomLog(capacity);
  if (!history) return log;
  const { store, stored } = history;
  // What the store drops for age is not replayed from memory either.
  log.maxAgeMs = store.maxAgeMs;
  try {
    if (stored.epoch === null) store.setEpoch(log.epoch);
    else {
      log.restore(stored.epoch, stored.entries);
      // None kept within retention: numbering still goes on from the last id given.
      if (log.lastSeq < stored.lastSeq) log.reset(stored.epoch, stored.lastSeq);
    }
  } catch (err) {
    if (err instanceof HistoryStoreError) fail(err.message, 1);
    throw err;
  }
  return log;
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
    get webClients() {
      return server.webClients;
    },
    history: server.log,
    get historyWriteFailures() {
      return server.options.historyStore?.failures ?? 0;
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
