/**
 * A `CommandHost` without sockets for unit tests of lib/server/commands.ts:
 * a real `Room` for membership, peers on fake keys whose `pendingBytes`
 * grows with what they are sent, and records of what was sent, said and
 * announced.
 */
import type { Connection } from "../../lib/reactor/backend.ts";
import type { Reactor, SelectorKey } from "../../lib/reactor/reactor.ts";
import type { CommandHost, HistoryRequest } from "../../lib/server/commands.ts";
import { defaultLimits } from "../../lib/server/limits.ts";
import { Peer, type ServerAttachment } from "../../lib/server/peer.ts";
import { Room } from "../../lib/server/room.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A key's stand-in: only what commands and the room read. */
interface FakeKey {
  handle: Connection;
  data: ServerAttachment;
  pendingBytes: number;
  valid: boolean;
}

export class FakeCommandHost implements CommandHost {
  readonly room = new Room<ServerAttachment>({ write: () => true } as unknown as Reactor<ServerAttachment>);
  maxOutbound = defaultLimits.maxOutbound;
  /** What each peer was sent, as the chunks `send` got (by reference). */
  readonly sent = new Map<Peer, Uint8Array[]>();
  /** `say` calls: prefix and line, decoded. */
  readonly said: string[] = [];
  /** `announce` calls. */
  readonly notices: string[] = [];
  private nextPort = 40000;

  /** A new client in the room, at 127.0.0.1 and a port of its own. */
  join(): Peer {
    const conn = { remote: { host: "127.0.0.1", port: this.nextPort++ } } as unknown as Connection;
    const key: FakeKey = { handle: conn, data: null as unknown as ServerAttachment, pendingBytes: 0, valid: true };
    const peer = new Peer(key as unknown as SelectorKey<ServerAttachment, Connection>, conn);
    key.data = peer;
    this.room.join(peer.member);
    return peer;
  }

  leave(peer: Peer): void {
    this.room.leave(peer.member);
  }

  /** Everything `peer` was sent, decoded. */
  received(peer: Peer): string {
    return (this.sent.get(peer) ?? []).map((b) => decoder.decode(b)).join("");
  }

  /** Forget what was sent (queues count as drained). */
  drain(): void {
    for (const peer of this.sent.keys()) (peer.key as unknown as FakeKey).pendingBytes = 0;
    this.sent.clear();
  }

  members() {
    return this.room.list();
  }

  reply(peer: Peer, text: string): void {
    this.send(peer, encoder.encode(text + "\n"));
  }

  send(peer: Peer, bytes: Uint8Array): void {
    this.sent.set(peer, [...(this.sent.get(peer) ?? []), bytes]);
    (peer.key as unknown as FakeKey).pendingBytes += bytes.length;
  }

  announce(_about: Peer, text: string): void {
    this.notices.push(text);
  }

  say(_peer: Peer, prefix: Uint8Array, line: Uint8Array): void {
    this.said.push(decoder.decode(prefix) + decoder.decode(line));
  }

  /** Names other servers' clients go by (lower case), for `nickElsewhere`. */
  readonly elsewhere = new Set<string>();
  nickElsewhere(nick: string): boolean {
    return this.elsewhere.has(nick.toLowerCase());
  }
  quit(peer: Peer): void {
    this.leave(peer);
  }

  /** `/history` requests, as the commands parsed them. */
  readonly replays: HistoryRequest[] = [];

  replay(_peer: Peer, request: HistoryRequest, fits: (bytes: number) => boolean): boolean {
    this.replays.push(request);
    return fits(0);
  }
}

/** Run `text` (a command line, no newline) for `peer`. */
export const line = (text: string): Uint8Array => encoder.encode(text);
