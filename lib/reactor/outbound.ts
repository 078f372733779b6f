/**
 * A connection's outbound queue.
 *
 * Writes made during a tick are only queued; the reactor sends each queue
 * once, just before it sleeps again (Redis's beforeSleep), so a receiver
 * that was sent ten messages in a tick costs one send, not ten. Chunks are
 * kept by reference: a buffer shared by many receivers is never copied
 * until it is sent.
 *
 * The usual queue holds one chunk (a room's shared batch), so that chunk
 * lives in a field of its own and the array is only made for a second one:
 * the flush of a thousand receivers allocates nothing.
 */

/** Where a queue is flushed to: a non-blocking send (see `Connection.send`). */
export interface Sink {
  send(bytes: Uint8Array): number;
}

/** One connection's queued output, sent in one go at the flush phase. */
export class OutboundQueue {
  private first: Uint8Array | null = null;
  private more: Uint8Array[] | null = null;
  /** Bytes waiting to be sent. */
  bytes = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.first === null) this.first = chunk;
    else (this.more ??= []).push(chunk);
    this.bytes += chunk.length;
  }

  get empty(): boolean {
    return this.bytes === 0;
  }

  /**
   * Offer everything to `sink` as one buffer and keep what it did not take.
   * Returns what `send` returned (bytes taken, or -1 for a dead socket).
   */
  flushTo(sink: Sink): number {
    if (this.bytes === 0) return 0;
    const data = this.more === null || this.more.length === 0 ? this.first! : this.joined();
    const n = sink.send(data);
    if (n < 0) return n;
    if (n >= data.length) this.clear();
    else {
      // Keep the rest as a view; a later tick's writable set retries it.
      this.first = data.subarray(n);
      if (this.more) this.more.length = 0;
      this.bytes = data.length - n;
    }
    return n;
  }

  clear(): void {
    this.first = null;
    if (this.more) this.more.length = 0;
    this.bytes = 0;
  }

  private joined(): Uint8Array {
    const out = new Uint8Array(this.bytes);
    out.set(this.first!, 0);
    let at = this.first!.length;
    for (const p of this.more!) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** Concatenate `parts` (of `total` bytes) into one new array. */
export function concat(parts: readonly Uint8Array[], total = sumLengths(parts)): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function sumLengths(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}
