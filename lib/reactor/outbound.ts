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

/** Queues up to this size are joined into one buffer for one send. */
export const JOIN_MAX_BYTES = 64 * 1024;

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
   * Offer the queue to `sink` and keep what it did not take. Returns what
   * `send` returned (bytes taken, or -1 for a dead socket).
   *
   * Small queues go out as one buffer (one send; the copy is cheap). Large
   * ones with several chunks, such as a room member's share of a tick in
   * which it spoke (the shared batch around its own lines, as views), are
   * sent chunk by chunk: a few sends instead of a copy of the whole batch
   * for every member that spoke.
   */
  flushTo(sink: Sink): number {
    const queue = this.queue;
    if (queue.bytes === 0) return 0;
    if (queue.chunks === 1 || queue.bytes <= JOIN_MAX_BYTES) {
      const data = queue.takeAll();
      const n = sink.send(data);
      // Keep the rest as a view; a later tick's writable set retries it. A
      // dead socket (-1) keeps everything: the caller decides to drop it.
      if (n < data.length) queue.push(n > 0 ? data.subarray(n) : data);
      return n;
    }
    let taken = 0;
    for (let chunk = queue.shift(); chunk !== null; chunk = queue.shift()) {
      const n = sink.send(chunk);
      if (n < 0) {
        queue.unshift(chunk);
        return -1;
      }
      taken += n;
      if (n < chunk.length) {
        queue.unshift(chunk.subarray(n));
        break;
      }
    }
    return taken;
  }

  clear(): void {
    this.queue.clear();
  }
}
