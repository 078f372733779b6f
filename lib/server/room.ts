/**
 * A room: everyone in it hears every broadcast except its sender.
 *
 * Fan-out is where a chat relay spends its time, so broadcasts are not
 * written to each member as they happen. A tick's broadcasts are appended
 * to one byte buffer; before the reactor sleeps, `seal()` hands that same
 * buffer, by reference, to every member that sent nothing in the tick; a
 * member that did gets views of the same buffer around its own lines, never
 * a copy, so a tick costs O(batch) memory however many members spoke in it.
 * With the reactor's one-send-per-tick flush, N members cost N sends per
 * tick (a few more for those that spoke), not N × messages. The room's
 * owner calls `seal()` from its before-sleep hook (the server's says in
 * which order with its other end-of-tick work).
 *
 * A member speaks one of two encodings: TCP lines, or events (the web
 * page's JSON, lib/chat/events.ts). The room keeps a batch of each; the
 * events batch is filled only while web members are in the room, and goes
 * to every one of them, a sender included (a page shows what the room
 * recorded). A member's offsets (`batchStart`, `ownSpans`) are into the
 * batch of its own encoding.
 */
import type { Connection } from "../reactor/backend.ts";
import type { Reactor, SelectorKey } from "../reactor/reactor.ts";
import { ByteBuilder, concat, EMPTY_BYTES } from "../bytes.ts";

/** One member's place in a room. */
export class Member<T = unknown> {
  /** @internal position in the room's member array (-1: not in a room) */
  index = -1;
  /** @internal offset in the open batch where this member's share starts (it joined, or got the rest by `sendTo`) */
  batchStart = 0;
  /** @internal [start, end) offsets of this member's own lines in the open batch */
  ownSpans: number[] | null = null;
  /** @internal gets only part of the open batch: listed in the room's `partial` list */
  partial = false;
  /** Gets the events batch (a web client), not the TCP lines. */
  readonly events: boolean;
  constructor(readonly key: SelectorKey<T, Connection>) {
    this.events = key.handle.transport === "websocket";
  }

  /** Whether the member is in a room. */
  get joined(): boolean {
    return this.index >= 0;
  }
}

/** The members of a chat room and the open batch of what was broadcast to them this tick. */
export class Room<T = unknown> {
  private members: Member<T>[] = [];
  private readonly batch = new ByteBuilder();
  /** This tick's events, for the web members. */
  private readonly eventBatch = new ByteBuilder();
  /** Members that get events (web clients). */
  private eventMembers = 0;
  /** Members that get less than the whole batch: they joined during it, sent in it or got a `sendTo`. */
  private partial: Member<T>[] = [];

  /**
   * @param coalesce false writes every message to every member at once
   *   (one send each); kept to measure what coalescing gains.
   */
  constructor(
    private readonly reactor: Reactor<T>,
    private readonly coalesce = true,
  ) {}

  get size(): number {
    return this.members.length;
  }

  /** Bytes broadcast so far in the open batches (this tick). */
  get batchBytes(): number {
    return this.batch.length + this.eventBatch.length;
  }

  /** Members that get events (web clients): while there are none, nothing needs encoding as an event. */
  get eventReaders(): number {
    return this.eventMembers;
  }

  /** Members, in no particular order. Do not join or leave while iterating. */
  list(): readonly Member<T>[] {
    return this.members;
  }

  /** Join the room; only broadcasts made from now on reach the member. */
  join(m: Member<T>): void {
    if (m.joined) return;
    m.index = this.members.length;
    this.members.push(m);
    if (m.events) this.eventMembers++;
    m.batchStart = this.batchOf(m).length;
    if (m.batchStart > 0) this.markPartial(m);
  }

  /** Leave the room, taking along what the open batch owes the member. */
  leave(m: Member<T>): void {
    if (!m.joined) return;
    const batch = this.batchOf(m);
    if (batch.length > m.batchStart) this.writeShare(m, batch.view(0));
    if (m.events) this.eventMembers--;
    m.batchStart = 0;
    m.ownSpans = null; // `partial` stays set until seal() walks the list
    const last = this.members.pop()!;
    if (last !== m) {
      this.members[m.index] = last;
      last.index = m.index;
    }
    m.index = -1;
  }

  /**
   * Send `a`, `b`, `c` one after the other to every TCP member but `from`;
   * returns how many members that is. Fixed parameters rather than
   * `...parts`: this runs once per message, and a rest array would be an
   * allocation each time.
   */
  broadcast(from: Member<T> | null, a: Uint8Array, b?: Uint8Array, c?: Uint8Array): number {
    const tcpMembers = this.members.length - this.eventMembers;
    const own = from?.joined === true && !from.events;
    const receivers = own ? tcpMembers - 1 : tcpMembers;
    if (!this.coalesce) {
      this.broadcastNow(from, b ? (c ? concat([a, b, c]) : concat([a, b])) : a);
      return receivers;
    }
    const start = this.batch.length;
    this.batch.append(a);
    if (b) this.batch.append(b);
    if (c) this.batch.append(c);
    if (own) {
      (from.ownSpans ??= []).push(start, this.batch.length);
      this.markPartial(from);
    }
    return receivers;
  }

  /**
   * Send one event (or several, each ending in `\n`) to every web member,
   * sender included; returns how many members that is.
   */
  broadcastEvent(event: Uint8Array): number {
    if (this.eventMembers === 0) return 0;
    if (!this.coalesce) {
      for (const m of this.members) {
        if (!m.events) continue;
        this.reactor.write(m.key, event);
        this.reactor.flushKey(m.key);
      }
    } else this.eventBatch.append(event);
    return this.eventMembers;
  }

  /** Send `bytes` to one member, after everything broadcast before it. */
  sendTo(m: Member<T>, bytes: Uint8Array): void {
    const batch = this.batchOf(m);
    if (m.joined && batch.length > m.batchStart) {
      // Hand over what the batch owes it so far; it takes the rest at seal().
      this.writeShare(m, batch.view(0));
      m.batchStart = batch.length;
      m.ownSpans = null;
      this.markPartial(m);
    }
    this.reactor.write(m.key, bytes);
  }

  /**
   * Queue the open batch on every member's connection and start a new one
   * (before each sleep; a no-op when nothing was broadcast).
   */
  seal(): void {
    if (this.batch.length === 0 && this.eventBatch.length === 0) return;
    const shared = this.batch.length > 0 ? this.batch.take() : EMPTY_BYTES;
    const events = this.eventBatch.length > 0 ? this.eventBatch.take() : EMPTY_BYTES;
    if (this.eventMembers === 0) {
      // TCP members only (the common case): one branch less per member.
      if (shared.length === 0) return this.sealPartial(shared, events);
      for (const m of this.members) {
        if (!m.partial) this.reactor.write(m.key, shared);
      }
    } else {
      for (const m of this.members) {
        const batch = m.events ? events : shared;
        if (!m.partial && batch.length > 0) this.reactor.write(m.key, batch);
      }
    }
    this.sealPartial(shared, events);
  }

  /** The members that get part of the batch: their share, as views. */
  private sealPartial(shared: Uint8Array, events: Uint8Array): void {
    for (const m of this.partial) {
      if (m.joined) this.writeShare(m, m.events ? events : shared);
      m.partial = false;
      m.batchStart = 0;
      m.ownSpans = null;
    }
    this.partial.length = 0;
  }

  private batchOf(m: Member<T>): ByteBuilder {
    return m.events ? this.eventBatch : this.batch;
  }

  private markPartial(m: Member<T>): void {
    if (m.partial) return;
    m.partial = true;
    this.partial.push(m);
  }

  /**
   * Queue the part of `batch` a member gets (from where its share starts,
   * minus its own lines) as views of the batch: the outbound queue sends
   * them in order, so nothing is copied per member.
   */
  private writeShare(m: Member<T>, batch: Uint8Array): void {
    const spans = m.ownSpans;
    let at = m.batchStart;
    if (spans) {
      for (let i = 0; i < spans.length; i += 2) {
        if (spans[i]! > at) this.reactor.write(m.key, batch.subarray(at, spans[i]));
        at = spans[i + 1]!;
      }
    }
    if (at < batch.length) this.reactor.write(m.key, at === 0 ? batch : batch.subarray(at));
  }

  private broadcastNow(from: Member<T> | null, bytes: Uint8Array): void {
    for (const m of this.members) {
      if (m === from || m.events) continue;
      this.reactor.write(m.key, bytes);
      this.reactor.flushKey(m.key);
    }
  }
}
