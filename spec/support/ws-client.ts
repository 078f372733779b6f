/**
 * A WebSocket client on a raw node:net (or node:tls) socket, for tests
 * under Node 20 (no global WebSocket there): it does the handshake by
 * hand, so a test can also send what no browser would (binary frames,
 * garbage, a bad upgrade) and stop reading to play a slow browser.
 *
 * It collects what it receives: text frames, split into the web format's
 * events (one JSON object per line), and the server's close frame.
 */
import { createHash, randomBytes } from "node:crypto";
import * as net from "node:net";
import * as tls from "node:tls";
import { Waiters } from "./waiters.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** Where and how to open a WebSocket. */
export interface WsOptions {
  host?: string;
  port: number;
  path?: string;
  /** The Origin header (none by default, as a non-browser client). */
  origin?: string;
  /** wss: trust this CA (PEM). */
  tls?: { ca: string };
  /** Extra or replaced request headers; null leaves a header out. */
  headers?: Record<string, string | null>;
}

/** An HTTP answer that was not a 101 (a refused upgrade). */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

// biome-ignore lint/suspicious/noExplicitAny: a test reads whatever fields it checks
export type WsEvent = any;

/** One open WebSocket. */
export class WsClient {
  /** Each text frame received, whole. */
  readonly frames: string[] = [];
  /** Every event received, in order (the frames split at newlines, parsed). */
  readonly events: WsEvent[] = [];
  /** The server's close frame: code and reason (code 1005 when it gave none). */
  closeFrame: { code: number; reason: string } | null = null;
  /** The TCP connection is gone. */
  closed = false;
  /** Binary frames and other opcodes that are not text, by opcode. */
  readonly other: number[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private readonly waiters = new Waiters();
  /** The local port: the server names this client by it. */
  readonly port: number;

  private constructor(
    readonly socket: net.Socket,
    rest: Buffer,
  ) {
    this.port = socket.localPort!;
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("close", () => {
      this.closed = true;
      this.waiters.wake();
    });
    socket.on("error", () => {});
    if (rest.length > 0) this.onData(rest);
    socket.resume();
  }

  /** How the server's notices name this client until it picks a nick. */
  get addr(): string {
    return `(127.0.0.1, ${this.port})`;
  }

  /** Open a WebSocket; rejects if the server answers anything but 101 (see `handshake`). */
  static async open(options: WsOptions): Promise<WsClient> {
    const result = await WsClient.handshake(options);
    if (result instanceof WsClient) return result;
    throw new Error(`upgrade refused: ${result.status} ${result.body.trim()}`);
  }

  /** Try to open a WebSocket: the client, or the HTTP answer that refused it. */
  static handshake(options: WsOptions): Promise<WsClient | HttpAnswer> {
    const key = randomBytes(16).toString("base64");
    const host = options.host ?? "127.0.0.1";
    const headers: Record<string, string | null> = {
      Host: `${host}:${options.port}`,
      Upgrade: "websocket",
      Connection: "Upgrade",
      "Sec-WebSocket-Key": key,
      "Sec-WebSocket-Version": "13",
      ...(options.origin ? { Origin: options.origin } : {}),
      ...options.headers,
    };
    const head = [
      `GET ${options.path ?? "/ws"} HTTP/1.1`,
      ...Object.entries(headers)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => `${k}: ${v}`),
      "",
      "",
    ].join("\r\n");
    return rawRequest(options, head).then(({ socket, status, headers: got, rest }) => {
      if (status !== 101) {
        return readAnswer(socket, rest).then((body) => ({ status, headers: got, body }));
      }
      const accept = createHash("sha1")
        .update(key + GUID)
        .digest("base64");
      if (got["sec-websocket-accept"] !== accept) throw new Error("bad Sec-WebSocket-Accept");
      return new WsClient(socket, rest);
    });
  }

  /** Send `text` as one text frame (masked, as a client must). */
  send(text: string): void {
    this.sendFrame(0x1, Buffer.from(text, "utf8"));
  }

  /** Send one frame with this opcode and payload. */
  sendFrame(opcode: number, payload: Buffer, fin = true): void {
    this.socket.write(encodeFrame(opcode, payload, fin));
  }

  /** Send bytes as they are (not a frame). */
  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Stop reading (a browser that does not keep up): the server's sends back up. */
  stopReading(): void {
    this.socket.pause();
  }

  /** The close handshake from our side. */
  close(code = 1000): void {
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(code);
    this.sendFrame(0x8, payload);
  }

  /** Drop the TCP connection (with a reset, unless the server already closed it: see `LineClient.reset`). */
  reset(): void {
    if (this.socket.writableEnded || this.socket.destroyed) this.socket.destroy();
    else this.socket.resetAndDestroy();
  }

  /** Resolves when `test` holds for the events so far (rejects on timeout). */
  waitUntil(test: (events: WsEvent[]) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return this.waiters.until(
      () => test(this.events),
      what,
      timeoutMs,
      () => `; got: ${JSON.stringify(this.events.slice(-8))}${this.closeFrame ? ` closed ${JSON.stringify(this.closeFrame)}` : ""}`,
    );
  }

  /** Resolves with the first event (from index `from`) that `test` accepts. */
  async waitEvent(test: (e: WsEvent) => boolean, what: string, from = 0, timeoutMs?: number): Promise<WsEvent> {
    let found: WsEvent;
    await this.waitUntil(
      (events) => {
        for (let i = from; i < events.length; i++) {
          if (test(events[i])) {
            found = events[i];
            return true;
          }
        }
        return false;
      },
      what,
      timeoutMs,
    );
    return found;
  }

  /** An event whose text (`x`) includes `text`. */
  waitText(text: string, timeoutMs?: number): Promise<WsEvent> {
    return this.waitEvent((e) => typeof e.x === "string" && e.x.includes(text), JSON.stringify(text), 0, timeoutMs);
  }

  /** The connection is gone (after the server's close frame, or without one). */
  waitClosed(timeoutMs?: number): Promise<void> {
    return this.waiters.until(
      () => this.closed,
      "the connection to close",
      timeoutMs ?? 10_000,
      () => `; close frame: ${JSON.stringify(this.closeFrame)}`,
    );
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const frame = decodeFrame(this.buffer);
      if (!frame) break;
      this.buffer = this.buffer.subarray(frame.size);
      this.onFrame(frame.opcode, frame.payload);
    }
    this.waiters.wake();
  }

  private onFrame(opcode: number, payload: Buffer): void {
    if (opcode === 0x1) {
      const text = payload.toString("utf8");
      this.frames.push(text);
      for (const line of text.split("\n")) if (line !== "") this.events.push(JSON.parse(line));
    } else if (opcode === 0x8) {
      this.closeFrame =
        payload.length >= 2 ? { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString("utf8") } : { code: 1005, reason: "" };
      // Answer the close, then the server ends the connection.
      if (!this.socket.destroyed) this.socket.write(encodeFrame(0x8, payload.subarray(0, 2), true));
    } else if (opcode === 0x9) {
      this.socket.write(encodeFrame(0xa, payload, true));
    } else {
      this.other.push(opcode);
    }
  }
}

/** Open a connection and send `head`; resolves with the status line and headers of the answer. */
function rawRequest(
  options: WsOptions,
  head: string,
): Promise<{ socket: net.Socket; status: number; headers: Record<string, string>; rest: Buffer }> {
  const host = options.host ?? "127.0.0.1";
  return new Promise((resolve, reject) => {
    const socket = options.tls
      ? tls.connect({ host, port: options.port, ca: options.tls.ca, servername: host === "127.0.0.1" ? undefined : host })
      : net.connect({ host, port: options.port });
    let got = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      const end = got.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      socket.pause();
      const lines = got.subarray(0, end).toString("latin1").split("\r\n");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0]!)?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      // Left paused: whoever takes the socket over resumes it once it listens.
      resolve({ socket, status, headers, rest: got.subarray(end + 4) });
    };
    socket.once(options.tls ? "secureConnect" : "connect", () => socket.write(head));
    socket.on("data", onData);
    socket.once("error", reject);
  });
}

/** The body of an HTTP answer (read to the end of the connection). */
function readAnswer(socket: net.Socket, rest: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const chunks = [rest];
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", () => {});
    socket.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
    socket.resume();
  });
}

/** One client frame: masked, with the payload length in the shortest form. */
export function encodeFrame(opcode: number, payload: Buffer, fin = true, mask = true): Buffer {
  const len = payload.length;
  const lenBytes = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + lenBytes + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | opcode;
  head[1] = (mask ? 0x80 : 0) | (lenBytes === 0 ? len : lenBytes === 2 ? 126 : 127);
  if (lenBytes === 2) head.writeUInt16BE(len, 2);
  if (lenBytes === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([head, payload]);
  const key = randomBytes(4);
  key.copy(head, 2 + lenBytes);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = payload[i]! ^ key[i & 3]!;
  return Buffer.concat([head, body]);
}

/** A server frame at the start of `buf` (unmasked), or null while incomplete. */
function decodeFrame(buf: Buffer): { opcode: number; payload: Buffer; size: number } | null {
  if (buf.length < 2) return null;
  const opcode = buf[0]! & 0x0f;
  let len = buf[1]! & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = Number(buf.readBigUInt64BE(2));
    at = 10;
  }
  if (buf.length < at + len) return null;
  return { opcode, payload: buf.subarray(at, at + len), size: at + len };
}
