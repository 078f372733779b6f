/**
 * A connection's outbound queue.
 *
 * Writes made during a tick are only queued; the reactor sends each queue
 * once, just before it sleeps again (Redis's beforeSleep), so a receiver
 * that was sent ten messages in a tick costs one send, not ten. Chunks are
 * kept by reference: a buffer shared by many receivers is never copied
 * until it is sent.
 */
export class OutboundQueue {
  private chunks: Uint8Array[] = [];
  /** Bytes waiting to be sent. */
  bytes = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  get empty(): boolean {
    return this.bytes === 0;
  }

  /**
   * Offer everything to `send` as one buffer and keep what it did not take.
   * Returns what `send` returned (bytes taken, or -1 for a dead socket).
   */
  flushTo(send: (bytes: Uint8Array) => number): number {
    if (this.bytes === 0) return 0;
    const data = this.chunks.length === 1 ? this.chunks[0]! : concat(this.chunks, this.bytes);
    const n = send(data);
    if (n < 0) return n;
    if (n >= data.length) {
      this.chunks = [];
      this.bytes = 0;
    } else {
      // Keep the rest as a view; a later tick's writable set retries it.
      this.chunks = [data.subarray(n)];
      this.bytes = data.length - n;
    }
    return n;
  }

  clear(): void {
    this.chunks = [];
    this.bytes = 0;
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
