/**
 * A room's fan-out: everyone in it hears every broadcast, each in its own
 * connection's wire format (its codec), a sender only if its codec echoes.
 *
 * Fan-out is where a chat relay spends its time, so broadcasts are not
 * written to each member as they happen. The room keeps one batch per
 * codec in use; a broadcast words the entry once per codec into that
 * codec's batch (never once per reader). Before the reactor sleeps,
 * `seal()` hands each batch, by reference, to every member of its codec
 * that sent nothing in the tick; a member that did (and does not get its
 * own lines back) gets views of the same buffer around its own lines,
 * never a copy, so a tick costs O(batch) memory however many members spoke
 * in it. With the reactor's one-send-per-tick flush, N members cost N
 * sends per tick (a few more for those that spoke), not N × messages. The
 * room's owner calls `seal()` from its before-sleep hook (the server's
 * says in which order with its other end-of-tick work).
 */
import type { Connection } from "../reactor/backend.ts";
import type { Reactor, SelectorKey } from "../reactor/reactor.ts";
import { ByteBuilder, EMPTY_BYTES } from "../bytes.ts";
import type { EntryContent } from "../chat/entry.ts";
import type { Codec } from "../codecs/codec.ts";

/** Which members a broadcast reaches, by their codec (bits). */
export enum Audience {
  /** Members whose codec shows entries as they happen, without ids (`Codec.numbered` false). */
  LIVE = 1,
  /** Members whose codec shows entries with their ids (`Codec.numbered`). */
  NUMBERED = 2,
  ALL = LIVE | NUMBERED,
}

/** One codec's batch in a room, and how many members speak it. */
interface CodecBatch {
  readonly codec: Codec;
  readonly builder: ByteBuilder;
  members: number;
  /** The batch as `seal()` took it, for the members' shares. */
  sealed: Uint8Array;
}

/** One member's place in a room. */
export class Member<T = unknown> {
  /** @internal position in the room's member array (-1: not in a room) */
  index = -1;
  /** @internal offset in its codec's open batch where this member's share starts (it joined, or got the rest by `sendTo`) */
  batchStart = 0;
  /** @internal [start, end) offsets of this member's own lines in its codec's open batch */
  ownSpans: number[] | null = null;
  /** @internal gets only part of the open batch: listed in the room's `partial` list */
  partial = false;
  /** @internal its codec's batch in the room it is in */
  slot: CodecBatch | null = null;
  /** Gets its own broadcasts back (its codec's default; a protocol may set it per client before joining: IRC's echo-message). */
  echo: boolean;

  constructor(
    readonly key: SelectorKey<T, Connection>,
    readonly codec: Codec,
  ) {
    this.echo = codec.echo;
  }

  /** Whether the member is in a room. */
  get joined(): boolean {
    return this.index >= 0;
  }
}

/** The members of a chat room and the open batches of what was broadcast to them this tick. */
export class Room<T = unknown> {
  private members: Member<T>[] = [];
  /** One per codec its members speak (a codec's goes once none is left at a seal). */
  private batches: CodecBatch[] = [];
  /** Members that get less than their whole batch: they joined during it, sent in it or got a `sendTo`. */
  private partial: Member<T>[] = [];

  /**
   * @param coalesce false writes every message to every member at once
   *   (one send each); kept to measure what coalescing gains.
   */
  constructor(
    private readonly reactor: Reactor<T>,
    private readonly coalesce = true,
    /** The room's canonical name, for codecs that name the room in their words. */
    readonly name = "chat",
  ) {}

  get size(): number {
    return this.members.length;
  }

  /** Bytes broadcast so far in the open batches (this tick). */
  get batchBytes(): number {
    let n = 0;
    for (const b of this.batches) n += b.builder.length;
    return n;
  }

  /** Whether a member's codec shows entry ids (else a broadcast needs none). */
  get wantsIds(): boolean {
    for (const b of this.batches) if (b.members > 0 && b.codec.numbered) return true;
    return false;
  }

  /** Members that speak `codec`. */
  membersOf(codec: Codec): number {
    for (const b of this.batches) if (b.codec === codec) return b.members;
    return 0;
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
    const slot = this.slotFor(m.codec);
    slot.members++;
    m.slot = slot;
    m.batchStart = slot.builder.length;
    if (m.batchStart > 0) this.markPartial(m);
  }

  /** Leave the room, taking along what the open batch owes the member. */
  leave(m: Member<T>): void {
    if (!m.joined) return;
    const slot = m.slot!;
    if (slot.builder.length > m.batchStart) this.writeShare(m, slot.builder.view(0));
    slot.members--;
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
   * Word `e` once per codec in use that `audience` takes and add it to
   * that codec's batch, for every member but `from` (unless its codec
   * echoes); returns how many members that is.
   */
  broadcast(e: EntryContent, id: string | null, from: Member<T> | null, audience: Audience = Audience.ALL): number {
    let receivers = 0;
    for (const slot of this.batches) {
      if (slot.members === 0 || !(audience & (slot.codec.numbered ? Audience.NUMBERED : Audience.LIVE))) continue;
      const own = from !== null && from.slot === slot && from.joined && !from.echo;
      receivers += own ? slot.members - 1 : slot.members;
      if (!this.coalesce) {
        this.broadcastNow(slot, e, id, own ? from : null);
        continue;
      }
      const start = slot.builder.length;
      slot.codec.entry(slot.builder, this.name, e, id, false);
      if (own) {
        (from.ownSpans ??= []).push(start, slot.builder.length);
        this.markPartial(from);
      }
    }
    return receivers;
  }

  /** Send `bytes` to one member, after everything broadcast before it. */
  sendTo(m: Member<T>, bytes: Uint8Array): void {
    this.handOver(m);
    this.reactor.write(m.key, bytes);
  }

  /**
   * Queue what the open batch owes `m` so far (it takes the rest at
   * `seal()`), so that what is written to it next comes after it. True
   * when the room must be sealed this tick for it.
   */
  handOver(m: Member<T>): boolean {
    const builder = m.slot?.builder;
    if (!m.joined || !builder || builder.length <= m.batchStart) return false;
    this.writeShare(m, builder.view(0));
    m.batchStart = builder.length;
    m.ownSpans = null;
    this.markPartial(m);
    return true;
  }

  /**
   * Queue the open batches on every member's connection and start new ones
   * (before each sleep; a no-op when nothing was broadcast).
   */
  seal(): void {
    let filled = 0;
    for (const slot of this.batches) {
      if (slot.builder.length === 0) continue;
      slot.sealed = slot.builder.take();
      filled++;
    }
    if (filled === 0) return this.dropUnused();
    if (this.batches.length === 1) {
      // One codec in the room (the common case): one branch less per member.
      const shared = this.batches[0]!.sealed;
      for (const m of this.members) if (!m.partial) this.reactor.write(m.key, shared);
    } else {
      for (const m of this.members) {
        const batch = m.slot!.sealed;
        if (!m.partial && batch.length > 0) this.reactor.write(m.key, batch);
      }
    }
    for (const m of this.partial) {
      if (m.joined) this.writeShare(m, m.slot!.sealed);
      m.partial = false;
      m.batchStart = 0;
      m.ownSpans = null;
    }
    this.partial.length = 0;
    for (const slot of this.batches) slot.sealed = EMPTY_BYTES;
    this.dropUnused();
  }

  private slotFor(codec: Codec): CodecBatch {
    for (const b of this.batches) if (b.codec === codec) return b;
    const slot: CodecBatch = { codec, builder: new ByteBuilder(), members: 0, sealed: EMPTY_BYTES };
    this.batches.push(slot);
    return slot;
  }

  /** A codec nobody in the room speaks any more loses its batch (its bytes were all handed out). */
  private dropUnused(): void {
    for (const b of this.batches) {
      if (b.members === 0 && b.builder.length === 0) {
        this.batches = this.batches.filter((s) => s.members > 0 || s.builder.length > 0);
        return;
      }
    }
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

  /** Without coalescing: word `e` for `slot`'s codec and send it to each of its members now. */
  private broadcastNow(slot: CodecBatch, e: EntryContent, id: string | null, except: Member<T> | null): void {
    const out = new ByteBuilder(256);
    slot.codec.entry(out, this.name, e, id, false);
    const bytes = out.take();
    for (const m of this.members) {
      if (m === except || m.slot !== slot) continue;
      this.reactor.write(m.key, bytes);
      this.reactor.flushKey(m.key);
    }
  }
}
