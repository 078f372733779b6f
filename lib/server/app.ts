/**
 * The chat server program's composition root: given its settings (the
 * flags bin/server.ts parsed), it opens the history store and restores the
 * room's log, takes the ports, joins the cluster, starts the stats sampler
 * and the metrics endpoint, serves, and shuts down in order on a signal.
 *
 * The only module of lib/server that knows the cluster's and the web
 * gateway's implementations: the server itself knows the cluster only
 * through the `Relay` interface (relay.ts).
 *
 * Whatever keeps it from starting is a `StartupError`: one line for the
 * user naming the flag at fault, and the exit status (2: usage, 1: the
 * rest); never a stack trace.
 */
import { type BackendName, createBackend } from "../backends/index.ts";
import { isBunRuntime } from "../backends/runtime.ts";
import { ClusterRelay, randomNodeName } from "../cluster/stream-relay.ts";
import type { RedisTarget } from "../cluster/url.ts";
import { formatHostPort } from "../reactor/address.ts";
import {
  type Backend,
  DEFAULT_BACKLOG,
  describeError,
  type Listener,
  ListenError,
  type ListenOptions,
  type TlsServerOptions,
} from "../reactor/backend.ts";
import { DescriptorBudget } from "../reactor/descriptors.ts";
import { Reactor } from "../reactor/reactor.ts";
import { startGateway, type WebGateway, WebGatewayError } from "../web/gateway.ts";
import { IrcCodecs } from "../irc/codec.ts";
import { IrcProtocol } from "../irc/protocol.ts";
import { type MetricsServer, serveMetrics } from "./metrics-http.ts";
import { type HistoryStore, HistoryStoreError } from "./history.ts";
import { SqliteHistoryStore } from "./history-sqlite.ts";
import { type Limits, limitMessages, socketsWithinFdLimit } from "./limits.ts";
import { createLogger, type LogFormat } from "./logger.ts";
import type { RoomLimits } from "./room-service.ts";
import { ChatServer } from "./server.ts";
import type { ServerAttachment } from "./session.ts";
import { formatStatsLine, StatsSampler } from "./stats.ts";

/** What the program was asked to do (its flags, parsed and checked). */
export interface ServerSettings {
  host: string;
  port: number;
  backend: BackendName;
  tailMs: number;
  coalesce: boolean;
  /** The default room's canonical name. */
  room: string;
  cluster: RedisTarget | null;
  node: string | null;
  clusterRetention: number | null;
  clusterQueue: number;
  logFormat: LogFormat;
  quiet: boolean;
  statsSeconds: number | null;
  metrics: { host: string; port: number } | null;
  limits: Limits;
  /** The open-file limit the limits were fitted to (null: unknown). */
  fdLimit: number | null;
  history: number;
  historyDb: string | null;
  historyAgeMs: number | null;
  web: { host: string; port: number } | null;
  webOrigins: string[];
  tls: TlsServerOptions | null;
  roomLimits: RoomLimits;
  /** `--irc`: an IRC listener (docs/irc.md), or null. */
  irc?: IrcSettings | null;
}

/** The IRC listener's settings (`--irc`, `--server-name`, `--motd`, `--irc-ping`). */
export interface IrcSettings {
  host: string;
  port: number;
  serverName: string;
  /** The MOTD's lines, or null (422). */
  motd: string[] | null;
  /** PING a quiet client after this long, drop it after as long again (ms). */
  pingMs: number;
  /** The software's version (002, 004, VERSION). */
  version: string;
}

/** Why the program cannot start: one line for the user, and the exit status. */
export class StartupError extends Error {
  override readonly name = "StartupError";
  constructor(
    message: string,
    /** 2: a usage error; 1: anything else. */
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

/** Where the program writes, and how it learns of signals (process in the program, fakes in a test). */
export interface ServerIo {
  write(line: string): void;
  onSignal(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
}

/** A bind error that names the flag whose address is taken, and what to do about it. */
function listenFailure(
  flag: "--port" | "--web" | "--metrics" | "--irc",
  err: ListenError | { message: string; reason: string },
): StartupError {
  const instead = flag === "--port" ? "another port with --port PORT" : `another address with ${flag} HOST:PORT`;
  const taken = /address already in use/.test(err.reason);
  return new StartupError(`${flag}: ${err.message}${taken ? ` (is another server running there? stop it, or choose ${instead})` : ""}`);
}

/**
 * Run the server until a signal shuts it down. Throws `StartupError` when
 * it cannot start (nothing is left listening then).
 */
export async function runServer(settings: ServerSettings, io: ServerIo): Promise<void> {
  if (settings.web) {
    if (!isBunRuntime()) throw new StartupError("--web needs the Bun runtime (run the server with bun)", 2);
    if (settings.backend !== "bun") throw new StartupError("--web needs --backend bun (its WebSockets come from Bun.serve)", 2);
  }
  const log = createLogger({ format: settings.logFormat, quiet: settings.quiet, write: io.write });
  // Opened before listening: a file that cannot be used stops the program before it takes the port.
  const store = settings.historyDb === null ? null : openStore(settings, log);
  // Every socket the process accepts (chat, TLS handshakes, metrics) holds a descriptor from this one budget.
  const descriptors = new DescriptorBudget(socketsWithinFdLimit(settings.fdLimit));
  const backend = await createBackend(settings.backend);
  const reactor = new Reactor<ServerAttachment>(backend);
  const listener = await listenOrFail(backend, {
    host: settings.host,
    port: settings.port,
    backlog: DEFAULT_BACKLOG,
    descriptors,
    fullMessage: new TextEncoder().encode(`${limitMessages.full(settings.limits.maxClients)}\n`),
    ...(settings.tls ? { tls: settings.tls } : {}),
  });
  let ircListener: Listener | null = null;
  if (settings.irc) {
    try {
      ircListener = await backend.listen({
        host: settings.irc.host,
        port: settings.irc.port,
        backlog: DEFAULT_BACKLOG,
        descriptors,
        fullMessage: new TextEncoder().encode(`ERROR :${limitMessages.full(settings.limits.maxClients)}\r\n`),
      });
    } catch (err) {
      listener.close();
      if (err instanceof ListenError) throw listenFailure("--irc", err);
      throw err;
    }
  }
  let web: WebGateway | null = null;
  try {
    web = settings.web ? startWeb(settings, descriptors) : null;
  } catch (err) {
    listener.close();
    ircListener?.close();
    throw err;
  }
  const node = settings.cluster ? (settings.node ?? randomNodeName()) : "";
  const relay = settings.cluster
    ? new ClusterRelay(reactor, {
        target: settings.cluster,
        node,
        retention: settings.clusterRetention ?? Math.max(settings.history, 10_000),
        load: settings.history,
        queueBytes: settings.clusterQueue,
        log,
      })
    : null;
  let server: ChatServer;
  try {
    server = new ChatServer(reactor, listener, {
      tailMs: settings.tailMs,
      coalesce: settings.coalesce,
      log,
      relay,
      origin: node,
      room: settings.room,
      limits: settings.limits,
      history: settings.history,
      historyStore: store,
      roomLimits: settings.roomLimits,
    });
  } catch (err) {
    // Opened before listening: a file that cannot be used stops the program before it serves.
    listener.close();
    ircListener?.close();
    web?.stop();
    if (err instanceof HistoryStoreError) throw new StartupError(err.message);
    throw err;
  }
  const roomLog = server.roomLog;
  if (store) log(`History in ${store.where}: ${roomLog.size} entries loaded, last id ${roomLog.lastId ?? "none"}`);
  // Before the start line: whoever waits for it (a test, a supervisor) may signal at once.
  // One shutdown, logged once: `npm start` forwards the terminal's Ctrl-C, which the server already got.
  let signalled = false;
  const stop = (signal: string) => {
    if (signalled) return;
    signalled = true;
    log(`Received ${signal}, shutting down`);
    server.shutdown();
  };
  io.onSignal("SIGINT", () => stop("SIGINT"));
  io.onSignal("SIGTERM", () => stop("SIGTERM"));
  if (web) server.addListener(web.listener);
  if (ircListener && settings.irc) {
    const irc = settings.irc;
    const codecs = new IrcCodecs(irc.serverName, node);
    const dispatcher = server.dispatcher;
    const host = {
      service: server.service,
      reactor,
      quit: (s: Parameters<typeof dispatcher.quit>[0]) => dispatcher.quit(s),
      drop: (s: Parameters<typeof dispatcher.quit>[0], why: string, reason: string) => dispatcher.drop(s, why, reason),
      clients: () => server.clients,
    };
    const protocol = new IrcProtocol(host, codecs, {
      serverName: irc.serverName,
      motd: irc.motd,
      version: irc.version,
      pingMs: irc.pingMs,
      maxRoomsPerClient: settings.roomLimits.maxRoomsPerClient,
      maxRoomName: settings.roomLimits.maxRoomName,
      historyLimit: Math.min(100, Math.max(1, settings.history)),
    });
    server.addListener(ircListener, codecs.plain, protocol);
    const at = ircListener.address;
    log(`IRC on ${formatHostPort(at.host, at.port)} as ${irc.serverName}`);
  }
  // Before the start line, so that whoever waits for that line has the web address too.
  if (web) log(`Web page on ${web.url} (WebSocket ${web.wsUrl})`);
  const { host, port } = listener.address;
  log(`Chat server listening on ${formatHostPort(host, port)} (backend ${backend.name}${settings.tls ? ", TLS" : ""})`);
  let metrics: MetricsServer | null;
  try {
    metrics = startStats(server, relay, log, descriptors, settings);
  } catch (err) {
    listener.close();
    ircListener?.close();
    web?.stop();
    throw err;
  }
  relay?.start(server.relaySink);
  await server.run();
  store?.close();
  web?.stop();
  reactor.close();
  metrics?.stop();
  log("Server stopped");
}

/** `--history-db`: the store, opened; a file that cannot be used is a `StartupError`. */
function openStore(settings: ServerSettings, log: (line: string) => void): HistoryStore {
  // In a cluster the Redis stream is the log, shared by the servers.
  if (settings.cluster) throw new StartupError("--history-db and --cluster do not go together (in a cluster the log is in Redis)", 2);
  return new SqliteHistoryStore(settings.historyDb!, {
    ...(settings.historyAgeMs !== null ? { maxAgeMs: settings.historyAgeMs } : {}),
    defaultRoom: settings.room,
    log,
  });
}

/** Open the chat listener; one that cannot be opened (port taken, bad host) is a `StartupError` naming --port. */
async function listenOrFail(backend: Backend, options: ListenOptions): Promise<Listener> {
  try {
    return await backend.listen(options);
  } catch (err) {
    if (err instanceof ListenError) throw listenFailure("--port", err);
    throw err;
  }
}

/** Start the web gateway; one that cannot start (port taken, no page) is a `StartupError` naming --web. */
function startWeb(settings: ServerSettings, descriptors: DescriptorBudget): WebGateway {
  try {
    return startGateway({
      ...settings.web!,
      origins: settings.webOrigins,
      descriptors,
      maxLine: settings.limits.maxLine,
      ...(settings.tls ? { tls: settings.tls } : {}),
    });
  } catch (err) {
    if (err instanceof ListenError) throw listenFailure("--web", err);
    if (err instanceof WebGatewayError) throw new StartupError(`--web: ${err.message}`);
    throw err;
  }
}

/**
 * --stats and --metrics: one sampler, sampled every --stats seconds (every
 * second when only --metrics is on), on a reactor timer.
 */
function startStats(
  server: ChatServer,
  relay: { readonly up: boolean } | null,
  log: (line: string) => void,
  descriptors: DescriptorBudget,
  settings: ServerSettings,
): MetricsServer | null {
  const { statsSeconds, metrics: metricsAt } = settings;
  if (statsSeconds === null && metricsAt === null) return null;
  const reactor = server.reactor;
  const store = server.options.historyStore;
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
    history: server.roomLog,
    get historyWriteFailures() {
      return store?.failures ?? 0;
    },
    clusterLink: relay,
    rooms: server.service.roomCounts,
  };
  const sampler = new StatsSampler(source, () => reactor.now());
  const periodMs = (statsSeconds ?? 1) * 1000;
  const sample = () => {
    const snapshot = sampler.sample();
    if (statsSeconds !== null) log(formatStatsLine(snapshot));
    reactor.setTimer(periodMs, sample);
  };
  reactor.setTimer(periodMs, sample);
  if (metricsAt === null) return null;
  const { host, port } = metricsAt;
  let endpoint: MetricsServer;
  try {
    endpoint = serveMetrics(host, port, "select-chat server", () => sampler.current(), descriptors);
  } catch (err) {
    const reason = describeError(err);
    throw listenFailure("--metrics", { message: `cannot listen on ${formatHostPort(host, port)}: ${reason}`, reason });
  }
  log(`Metrics on ${endpoint.url}metrics, status page on ${endpoint.url}`);
  return endpoint;
}
