#!/usr/bin/env bun
/**
 * The chat server program: `npm start -- [flags]` (`node_modules/.bin/bun
 * bin/server.ts [flags]` in scripts and service files). It parses flags
 * and hands them to lib/server/app.ts, which builds and runs the server;
 * the select loop is lib/server/dispatcher.ts.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { BackendName } from "../lib/backends/index.ts";
import { canonicalRoom, roomNameRule } from "../lib/chat/rooms.ts";
import { NODE_NAME } from "../lib/chat/naming.ts";
import { openFileLimit } from "../lib/cli/fd-limit.ts";
import { parseDuration } from "../lib/cli/duration.ts";
import { checks, UsageError } from "../lib/cli/flags.ts";
import { fail as failWith, parseProgramFlags, usageLine } from "../lib/cli/program.ts";
import { parseRedisUrl, type RedisTarget, RedisUrlError } from "../lib/cluster/url.ts";
import { parseHostPort } from "../lib/reactor/address.ts";
import type { TlsServerOptions } from "../lib/reactor/backend.ts";
import { type IrcSettings, runServer, StartupError } from "../lib/server/app.ts";
import { defaultRoomLimits } from "../lib/server/room-service.ts";
import { clientsWithinFdLimit, defaultLimits, type Limits } from "../lib/server/limits.ts";
import type { LogFormat } from "../lib/server/logger.ts";
import { readTlsPair, TlsFileError } from "../lib/server/tls-files.ts";
import { OriginError, parseOrigin } from "../lib/web/gateway.ts";

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
  room: {
    type: "string",
    default: "chat",
    value: "NAME",
    help: "the room clients enter (#NAME or NAME); with --cluster, servers with the same Redis and room share it",
    check: (v: string | number) => (canonicalRoom(String(v), Infinity) ? null : `must be a room name: ${roomNameRule()}`),
  },
  node: {
    type: "string",
    value: "NAME",
    help: "with --cluster: this server's name, shown after the address of its clients without a nickname (default: 6 random characters)",
    check: (v: string | number) =>
      NODE_NAME.test(String(v)) ? null : "must be 1 to 32 letters, digits, _, - or ., starting with a letter or digit",
  },
  "cluster-retention": {
    type: "number",
    value: "N",
    help: "with --cluster: entries the stream keeps (MAXLEN ~N): how far behind a server may fall and miss nothing (default: --history or 10000, the larger)",
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
  "max-rooms": {
    type: "number",
    default: defaultRoomLimits.maxRooms,
    value: "N",
    help: "rooms on this server at once; /join of a new room past it is refused",
    check: checks.wholePositive,
  },
  "max-rooms-per-client": {
    type: "number",
    default: defaultRoomLimits.maxRoomsPerClient,
    value: "N",
    help: "rooms one web client may be in at once (a line client is in one)",
    check: checks.wholePositive,
  },
  "max-room-name": {
    type: "number",
    default: defaultRoomLimits.maxRoomName,
    value: "N",
    help: "longest room name, in characters without the #",
    check: checks.wholePositive,
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
    parse: (v: string | undefined, flag: string, previous?: unknown) => webOriginsFlag(v, flag, previous as string[] | undefined),
  },
  irc: {
    type: "string",
    value: "HOST:PORT",
    help: "also speak IRC on HOST:PORT: channels are the rooms (#chat is the room TCP clients are in), see docs/irc.md (default: none)",
    check: (v: string | number) => (parseHostPort(String(v)) ? null : "must be HOST:PORT, e.g. 127.0.0.1:6667"),
  },
  "server-name": {
    type: "string",
    value: "NAME",
    help: "with --irc: the server's name in IRC replies (default: the host name)",
    check: (v: string | number) =>
      /^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(String(v)) ? null : "must be a host-like name: letters, digits, . and -",
  },
  motd: { type: "string", value: "FILE", help: "with --irc: the message of the day, from this text file (default: none, 422)" },
  "irc-ping": {
    type: "string",
    value: "DURATION",
    help: "with --irc: PING a client quiet this long, drop it after as long again without an answer (default: 2m)",
    parse: (value: string | undefined, flag: string) => parseDuration(value, flag),
  },
  "tls-cert": { type: "string", value: "FILE", help: "serve TLS with this PEM certificate chain (needs --tls-key) (default: none)" },
  "tls-key": { type: "string", value: "FILE", help: "PEM private key for --tls-cert" },
  version: { type: "boolean", help: "print the version and exit" },
  help: { type: "boolean", help: "show this help" },
} as const;

const usage = "npm start -- [flags]";
const summary = "A TCP chat server: every line a client sends goes to every other client.";

const program = {
  name: "server",
  usage,
  summary,
  flags,
  npm: "npm start",
  more: "Limits, TLS, metrics and running it as a service: docs/operating.md.",
};
function fail(message: string, code: number): never {
  return failWith(program.name, message, code);
}

async function main(): Promise<void> {
  const opts = parseProgramFlags(program);
  if (!opts) return;
  if (opts["web-origin"] && opts.web === undefined) fail(usageLine("--web-origin goes with --web"), 2);
  if (opts["history-age"] !== undefined && opts["history-db"] === undefined) fail(usageLine("--history-age needs --history-db"), 2);
  for (const f of ["server-name", "motd", "irc-ping"] as const) {
    if (opts[f] !== undefined && opts.irc === undefined) fail(usageLine(`--${f} goes with --irc`), 2);
  }
  const fdLimit = openFileLimit();
  try {
    await runServer(
      {
        host: opts.host!,
        port: opts.port!,
        backend: opts.backend as BackendName,
        tailMs: opts["tail-ms"]!,
        coalesce: opts.coalesce!,
        room: roomName(opts.room!, opts["max-room-name"]!),
        cluster: clusterTarget(opts.cluster),
        node: opts.node ?? null,
        clusterRetention: opts["cluster-retention"] ?? null,
        clusterQueue: opts["cluster-queue"]!,
        logFormat: opts["log-format"] as LogFormat,
        quiet: opts.quiet!,
        statsSeconds: opts.stats ?? null,
        metrics: opts.metrics === undefined ? null : parseHostPort(opts.metrics),
        limits: limitsFrom(opts, fdLimit),
        fdLimit,
        history: opts.history!,
        historyDb: opts["history-db"] ?? null,
        historyAgeMs: opts["history-age"] ?? null,
        web: opts.web === undefined ? null : parseHostPort(opts.web),
        webOrigins: opts["web-origin"] ?? [],
        tls: readTlsFiles(opts["tls-cert"], opts["tls-key"]),
        irc: ircSettings(opts.irc, opts["server-name"], opts.motd, opts["irc-ping"]),
        roomLimits: {
          maxRooms: opts["max-rooms"]!,
          maxRoomsPerClient: opts["max-rooms-per-client"]!,
          maxRoomName: opts["max-room-name"]!,
        },
      },
      {
        write: (line) => process.stdout.write(line),
        onSignal: (signal, handler) => process.on(signal, handler),
      },
    );
  } catch (err) {
    if (err instanceof StartupError) fail(err.exitCode === 2 ? usageLine(err.message) : err.message, err.exitCode);
    throw err;
  }
  process.exit(0);
}

/** `--irc` and its companions; a MOTD file that cannot be read is an error naming --motd. */
function ircSettings(
  at: string | undefined,
  name: string | undefined,
  motd: string | undefined,
  pingMs: number | undefined,
): IrcSettings | null {
  if (at === undefined) return null;
  const address = parseHostPort(at)!;
  let lines: string[] | null = null;
  if (motd !== undefined) {
    try {
      // Its bytes as they are (latin1 keeps one character per byte): IRC lines are bytes.
      lines = readFileSync(motd, "latin1").replace(/\r/g, "").replace(/\n$/, "").split("\n");
    } catch (err) {
      fail(`--motd: cannot read ${motd}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 1);
    }
  }
  const version = `select-chat-${(JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version}`;
  const serverName = name ?? (hostname().replace(/[^A-Za-z0-9.-]/g, "") || "select-chat");
  return { host: address.host, port: address.port, serverName, motd: lines, pingMs: pingMs ?? 120_000, version };
}

/** `--room`'s canonical name; one longer than --max-room-name is a usage error. */
function roomName(written: string, max: number): string {
  const name = canonicalRoom(written, max);
  if (name === null) fail(usageLine(`--room: must be a room name: ${roomNameRule(max)}`), 2);
  return name;
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

/** One `--web-origin` value, added to those before it: the flag may be given more than once, each a comma-separated list. */
function webOriginsFlag(value: string | undefined, flag: string, previous: string[] | undefined): string[] {
  if (value === undefined) throw new UsageError(`${flag} needs a value`);
  const origins = [...(previous ?? [])];
  for (const item of value.split(",")) {
    try {
      origins.push(parseOrigin(item));
    } catch (err) {
      if (err instanceof OriginError) throw new UsageError(`${flag}: ${err.message}`);
      throw err;
    }
  }
  return origins;
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
