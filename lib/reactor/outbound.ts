/**
 * A connection's outbound queue.
 *
 * Writes made during a tick are only queued; the reactor sends each queue
 * once, just before it sleeps again (Redis's beforeSleep), so a receiver
 * that was sent ten messages in a tick costs one send, not ten. Chunks are
 * kept by reference: a buffer shared by many receivers is never copied
 * until it is sent.
 *
 * The usual queue holds one chunk (a room's shared batch): `ChunkQueue`
 * then allocates nothing, so the flush of a thousand receivers allocates
 * nothing either.
 */
import { ChunkQueue } from "../bytes.ts";

/** Where a queue is flushed to: a non-blocking send (see `Connection.send`). */
export interface Sink {
  send(bytes: Uint8Array): number;
}

/** One connection's queued output, sent in one go at the flush phase. */
export class OutboundQueue {
  private readonly queue = new ChunkQueue();

  /** Bytes waiting to be sent. */
  get bytes(): number {
    return this.queue.bytes;
  }

  get empty(): boolean {
    return this.queue.bytes === 0;
  }

  push(chunk: Uint8Array): void {
    this.queue.push(chunk);
  }

  /**
   * Offer everything to `sink` as one buffer and keep what it did not take.
   * Returns what `send` returned (bytes taken, or -1 for a dead socket).
   */
  flushTo(sink: Sink): number {
    if (this.queue.bytes === 0) return 0;
    const data = this.queue.takeAll();
    const n = sink.send(data);
    // Keep the rest as a view; a later tick's writable set retries it. A
    // dead socket (-1) keeps everything: the caller decides to drop it.
    if (n < data.length) this.queue.push(n > 0 ? data.subarray(n) : data);
    return n;
  }

  clear(): void {
    this.queue.clear();
  }
}
