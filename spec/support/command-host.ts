/**
 * The real room service (lib/server/room-service.ts) without sockets, for
 * unit tests of the commands (lib/server/commands.ts) and of what the
 * service does with them: sessions on fake keys whose `pendingBytes` grows
 * with what they are sent (until `drain()`), records of the chunks each
 * was sent, and the server's log lines.
 */
import type { Connection } from "../../lib/reactor/backend.ts";
import type { Reactor, SelectorKey } from "../../lib/reactor/reactor.ts";
import { EntryKind } from "../../lib/chat/entry.ts";
import { LineCodec } from "../../lib/codecs/line.ts";
import type { Codec } from "../../lib/codecs/codec.ts";
import { runCommand } from "../../lib/server/commands.ts";
import { defaultLimits } from "../../lib/server/limits.ts";
import { defaultRoomLimits, RoomService } from "../../lib/server/room-service.ts";
import { type ServerAttachment, Session, SessionState } from "../../lib/server/session.ts";
import { ServerCounters } from "../../lib/server/stats.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A key's stand-in: only what the service, the room and the commands read. */
interface FakeKey {
  handle: Connection;
  data: ServerAttachment;
  pendingBytes: number;
  valid: boolean;
}

export class CommandHarness {
  readonly counters = new ServerCounters();
  readonly codec: LineCodec;
  /** What each session was sent, as the chunks written to its key (by reference). */
  readonly sent = new Map<Session, Uint8Array[]>();
  /** The server's log lines (joins, leaves, renames). */
  readonly logged: string[] = [];
  readonly service: RoomService;
  private readonly all: Session[] = [];
  private nextPort = 40000;

  constructor(maxOutbound = defaultLimits.maxOutbound, node = "") {
    this.codec = new LineCodec(node);
    const reactor = {
      write: (key: FakeKey, bytes: Uint8Array) => {
        const session = key.data as Session;
        this.sent.set(session, [...(this.sent.get(session) ?? []), bytes]);
        key.pendingBytes += bytes.length;
        return true;
      },
      flushKey: () => {},
    } as unknown as Reactor<ServerAttachment>;
    this.service = new RoomService(
      reactor,
      this.counters,
      {
        room: "chat",
        historyCapacity: 100,
        historyStore: null,
        limits: defaultRoomLimits,
        relay: null,
        node,
        coalesce: true,
        log: (text) => this.logged.push(text),
        words: this.codec,
        maxOutbound,
      },
      () => this.all,
    );
  }

  /** A new client in the room, at 127.0.0.1 and a port of its own, speaking `codec` (the line codec by default). */
  join(codec: Codec = this.codec): Session {
    const conn = { remote: { host: "127.0.0.1", port: this.nextPort++ } } as unknown as Connection;
    const key: FakeKey = { handle: conn, data: null as unknown as ServerAttachment, pendingBytes: 0, valid: true };
    const session = new Session(key as unknown as SelectorKey<ServerAttachment, Connection>, conn, codec, this.codec.node);
    key.data = session;
    session.index = this.all.length;
    this.all.push(session);
    this.service.connect(session);
    return session;
  }

  leave(session: Session, kind: EntryKind.QUIT | EntryKind.LEAVE = EntryKind.LEAVE): void {
    if (session.state !== SessionState.JOINED) return;
    this.all.splice(this.all.indexOf(session), 1);
    this.service.disconnect(session, kind);
  }

  /** Run `text` (a command line, no newline) for `session`, as the dispatcher does (`/quit`: it leaves). */
  run(session: Session, text: string): boolean {
    const room = this.service.roomFor(session, null);
    if (typeof room === "string") throw new Error(room);
    if (runCommand(this.service, session, room, line(text))) return true;
    this.leave(session, EntryKind.QUIT);
    return false;
  }

  /** Run `text` for `session` as said in room `written` (a page's `{"r":ROOM,"x":TEXT}`). */
  runIn(session: Session, written: string, text: string): boolean {
    const room = this.service.roomFor(session, written);
    if (typeof room === "string") throw new Error(room);
    if (runCommand(this.service, session, room, line(text))) return true;
    this.leave(session, EntryKind.QUIT);
    return false;
  }

  /** Everything `session` was sent, decoded (the tick's batch handed out first). */
  received(session: Session): string {
    this.service.endTick();
    return (this.sent.get(session) ?? []).map((b) => decoder.decode(b)).join("");
  }

  /** Forget what was sent (queues count as drained). */
  drain(): void {
    this.service.endTick();
    for (const session of this.sent.keys()) (session.key as unknown as FakeKey).pendingBytes = 0;
    this.sent.clear();
  }

  /** Bytes queued for `session` as if its socket had not taken them. */
  fill(session: Session, bytes: number): void {
    this.service.send(session, new Uint8Array(bytes));
  }

  /** The server's log lines about renames. */
  get renames(): string[] {
    return this.logged.filter((l) => / is now /.test(l));
  }
}

/** A command line's bytes. */
export const line = (text: string): Uint8Array => encoder.encode(text);
