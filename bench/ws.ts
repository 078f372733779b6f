// The load generator's WebSocket client (RFC 6455), written over plain
// sockets instead of the runtime's `WebSocket` so that receiving costs what
// the TCP targets cost: no event object and no string per frame, just the
// frame headers stripped and the payload scanned in place for benchmark
// messages (bench/message.ts) where it arrived. It speaks only what the
// targets here need: one upgrade, text frames in, masked text frames out,
// ping/pong and close. Pure TS (no Bun imports) so it is unit-tested under Node.
//
// What it reads is JSON events, one per line (lib/chat/events.ts), whole
// events per text frame: `{"k":"line",...,"x":"~b 1 2 3 xxxx"}\n`. The
// benchmark marker `~b ` lies inside `x`; nothing else of an event can hold
// a `~` (ids are base 36, senders HOST:PORT). A join is an event whose kind
// is "join".

import { createHash, randomBytes } from "node:crypto";
import { type Parsed, parseAt } from "./message.ts";
import type { Wire } from "./wire.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Frame opcodes. */
export const OP = { CONTINUATION: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

const TILDE = 0x7e;
const NL = 0x0a;
/** What starts every join event: `{"k":"join",...` */
const JOIN = Buffer.from('"k":"join"');

/** A WebSocket target's address: `ws://HOST:PORT/PATH` (no TLS: the bench measures loopback). */
export interface WsUrl {
  host: string;
  port: number;
  path: string;
}

/** `ws://HOST:PORT[/PATH]` (IPv6 in brackets), or null. The path defaults to `/`. */
export function parseWsUrl(text: string): WsUrl | null {
  const m = /^ws:\/\/(?:\[([^\]]+)\]|([^:/[\]]+)):(\d{1,5})(\/\S*)?$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: (m[1] ?? m[2])!, port, path: m[4] ?? "/" };
}

/** A fresh `Sec-WebSocket-Key`: 16 random bytes, base 64. */
export const newKey = (): string => randomBytes(16).toString("base64");

/** The `Sec-WebSocket-Accept` a server must answer `key` with. */
export const acceptFor = (key: string): string =>
  createHash("sha1")
    .update(key + GUID)
    .digest("base64");

/** `[v6]` or a plain host, as Host and Origin headers write it. */
const hostPart = (host: string): string => (host.includes(":") ? `[${host}]` : host);

/**
 * The upgrade request. `Origin` is the page's own (http://HOST:PORT): what a
 * browser on the gateway's page sends, so an origin check lets it through.
 */
export function upgradeRequest(url: WsUrl, key: string): string {
  const authority = `${hostPart(url.host)}:${url.port}`;
  return [
    `GET ${url.path} HTTP/1.1`,
    `Host: ${authority}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
    `Origin: http://${authority}`,
    "",
    "",
  ].join("\r\n");
}

/**
 * Checks the server's answer to the upgrade (its head, up to the blank
 * line): null when it switched protocols with the right accept value, else
 * why not, in one line.
 */
export function checkUpgradeResponse(head: string, key: string): string | null {
  const lines = head.split("\r\n");
  const status = lines[0] ?? "";
  if (!/^HTTP\/1\.1 101\b/.test(status)) return `upgrade refused: ${status.trim() || "no status line"}`;
  const accept = lines.find((line) => /^sec-websocket-accept:/i.test(line));
  const value = accept?.slice(accept.indexOf(":") + 1).trim();
  if (value !== acceptFor(key)) return "upgrade answered with a wrong Sec-WebSocket-Accept";
  return null;
}

/**
 * One client frame: FIN, `opcode`, masked with a fresh random key as the
 * RFC requires of clients. `payload` and the result are byte strings (one
 * char per byte, latin1), so the load generator can batch frames by `+=`.
 */
export function clientFrame(opcode: number, payload: string): string {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + 4 + n);
  out[0] = 0x80 | opcode;
  if (n < 126) out[1] = 0x80 | n;
  else if (n < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    out.writeUInt32BE(n >>> 0, 6);
  }
  randomBytes(4).copy(out, head);
  out.write(payload, head + 4, "latin1");
  for (let i = 0; i < n; i++) out[head + 4 + i] ^= out[head + (i & 3)];
  return out.toString("latin1");
}

/** A close frame with `code` (1000: normal closure). */
export const closeFrame = (code = 1000): string => clientFrame(OP.CLOSE, String.fromCharCode(code >> 8, code & 0xff));

/**
 * How the load generator talks to a WebSocket chat target (ours with --web,
 * bun-publish, ws://HOST:PORT/PATH). A message line goes out as one text
 * frame without its newline, as the web page sends it. Both targets send
 * every member each line of the room, the sender's own included (our
 * gateway so that a page shows what the room recorded; Bun's
 * `server.publish` because it sends to every subscriber): like Redis's,
 * those copies are received and not counted as deliveries. As over TCP, a
 * joiner is told of every later join, not of its own.
 */
export function wsWire(url: WsUrl): Wire & { readonly url: WsUrl } {
  return {
    name: "ws",
    url,
    greeting: "",
    notice: '"k":"join"',
    noticeName: "join events",
    notices: (have, add) => have * add + (add * (add - 1)) / 2,
    frame: (line) => clientFrame(OP.TEXT, line.endsWith("\n") ? line.slice(0, -1) : line),
    echoesOwn: true,
  };
}

/** What a reader tells its client besides messages. */
export interface WsEvents {
  /** The server switched protocols. */
  upgraded(): void;
  /** The upgrade failed (a refusal or a malformed answer): one line. */
  refused(why: string): void;
  /** A ping came: answer with a pong carrying `payload` (a byte string). */
  ping(payload: string): void;
  /** The server sent a close frame (or broke the protocol: code 1002). */
  closed(code: number, reason: string): void;
}

/** Largest upgrade answer read before giving up on it. */
const MAX_HEAD = 16 * 1024;

/**
 * One connection's incoming bytes: the upgrade answer, then frames. Feed
 * chunks as they arrive; benchmark messages in text frames go to
 * `onMessage` (into the shared `out`), and `feed` returns the join events it
 * saw when asked to count them. Frame headers, partial headers and a
 * partial event at a chunk's end are carried to the next chunk; the
 * payload is scanned in the chunk itself.
 */
export class WsReader {
  private upgrading = true;
  /** the upgrade answer so far */
  private head = "";
  /** payload bytes left in the current frame (-1: between frames) */
  private need = -1;
  /** opcode of the frame being read (a continuation's is its message's) */
  private op = 0;
  /** opcode of the data message being read, for continuation frames */
  private messageOp = 0;
  /** a frame header cut by a chunk's end */
  private readonly headBytes = Buffer.alloc(14);
  private headLen = 0;
  /** a control frame's payload so far (byte string) */
  private control = "";
  /** an event cut by the end of a chunk or frame */
  private carry: Buffer | null = null;
  /** where the next `~` of `tildeBuf` at or after `tildeFrom` is (-1: none) */
  private tildeBuf: Uint8Array | null = null;
  private tildeFrom = 0;
  private tildeAt = -1;
  private done = false;

  constructor(
    /** the Sec-WebSocket-Key the upgrade request sends */
    readonly key: string,
    private readonly out: Parsed,
    private readonly onMessage: (message: Parsed) => void,
    private readonly events: WsEvents,
  ) {}

  /** Reads `chunk`; returns the join events seen (0 unless `countJoins`). */
  feed(chunk: Buffer, countJoins: boolean): number {
    if (this.done) return 0;
    this.tildeBuf = null; // the runtime may hand the same memory over again
    let pos = 0;
    if (this.upgrading) {
      pos = this.readHead(chunk);
      if (pos < 0) return 0;
    }
    let joins = 0;
    const len = chunk.length;
    while (pos < len && !this.done) {
      if (this.need < 0) {
        pos = this.readHeader(chunk, pos);
        if (this.need < 0) break; // header incomplete: kept for the next chunk
        if (this.need === 0) this.endFrame();
        continue;
      }
      const end = Math.min(len, pos + this.need);
      if (this.op === OP.TEXT) joins += this.text(chunk, pos, end, countJoins);
      else if (this.op >= OP.CLOSE) this.control += chunk.toString("latin1", pos, end);
      // binary frames: nothing of the benchmark's, skipped
      this.need -= end - pos;
      pos = end;
      if (this.need === 0) this.endFrame();
    }
    return joins;
  }

  /** Reads the upgrade answer; returns where the frames start in `chunk`, or -1. */
  private readHead(chunk: Buffer): number {
    const before = this.head.length;
    this.head += chunk.toString("latin1");
    const blank = this.head.indexOf("\r\n\r\n");
    if (blank < 0) {
      if (this.head.length > MAX_HEAD) this.fail(() => this.events.refused("upgrade answer too long"));
      return -1;
    }
    const why = checkUpgradeResponse(this.head.slice(0, blank), this.key);
    if (why) {
      this.fail(() => this.events.refused(why));
      return -1;
    }
    this.upgrading = false;
    this.head = "";
    this.events.upgraded();
    return blank + 4 - before;
  }

  private fail(tell: () => void): void {
    this.done = true;
    tell();
  }

  /** Parses a frame header at `pos` (after a partial one kept from the last chunk); returns the position after it. */
  private readHeader(chunk: Buffer, pos: number): number {
    let src: Uint8Array = chunk;
    let at = pos;
    const avail = chunk.length - pos;
    if (this.headLen === 0 && avail >= 2 && avail >= headerSize(chunk[pos + 1]!)) pos += headerSize(chunk[pos + 1]!);
    else {
      // rare: a header cut by the chunk's end, gathered in headBytes
      const take = Math.min(avail, 14 - this.headLen);
      chunk.copy(this.headBytes, this.headLen, pos, pos + take);
      const have = this.headLen + take;
      if (have < 2 || have < headerSize(this.headBytes[1]!)) {
        this.headLen = have;
        return chunk.length;
      }
      pos += headerSize(this.headBytes[1]!) - this.headLen; // the header's part that was in this chunk
      this.headLen = 0;
      src = this.headBytes;
      at = 0;
    }
    const b0 = src[at]!;
    const b1 = src[at + 1]!;
    if (b1 & 0x80) {
      this.fail(() => this.events.closed(1002, "the server masked a frame"));
      return chunk.length;
    }
    const short = b1 & 0x7f;
    const length =
      short === 126 ? (src[at + 2]! << 8) | src[at + 3]! : short === 127 ? readU32(src, at + 2) * 2 ** 32 + readU32(src, at + 6) : short;
    const op = b0 & 0x0f;
    if (op === OP.CONTINUATION) this.op = this.messageOp;
    else {
      this.op = op;
      if (op < OP.CLOSE) this.messageOp = op;
    }
    this.need = length;
    return pos;
  }

  /** A frame's payload is complete: act on control frames. */
  private endFrame(): void {
    this.need = -1;
    if (this.op < OP.CLOSE) return;
    const payload = this.control;
    this.control = "";
    if (this.op === OP.PING) this.events.ping(payload);
    else if (this.op === OP.CLOSE) {
      const code = payload.length >= 2 ? (payload.charCodeAt(0) << 8) | payload.charCodeAt(1) : 1005;
      this.fail(() => this.events.closed(code, Buffer.from(payload.slice(2), "latin1").toString("utf8")));
    }
  }

  /** Text payload bytes [a, b) of `chunk`: whole events are scanned in place, a cut one is carried. */
  private text(chunk: Buffer, a: number, b: number, countJoins: boolean): number {
    let joins = 0;
    if (this.carry) {
      const nl = chunk.indexOf(NL, a);
      if (nl < 0 || nl >= b) {
        this.carry = Buffer.concat([this.carry, chunk.subarray(a, b)]);
        return 0;
      }
      const line = Buffer.concat([this.carry, chunk.subarray(a, nl + 1)]);
      this.carry = null;
      joins += this.scan(line, 0, line.length, countJoins);
      a = nl + 1;
    }
    // a frame holds whole events, so its payload usually ends in a newline
    let end = b;
    if (b > a && chunk[b - 1] !== NL) {
      const last = chunk.lastIndexOf(NL, b - 1);
      end = last >= a ? last + 1 : a;
    }
    if (end > a) joins += this.scan(chunk, a, end, countJoins);
    // copy: the runtime may reuse the chunk's memory after the data callback
    if (end < b) this.carry = Buffer.from(chunk.subarray(end, b));
    return joins;
  }

  /** Whole events in [a, end) of `buf`: messages to onMessage; returns the joins when counting. */
  private scan(buf: Buffer, a: number, end: number, countJoins: boolean): number {
    let joins = 0;
    if (countJoins) for (let at = buf.indexOf(JOIN, a); at >= 0 && at < end; at = buf.indexOf(JOIN, at + JOIN.length)) joins++;
    // The next `~` is searched for once per chunk, not once per frame: a
    // search that ran past this payload (into the next frame's) is reused.
    let marker: number;
    if (this.tildeBuf === buf && this.tildeFrom <= a && (this.tildeAt < 0 || this.tildeAt >= a)) marker = this.tildeAt;
    else marker = buf.indexOf(TILDE, a);
    while (marker >= 0 && marker < end) {
      const next = parseAt(buf, marker, end, this.out, false);
      if (next >= 0) this.onMessage(this.out);
      marker = buf.indexOf(TILDE, next >= 0 ? next : marker + 1);
    }
    this.tildeBuf = buf;
    this.tildeFrom = end;
    this.tildeAt = marker;
    return joins;
  }
}

/** A frame header's size from its second byte: 2, 4 or 10 bytes (a server's frames are not masked). */
const headerSize = (b1: number): number => {
  const short = b1 & 0x7f;
  return short === 126 ? 4 : short === 127 ? 10 : 2;
};

const readU32 = (src: Uint8Array, at: number): number =>
  ((src[at]! << 24) >>> 0) + ((src[at + 1]! << 16) | (src[at + 2]! << 8) | src[at + 3]!);
