// Per-receiver delivery accounting: every receiver tracks, per sender, the
// highest sequence number seen and the gaps below it. A gap that is filled
// later is an order violation (not a loss); a repeat is a duplicate; what is
// never filled is lost. Pure TS (no Bun imports) so it is unit-tested under Node.

import { Histogram } from "./histogram.ts";

export interface Totals {
  sent: number;
  expected: number;
  delivered: number; // unique deliveries
  lost: number;
  duplicates: number;
  orderViolations: number;
  foreign: number; // messages for another phase or from an unknown sender
}

export class Accounting {
  readonly latency = new Histogram();
  private readonly highest: Int32Array;
  private readonly gaps = new Map<number, Set<number>>(); // slot -> missing seqs
  private readonly sentBy: Float64Array;
  /** per sender: when each seq was sent (or was due), in µs */
  private readonly sentAtBy: Float64Array[];
  delivered = 0;
  duplicates = 0;
  orderViolations = 0;
  foreign = 0;

  /** @param receivers clients that receive (senders included: they get every
   * message except their own) @param senders ids 0..senders-1 */
  constructor(
    readonly receivers: number,
    readonly senders: number,
  ) {
    this.highest = new Int32Array(receivers * senders).fill(-1);
    this.sentBy = new Float64Array(senders);
    this.sentAtBy = Array.from({ length: senders }, () => new Float64Array(1024));
  }

  /** Count the next seq of `sender` as sent at `tUs` (its send or due time). */
  recordSent(sender: number, tUs = 0): void {
    const seq = this.sentBy[sender]++;
    let times = this.sentAtBy[sender];
    if (seq >= times.length) {
      const grown = new Float64Array(times.length * 2);
      grown.set(times);
      this.sentAtBy[sender] = times = grown;
    }
    times[seq] = tUs;
  }

  /** The time recordSent() was given for (sender, seq); 0 if it was not sent. */
  sentAt(sender: number, seq: number): number {
    const times = this.sentAtBy[sender];
    return times !== undefined && seq < this.sentBy[sender] ? times[seq] : 0;
  }

  sentCount(sender: number): number {
    return this.sentBy[sender];
  }

  /** Highest seq from `sender` seen by `receiver` (-1 if none). */
  highestSeen(receiver: number, sender: number): number {
    return this.highest[receiver * this.senders + sender];
  }

  deliver(receiver: number, sender: number, seq: number, latencyUs: number): void {
    if (sender >= this.senders || receiver >= this.receivers || seq - this.highest[receiver * this.senders + sender] > 1e7) {
      this.foreign++;
      return;
    }
    const slot = receiver * this.senders + sender;
    const top = this.highest[slot];
    if (seq === top + 1) {
      this.highest[slot] = seq;
    } else if (seq > top) {
      let missing = this.gaps.get(slot);
      if (!missing) this.gaps.set(slot, (missing = new Set()));
      for (let gap = top + 1; gap < seq; gap++) missing.add(gap);
      this.highest[slot] = seq;
    } else {
      const missing = this.gaps.get(slot);
      if (missing?.delete(seq)) {
        this.orderViolations++;
      } else {
        this.duplicates++;
        return; // a duplicate is not a delivery and has no meaningful latency
      }
    }
    this.delivered++;
    this.latency.record(latencyUs);
  }

  markForeign(): void {
    this.foreign++;
  }

  totals(): Totals {
    let sent = 0;
    for (const count of this.sentBy) sent += count;
    // a sender is also a receiver and never gets its own messages
    const expected = sent * (this.receivers - 1);
    return {
      sent,
      expected,
      delivered: this.delivered,
      lost: expected - this.delivered,
      duplicates: this.duplicates,
      orderViolations: this.orderViolations,
      foreign: this.foreign,
    };
  }
}
