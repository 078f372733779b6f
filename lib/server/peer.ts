/**
 * What the chat server attaches to its reactor's keys: a `Peer` per client,
 * one for the listener, and `Service`s (handles that helpers such as the
 * cluster link serve themselves). Apart from server.ts so that commands and
 * the server's other parts can name a client without importing the server.
 */
import type { Connection, Listener } from "../reactor/backend.ts";
import { formatHostPort } from "../reactor/address.ts";
import type { SelectorKey } from "../reactor/reactor.ts";
import type { Service } from "../reactor/service.ts";
import type { Timer } from "../reactor/timers.ts";
import { LineFramer } from "../chat/framing.ts";
import { EMPTY_BYTES } from "../bytes.ts";
import { addressTuple, encode, messagePrefix, nickPrefix, noticeName } from "../chat/protocol.ts";
import type { ClientLimits } from "./limits.ts";
import { Member } from "./room.ts";

/** What the server keeps per client. */
export class Peer {
  readonly kind = "peer" as const;
  readonly member: Member<ServerAttachment>;
  readonly framer: LineFramer;
  /** What goes in front of its messages: `<HOST:PORT> `, or `<NICK> ` after `/nick`. */
  prefix: Uint8Array;
  /** `(HOST, PORT)`, as notices name it. */
  readonly name: string;
  /** `HOST:PORT`. */
  readonly address: string;
  /** Chosen with `/nick` (see `rename`); null until then. */
  nick: string | null = null;
  /** Its entry in `/who`'s list: `(HOST, PORT)` or `NICK (HOST, PORT)`; made once per name, not per `/who`. */
  whoEntry: Uint8Array;
  /** It was told its command replies are refused (too much output waiting); told again only after one went through. */
  repliesRefused = false;
  /** Delivers an unterminated tail once the connection has gone quiet. */
  tailTimer: Timer | null = null;
  /** Tells it who is here if it stays silent (see `ChatServer.admit`). */
  presenceTimer: Timer | null = null;
  /** Set right after the key is registered. */
  limits: ClientLimits | null = null;
  /**
   * The first bytes, while too few to tell whether they open a TLS
   * handshake (see `looksLikeTls`); null once that is decided.
   */
  firstBytes: Uint8Array | null = EMPTY_BYTES;

  constructor(
    readonly key: SelectorKey<ServerAttachment, Connection>,
    readonly conn: Connection,
    maxLine = Infinity,
  ) {
    this.framer = new LineFramer(maxLine);
    this.member = new Member(key);
    this.prefix = messagePrefix(conn.remote);
    this.name = addressTuple(conn.remote);
    this.address = formatHostPort(conn.remote.host, conn.remote.port);
    this.whoEntry = encode(this.name);
  }

  /** How notices name it: `NICK`, or `Client (HOST, PORT)` until it has one. */
  get noticeName(): string {
    return noticeName(this.conn.remote, this.nick);
  }

  /** Take the nickname `nick` (already checked): its messages read `<NICK> text` from now on. */
  rename(nick: string): void {
    this.nick = nick;
    this.prefix = nickPrefix(nick);
    this.whoEntry = encode(`${nick} ${this.name}`);
  }
}

/** The listener's attachment. */
export interface ListenerAttachment {
  readonly kind: "listener";
  readonly listener: Listener;
}

/** What a key of the server's reactor carries, told apart by `kind`. */
export type ServerAttachment = Peer | ListenerAttachment | Service;
