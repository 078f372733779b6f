/**
 * A room: everyone in it hears every broadcast except its sender.
 *
 * Fan-out is where a chat relay spends its time, so broadcasts are not
 * written to each member as they happen. A tick's broadcasts are appended
 * to one byte buffer; before the reactor sleeps, `seal()` hands that same
 * buffer, by reference, to every member that sent nothing in the tick, and
 * builds a copy without its own lines only for the few that did. With the
 * reactor's one-send-per-tick flush, N members cost N sends per tick, not
 * N × messages.
 */
import type { Reactor, SelectorKey } from "../reactor/reactor.ts";
import { ByteBuilder, concat } from "../bytes.ts";

/** One member's place in a room. */
export class Member<T = unknown> {
  /** @internal position in the room's member array (-1: not in a room) */
  index = -1;
  /** @internal offset in the open batch where this member joined */
  from = 0;
  /** @internal [start, end) offsets of this member's own lines in the open batch */
  spans: number[] | null = null;
  /** @internal listed in the room's `special` list for this batch */
  special = false;
  constructor(readonly key: SelectorKey<T>) {}
}


/** The members of a chat room and the open batch of what was broadcast to them this tick. */
export class Room<T = unknown> {
  private members: Member<T>[] = [];
  private readonly batch = new ByteBuilder();
  /** Members that get less than the whole batch: they joined during it or sent in it. */
  private special: Member<T>[] = [];

  /**
   * @param coalesce false writes every message to every member at once
   *   (one send each); kept to measure what coalescing gains.
   */
  constructor(
    private readonly reactor: Reactor<T>,
    private readonly coalesce = true,
  ) {
    reactor.beforeSleep(() => this.seal());
  }

  get size(): number {
    return this.members.length;
  }

  /** Members, in no particular order. Do not join or leave while iterating. */
  list(): readonly Member<T>[] {
    return this.members;
  }

  /** Join the room; only broadcasts made from now on reach the member. */
  join(m: Member<T>): void {
    if (m.index >= 0) return;
    m.index = this.members.length;
    this.members.push(m);
    m.from = this.batch.length;
    if (m.from > 0) this.markSpecial(m);
  }

  /** Leave the room, taking along what the open batch owes the member. */
  leave(m: Member<T>): void {
    if (m.index < 0) return;
    if (this.batch.length > m.from) this.reactor.write(m.key, this.owed(m, this.batch.view(0)));
    m.from = 0;
    m.spans = null; // `special` stays set until seal() walks the list
    const last = this.members.pop()!;
    if (last !== m) {
      this.members[m.index] = last;
      last.index = m.index;
    }
    m.index = -1;
  }

  /**
   * Send `a`, `b`, `c` one after the other to every member but `from`.
   * Fixed parameters rather than `...parts`: this runs once per message,
   * and a rest array would be an allocation each time.
   */
  broadcast(from: Member<T> | null, a: Uint8Array, b?: Uint8Array, c?: Uint8Array): void {
    if (!this.coalesce) return this.broadcastNow(from, b ? (c ? concat([a, b, c]) : concat([a, b])) : a);
    const start = this.batch.length;
    this.batch.append(a);
    if (b) this.batch.append(b);
    if (c) this.batch.append(c);
    if (from && from.index >= 0) {
      (from.spans ??= []).push(start, this.batch.length);
      this.markSpecial(from);
    }
  }

  /** Send `bytes` to one member, after everything broadcast before it. */
  sendTo(m: Member<T>, bytes: Uint8Array): void {
    if (m.index >= 0 && this.batch.length > m.from) {
      // Hand over what the batch owes it so far; it takes the rest at seal().
      this.reactor.write(m.key, this.owed(m, this.batch.view(0)));
      m.from = this.batch.length;
      m.spans = null;
      this.markSpecial(m);
    }
    this.reactor.write(m.key, bytes);
  }

  /** Queue the open batch on every member's connection (runs before each sleep). */
  seal(): void {
    if (this.batch.length === 0) return;
    const shared = this.batch.take();
    for (const m of this.members) {
      if (!m.special) this.reactor.write(m.key, shared);
    }
    for (const m of this.special) {
      if (m.index >= 0) this.reactor.write(m.key, this.owed(m, shared));
      m.special = false;
      m.from = 0;
      m.spans = null;
    }
    this.special.length = 0;
  }

  private markSpecial(m: Member<T>): void {
    if (m.special) return;
    m.special = true;
    this.special.push(m);
  }

  /** The part of `batch` a member gets: from where it joined, minus its own lines. */
  private owed(m: Member<T>, batch: Uint8Array): Uint8Array {
    const spans = m.spans;
    if (!spans) return batch.subarray(m.from);
    const parts: Uint8Array[] = [];
    let at = m.from;
    for (let i = 0; i < spans.length; i += 2) {
      if (spans[i]! > at) parts.push(batch.subarray(at, spans[i]));
      at = spans[i + 1]!;
    }
    if (at < batch.length) parts.push(batch.subarray(at));
    return parts.length === 1 ? parts[0]! : concat(parts);
  }

  private broadcastNow(from: Member<T> | null, bytes: Uint8Array): void {
    for (const m of this.members) {
      if (m === from) continue;
      this.reactor.write(m.key, bytes);
      this.reactor.flushKey(m.key);
    }
  }
}
