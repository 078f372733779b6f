/**
 * Line framing over a byte stream.
 *
 * Works on bytes, not strings: a relay must pass invalid UTF-8, NULs and
 * control characters through unchanged, and decoding would mangle them.
 * Complete lines are handed out as views of the received chunk (no copy);
 * only a line split across chunks is joined, in the tail's own buffer.
 */
import { ByteBuilder } from "../bytes.ts";

const LF = 10;
const CR = 13;

/** Outcome of `LineFramer.push`. */
export enum FrameResult {
  /** All complete lines were handed out; any rest is kept as the tail. */
  OK = 0,
  /** The consumer asked to stop; the unread rest was dropped. */
  STOPPED = 1,
  /** A line grew past the limit before its newline came. */
  TOO_LONG = 2,
}

/** Smallest tail buffer: a trickled byte costs this much, not a whole received chunk. */
const MIN_TAIL = 64;

/**
 * Splits a byte stream into lines, keeping an unterminated tail between chunks.
 *
 * The tail is copied into one buffer of its own, grown by doubling and
 * dropped once its line is complete: an unfinished line costs about its own
 * size. (Keeping views of the received chunks instead would pin each whole
 * chunk for every trickled byte.)
 */
export class LineFramer {
  /** Bytes received after the last newline, in a buffer of their own (none while empty). */
  private readonly tail = new ByteBuilder(MIN_TAIL, false);
  /** The last tail handed out ended in `\r`: a `\n` that follows is its line end, not a new line. */
  private crTaken = false;

  /** @param maxLine longest line accepted, in bytes, without its `\n` or `\r\n` */
  constructor(readonly maxLine = Infinity) {}

  /** Bytes received after the last newline. */
  get pending(): number {
    return this.tail.length;
  }

  /**
   * Split `chunk` into lines and give each to `onLine` without its `\n`
   * (or `\r\n`). `onLine` returns false to stop reading this connection.
   */
  push(chunk: Uint8Array, onLine: (line: Uint8Array) => boolean | void): FrameResult {
    let start = 0;
    if (this.crTaken) {
      this.crTaken = false;
      if (chunk[0] === LF) start = 1;
    }
    for (;;) {
      const nl = chunk.indexOf(LF, start);
      if (nl < 0) break;
      let line = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.tail.length) {
        if (contentLength(this.tail, line) > this.maxLine) return this.overflow();
        this.tail.append(line);
        // Handed out as a view: the next tail gets a new buffer.
        line = this.tail.take();
      } else if (contentLength(null, line) > this.maxLine) {
        return this.overflow();
      }
      if (line.length && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
      if (onLine(line) === false) return FrameResult.STOPPED;
    }
    if (start < chunk.length) {
      // No view of a chunk that is all tail (a trickled byte): a view makes
      // the runtime give the chunk an ArrayBuffer of its own, several
      // objects per read that the collector may reach late.
      const rest = start === 0 ? chunk : chunk.subarray(start);
      // The tail may be one byte over the limit while that byte is the `\r` of a `\r\n`.
      const after = this.tail.length + rest.length;
      if (after > this.maxLine && !(after === this.maxLine + 1 && rest[rest.length - 1] === CR)) return this.overflow();
      this.tail.append(rest);
    }
    return FrameResult.OK;
  }

  /** Take the unterminated tail (a message without its newline), if any. */
  takeTail(): Uint8Array | null {
    if (!this.tail.length) return null;
    let line = this.tail.take();
    if (line[line.length - 1] === CR) {
      line = line.subarray(0, line.length - 1);
      this.crTaken = true;
    }
    return line;
  }

  private overflow(): FrameResult {
    this.tail.reset();
    return FrameResult.TOO_LONG;
  }
}

/** Length of the line `tail + rest` without a trailing `\r`. */
function contentLength(tail: ByteBuilder | null, rest: Uint8Array): number {
  const held = tail?.length ?? 0;
  const n = held + rest.length;
  const last = rest.length ? rest[rest.length - 1] : held ? tail!.view(held - 1)[0] : -1;
  return last === CR ? n - 1 : n;
}
