/**
 * A chat server on a reactor: the connection dispatcher (dispatcher.ts)
 * and the room service (room-service.ts) put together, with one codec per
 * kind of listener (the TCP port speaks lines, the web gateway events).
 * The program's composition (stores, cluster, stats, signals) is app.ts;
 * this is what a test or an embedding program builds on one reactor.
 */
import type { Listener } from "../reactor/backend.ts";
import type { Address } from "../reactor/events.ts";
import type { ReadySets, Reactor } from "../reactor/reactor.ts";
import type { Codec } from "../codecs/codec.ts";
import { EventsCodec } from "../codecs/events.ts";
import { LineCodec } from "../codecs/line.ts";
import { Dispatcher } from "./dispatcher.ts";
import type { HistoryStore, RoomLog } from "./history.ts";
import { defaultLimits, type Limits } from "./limits.ts";
import type { Relay, RelaySink } from "./relay.ts";
import { defaultRoomLimits, type RoomLimits, RoomService } from "./room-service.ts";
import type { ServerAttachment, Session, SessionProtocol } from "./session.ts";
import { ServerCounters } from "./stats.ts";

/** Options of a `ChatServer`; see `defaultServerOptions`. */
export interface ChatServerOptions {
  /** Deliver an unterminated tail once its connection has been quiet this long (ms). */
  tailMs: number;
  /** One send per receiver per tick (true) or one per message per receiver. */
  coalesce: boolean;
  /**
   * Where connect/leave lines go (the original printed them on stdout);
   * `client` is the address a line is about (see lib/server/logger.ts).
   */
  log: (line: string, client?: Address) => void;
  /** Shares the room with other servers (the cluster's relay). */
  relay: Relay | null;
  /** Per-client limits (see limits.ts). */
  limits: Limits;
  /** Entries each room's log keeps (`--history`). */
  history: number;
  /** Where logs are kept across restarts (`--history-db`), flushed once per tick. */
  historyStore: HistoryStore | null;
  /** How many rooms there may be, and how long their names. */
  roomLimits: RoomLimits;
  /** This server's name in a cluster ("" alone). */
  origin: string;
  /** The default room's canonical name (`--room`). */
  room: string;
}

/** A lone server: 100 ms tails, coalesced writes, no log, no relay. */
export const defaultServerOptions: ChatServerOptions = {
  tailMs: 100,
  coalesce: true,
  log: () => {},
  relay: null,
  limits: defaultLimits,
  history: 1000,
  historyStore: null,
  roomLimits: defaultRoomLimits,
  origin: "",
  room: "chat",
};

/** The chat server; see the top of this file. */
export class ChatServer {
  readonly options: ChatServerOptions;
  /** Lines, bytes and departures, counted once per event (for --stats and --metrics). */
  readonly counters = new ServerCounters();
  readonly service: RoomService;
  readonly dispatcher: Dispatcher;
  /** The TCP port's wire format. */
  readonly lineCodec: LineCodec;
  /** The web gateway's. */
  readonly eventsCodec: EventsCodec;

  /**
   * Takes the reactor's before-sleep hook (the dispatcher's). Throws
   * `HistoryStoreError` when the store cannot give the default room's log.
   */
  constructor(
    readonly reactor: Reactor<ServerAttachment>,
    listener: Listener,
    options: Partial<ChatServerOptions> = {},
  ) {
    const o = (this.options = { ...defaultServerOptions, ...options });
    this.lineCodec = new LineCodec(o.origin);
    this.eventsCodec = new EventsCodec(o.origin);
    this.service = new RoomService(
      reactor,
      this.counters,
      {
        room: o.room,
        historyCapacity: o.history,
        historyStore: o.historyStore,
        limits: o.roomLimits,
        relay: o.relay,
        node: o.origin,
        coalesce: o.coalesce,
        log: o.log,
        words: this.lineCodec,
        maxOutbound: o.limits.maxOutbound,
      },
      () => this.dispatcher.sessions(),
    );
    this.dispatcher = new Dispatcher(reactor, this.service, this.counters, {
      tailMs: o.tailMs,
      limits: o.limits,
      log: o.log,
      node: o.origin,
    });
    this.dispatcher.addListener(listener, this.lineCodec);
  }

  /**
   * Accept clients on another listener too, speaking `codec` (the web
   * gateway's: events) and, if given, `protocol` (IRC's): one set of rooms, one loop.
   */
  addListener(listener: Listener, codec: Codec = this.eventsCodec, protocol: SessionProtocol | null = null): void {
    this.dispatcher.addListener(listener, codec, protocol);
  }

  /** The default room's log. */
  get roomLog(): RoomLog {
    return this.service.defaultRoom.log;
  }

  /** Where a cluster's relay hands the shared log's entries. */
  get relaySink(): RelaySink {
    return this.service.relaySink;
  }

  /** Clients connected. */
  get clients(): number {
    return this.dispatcher.clients;
  }

  /** Web clients among them. */
  get webClients(): number {
    return this.dispatcher.clientsOf(this.eventsCodec);
  }

  /** The clients connected to this server. */
  sessions(): readonly Session[] {
    return this.dispatcher.sessions();
  }

  /** Serve until `shutdown()` has finished. */
  run(): Promise<void> {
    return this.reactor.run((ready) => this.dispatch(ready));
  }

  /** One tick's ready sets (see `Dispatcher.dispatch`). */
  dispatch(ready: ReadySets<ServerAttachment>): void {
    this.dispatcher.dispatch(ready);
  }

  /** Tell everyone the server is going, flush, close every connection (see `Dispatcher.shutdown`). */
  shutdown(graceMs = 2000): void {
    this.dispatcher.shutdown(graceMs);
  }
}
