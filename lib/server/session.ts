/**
 * What the chat server attaches to its reactor's keys: a `Session` per
 * client connection, an `Acceptor` per listener, and `Service`s (handles
 * that helpers such as the cluster link serve themselves). Apart from the
 * dispatcher so that the room service and the commands can name a client
 * without importing it.
 *
 * A session is the dispatcher's: it holds the connection's codec, framer,
 * limits and timers, and where the client stands (a line client is in the
 * room from accept; other protocols may register first). The room service
 * reads its name and member; the codec holds no per-client state.
 */
import type { Connection, Listener } from "../reactor/backend.ts";
import type { SelectorKey } from "../reactor/reactor.ts";
import type { Service } from "../reactor/service.ts";
import type { Timer } from "../reactor/timers.ts";
import type { LineFramer } from "../chat/framing.ts";
import { EMPTY_BYTES } from "../bytes.ts";
import { MemberName } from "../chat/naming.ts";
import type { Codec } from "../codecs/codec.ts";
import type { ClientLimits } from "./limits.ts";
import { Member } from "./room.ts";

const encoder = new TextEncoder();

/** Where a session stands. */
export enum SessionState {
  /** Connected, not in the room yet (a protocol that registers first). */
  REGISTERING = 0,
  /** In the room. */
  JOINED = 1,
  /** Left or evicted: its key is closing. */
  GONE = 2,
}

/** What the server keeps per client connection. */
export class Session {
  readonly kind = "session" as const;
  /** The rooms it is in, by canonical name, each with its place there, in the order it joined them. */
  readonly rooms = new Map<string, Member<ServerAttachment>>();
  /** The room its lines go to unless they name one (`Codec.route`): the one it joined last. */
  current: string | null = null;
  readonly framer: LineFramer;
  state = SessionState.REGISTERING;
  /** How the room names it; replaced (not changed) on a rename. */
  name: MemberName;
  /** Its entry in `/who`'s list: `HOST:PORT` or `NICK (HOST:PORT)`; made once per name, not per `/who`. */
  whoEntry: Uint8Array;
  /** It was told its command replies are refused (too much output waiting); told again only after one went through. */
  repliesRefused = false;
  /** Delivers an unterminated tail once the connection has gone quiet. */
  tailTimer: Timer | null = null;
  /** Tells it who is here if it stays silent (see `Dispatcher.admit`). */
  presenceTimer: Timer | null = null;
  /** Set right after the key is registered. */
  limits: ClientLimits | null = null;
  /**
   * The first bytes, while too few to tell whether they open a TLS
   * handshake (see `looksLikeTls`); null once that is decided (or never
   * asked, for a codec whose input is not a raw stream).
   */
  firstBytes: Uint8Array | null;
  /** The room of the line being handled, while it is (a reply names it to codecs that tell rooms apart). */
  replyRoom: string | null = null;
  /** Its place in the dispatcher's list of sessions. */
  index = -1;
  /** The protocol its lines follow when not the chat line protocol (see `SessionProtocol`). */
  protocol: SessionProtocol | null = null;
  /** What that protocol keeps for this client (registration, capabilities...). */
  protocolState: unknown = null;

  constructor(
    readonly key: SelectorKey<ServerAttachment, Connection>,
    readonly conn: Connection,
    /** Its wire format; a protocol of its own may choose another before the session is in any room (IRC: per capability set). */
    public codec: Codec,
    node: string,
    maxLine = Infinity,
  ) {
    this.framer = codec.newFramer(maxLine);
    this.name = new MemberName(null, conn.remote.host, conn.remote.port, node);
    this.whoEntry = encoder.encode(this.name.address);
    this.firstBytes = codec.rawStream ? EMPTY_BYTES : null;
  }

  /** How notices on this server name it: `NICK`, or `Client (HOST, PORT)` until it has one. */
  get noticeName(): string {
    return this.name.noticeName(false);
  }

  /** A new place for it in a room (its codec's). */
  newMember(): Member<ServerAttachment> {
    return new Member(this.key, this.codec);
  }

  /** Take the nickname `nick` (already checked). */
  rename(nick: string): void {
    this.name = this.name.renamed(nick);
    this.whoEntry = encoder.encode(`${nick} (${this.name.address})`);
  }
}

/**
 * How the lines of a connection are understood when they are not the chat
 * line protocol's (messages, `/commands`, `q`): a protocol of its own, such
 * as IRC's, that registers a client before it is anywhere and maps its
 * commands onto the room service. Its state per client is the session's
 * (`protocolState`); the dispatcher still frames, limits and evicts.
 */
export interface SessionProtocol {
  /** A new connection: nothing is announced; the protocol decides when it is registered (`RoomService.register`). */
  accepted(session: Session): void;
  /** One complete line, after the rate limit; false stops reading this connection (it was closed). */
  line(session: Session, line: Uint8Array): boolean;
  /** What a line costs against the rate limit (1 for most). */
  cost(session: Session, line: Uint8Array): number;
  /** The connection is gone (the session has left its rooms already). */
  closed(session: Session): void;
  /** A warning that does not close the connection (too many lines); absent: the codec's `error` words it. */
  warn?(session: Session, text: string): void;
  /** The server is shutting down: the last thing to tell the client before its connection closes. */
  shuttingDown?(session: Session): void;
}

/** A listener's attachment: the connections it accepts speak `codec` (and, if given, `protocol`). */
export interface Acceptor {
  readonly kind: "listener";
  readonly listener: Listener;
  readonly codec: Codec;
  readonly protocol: SessionProtocol | null;
}

/** What a key of the server's reactor carries, told apart by `kind`. */
export type ServerAttachment = Session | Acceptor | Service;
