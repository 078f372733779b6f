/**
 * RESP2, the Redis wire protocol: just what the cluster's links need.
 *
 * Commands go out as arrays of bulk strings; replies come back as simple
 * strings, errors, integers, bulk strings and arrays. Bulk strings stay
 * bytes (`Uint8Array`), never decoded: chat payloads are arbitrary bytes.
 * Pure TypeScript, no runtime imports, so it is unit-tested under Node.
 */
import { concat } from "../bytes.ts";

/** A `-ERR ...` reply. A value, not a thrown error: the link decides what it means. */
export class RespError {
  constructor(readonly message: string) {}
}

/** A decoded RESP reply: simple string, integer, bulk bytes, null, error or array. */
export type RespValue = string | number | Uint8Array | null | RespError | RespValue[];

const CR = 13;
const LF = 10;
const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");

/** One command as RESP bytes: `*N\r\n` then `$len\r\narg\r\n` per argument. */
export function encodeCommand(args: readonly (string | Uint8Array)[]): Uint8Array {
  const parts: Uint8Array[] = [encoder.encode(`*${args.length}\r\n`)];
  for (const a of args) {
    const bytes = typeof a === "string" ? encoder.encode(a) : a;
    parts.push(encoder.encode(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return concat(parts);
}

/** Thrown for bytes that are not RESP: the connection cannot be trusted any more. */
export class RespProtocolError extends Error {
  override readonly name = "RespProtocolError";
}

/** Marks "the buffer ends inside this value": parse again once more bytes came. */
const INCOMPLETE = Symbol("incomplete");

/**
 * Incremental reply parser. Feed it chunks as they arrive; it hands out
 * every complete top-level value. A value cut by a chunk boundary waits,
 * and the chunks are joined only once enough bytes are there to finish it,
 * so a large bulk string arriving in many pieces is copied once.
 */
export class RespParser {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  /** Bytes needed before a parse can succeed (a lower bound). */
  private needed = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;

  /** Parse what `chunk` completes; `onValue` gets each top-level value in order. */
  push(chunk: Uint8Array, onValue: (value: RespValue) => void): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.needed) return;
    this.buf = this.chunks.length === 1 ? this.chunks[0]! : concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    this.needed = 0;
    this.pos = 0;
    const end = this.buf.length;
    while (this.pos < end) {
      const start = this.pos;
      const value = this.value();
      if (value === INCOMPLETE) {
        this.pos = start;
        break;
      }
      onValue(value);
    }
    if (this.pos < end) {
      const rest = this.buf.subarray(this.pos);
      this.chunks = [rest];
      this.buffered = rest.length;
      // `needed` was raised by the parse that ran out of bytes.
      this.needed = Math.max(this.needed - this.pos, rest.length + 1);
    }
    this.buf = new Uint8Array(0);
  }

  private value(): RespValue | typeof INCOMPLETE {
    const buf = this.buf;
    const nl = this.lineEnd();
    if (nl < 0) return INCOMPLETE;
    const type = buf[this.pos]!;
    const text = latin1(buf, this.pos + 1, nl - 1);
    this.pos = nl + 1;
    switch (type) {
      case 0x2b: // '+'
        return text;
      case 0x2d: // '-'
        return new RespError(text);
      case 0x3a: // ':'
        return integer(text);
      case 0x24: {
        // '$': bulk string of `len` bytes, then CRLF
        const len = integer(text);
        if (len < 0) return null;
        const stop = this.pos + len;
        if (stop + 2 > buf.length) {
          this.needed = stop + 2;
          return INCOMPLETE;
        }
        if (buf[stop] !== CR || buf[stop + 1] !== LF) throw new RespProtocolError("bulk string not followed by CRLF");
        const bytes = buf.subarray(this.pos, stop);
        this.pos = stop + 2;
        return bytes;
      }
      case 0x2a: {
        // '*': array of `n` values
        const n = integer(text);
        if (n < 0) return null;
        const items: RespValue[] = [];
        for (let i = 0; i < n; i++) {
          const item = this.value();
          if (item === INCOMPLETE) return INCOMPLETE;
          items.push(item);
        }
        return items;
      }
      default:
        throw new RespProtocolError(`unexpected reply type byte 0x${type.toString(16)}`);
    }
  }

  /** Index of the LF ending the CRLF-terminated header line at `pos`, or -1. */
  private lineEnd(): number {
    const nl = this.buf.indexOf(LF, this.pos);
    if (nl < 0) {
      this.needed = this.buf.length + 1;
      return -1;
    }
    if (nl === this.pos || this.buf[nl - 1] !== CR) throw new RespProtocolError("reply line not ended by CRLF");
    return nl;
  }
}

function latin1(buf: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

function integer(text: string): number {
  const n = Number(text);
  if (text === "" || !Number.isInteger(n)) throw new RespProtocolError(`bad integer "${text}"`);
  return n;
}

/** A bulk or simple string reply as text (for command names, channel names, "OK"). */
export function asText(v: RespValue): string | null {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return latin1(v, 0, v.length);
  return null;
}
