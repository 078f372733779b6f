/**
 * WebSocket connections as reactor handles (Bun only: Bun.serve's
 * ServerWebSocket, on uWebSockets).
 *
 * A browser is one more kind of key. Bun pushes events at us (open,
 * message, drain, close) as it does for sockets; the handles here keep
 * the same readiness bookkeeping (`StreamHandle`, `ListenerHandle`) and
 * wake the reactor through the same watcher, so a WebSocket is served by
 * the one select() loop like a TCP client:
 *
 *   open          -> the listener's accept backlog (readable);
 *   text frame    -> its text and a newline, unread input (readable), so
 *                    the server's line framer gets one line per frame;
 *   drain         -> writable again (after a send refused for backpressure);
 *   close         -> EOF, or an error for an abnormal close.
 *
 * `send()` sends its bytes as one text frame. Bun never refuses a frame:
 * it queues what the kernel does not take. So that a browser that does not
 * read is found out like a slow TCP reader, `send()` takes nothing (returns
 * 0) while that queue is over `OUTBOUND_HIGH_WATER`: the rest waits in the
 * reactor's outbound queue (`key.pendingBytes`), where the server's
 * slow-reader check sees it.
 */
import type { ServerWebSocket, WebSocketHandler } from "bun";
import type { Connection, Listener } from "../reactor/backend.ts";
import type { DescriptorLease } from "../reactor/descriptors.ts";
import { type Address, Ready } from "../reactor/events.ts";
import { INBOUND_HIGH_WATER, ListenerHandle, StreamHandle } from "../backends/handles.ts";

/**
 * Bytes Bun may hold for one socket before `send()` refuses more. Small,
 * like the kernel's buffer in front of it: what waits beyond it waits in
 * the reactor's queue, where --max-outbound counts it.
 */
export const OUTBOUND_HIGH_WATER = 64 * 1024;

/**
 * Bun's own limit on a socket's queue, past which it drops a frame. A send
 * goes out only while the queue is under `OUTBOUND_HIGH_WATER`, so this is
 * reached only by one huge frame; a dropped frame would leave a hole in
 * the client's stream, so the connection is then dropped instead.
 */
export const RUNTIME_BACKPRESSURE_LIMIT = 64 * 1024 * 1024;

/**
 * Input uWebSockets may still deliver after `pause()`: the rest of the
 * read it is in (it reads up to 512 KiB at once), with room to spare.
 */
const DELIVERED_AFTER_PAUSE = 1024 * 1024;

/** Close codes the gateway sends (RFC 6455, section 7.4.1). */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  UNSUPPORTED_DATA: 1003,
  NO_STATUS: 1005,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
} as const;

/** Why a WebSocket went: an abnormal close (by the peer, the runtime, or a limit here). */
export class WebSocketClosedError extends Error {
  override readonly name = "WebSocketClosedError";
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(`websocket closed (${code}${reason ? `: ${reason}` : ""})`);
  }
}

/** What the gateway attaches to each upgraded socket (Bun's `ws.data`). */
export interface WebSocketData {
  /** The client's address (from the HTTP request: `ws.remoteAddress` has no port). */
  readonly remote: Address;
  /** Its descriptor in the server's budget, released when it closes. */
  readonly lease: DescriptorLease | null;
  /** Set in `open`. */
  conn: WebSocketConnection | null;
}

/** The part of Bun's ServerWebSocket a connection uses (a test can fake it). */
export type WebSocketLike = Pick<
  ServerWebSocket<WebSocketData>,
  "sendText" | "getBufferedAmount" | "close" | "terminate" | "pause" | "resume"
>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The text of the last bytes sent, kept by a listener for all its
 * connections: a tick sends the same batch, by reference, to every web
 * member, so it is decoded once, not once per member. Identity is a safe
 * key: a sender never changes bytes it has handed to send() (see
 * `Connection.send`).
 */
export class SentText {
  private lastBytes: Uint8Array | null = null;
  private lastText = "";

  /** `bytes` as a string for `sendText` (they are whole UTF-8 events). */
  of(bytes: Uint8Array): string {
    if (bytes !== this.lastBytes) {
      this.lastText = decoder.decode(bytes);
      this.lastBytes = bytes;
    }
    return this.lastText;
  }
}

/** One browser (or other WebSocket client) as a reactor connection. */
export class WebSocketConnection extends StreamHandle implements Connection {
  readonly kind = "connection" as const;
  /**
   * The last send went into Bun's queue (sendText returned -1) and the
   * queue has not been seen empty since: its size must be asked for.
   * While false it is empty, and asking would be a native call per send.
   */
  private queued = false;
  /** Input received and not taken by recv() yet (bytes). */
  private unread = 0;

  /**
   * @param inboundLimit unread input past which the connection is closed
   *   (see `received`)
   * @param closing whether the server is shutting down: a close then says
   *   1001 (going away) instead of 1000
   * @param text the decoding of sent bytes, shared with the listener's other connections
   */
  constructor(
    private readonly ws: WebSocketLike,
    readonly remote: Address,
    readonly local: Address,
    private readonly inboundLimit: number,
    private readonly closing: () => boolean = () => false,
    private readonly text: SentText = new SentText(),
  ) {
    super();
  }

  override readiness(): number {
    const r = super.readiness();
    return r & Ready.WRITABLE && this.overHighWater() ? r & ~Ready.WRITABLE : r;
  }

  override recv(maxBytes?: number): Uint8Array | null {
    const data = super.recv(maxBytes);
    if (data) this.unread -= data.length;
    return data;
  }

  /**
   * Send `bytes` (whole events) as one text frame: all or nothing, so a
   * frame never splits an event. 0 while Bun's queue for this socket is
   * over the high-water mark (WRITABLE comes back with `drain`).
   */
  send(bytes: Uint8Array): number {
    if (this.gone) return -1;
    if (bytes.length === 0 || this.overHighWater()) return 0;
    const status = this.ws.sendText(this.text.of(bytes));
    if (status === -1) this.queued = true;
    else if (status === 0) {
      // Dropped: the socket is closing, or the frame alone passed Bun's limit.
      this.error ??= new Error("websocket send failed: the frame was dropped");
      this.ws.terminate();
      return this.recordSend(-1, bytes.length);
    }
    return bytes.length;
  }

  /** Graceful close: a close frame after what was sent (1001 while the server shuts down). */
  close(): void {
    if (this.gone) return;
    this.gone = true;
    if (this.closing()) this.ws.close(CloseCode.GOING_AWAY, "server shutting down");
    else this.ws.close(CloseCode.NORMAL);
  }

  /** Abortive close: drop the connection now, no close frame. */
  abort(): void {
    if (this.gone) return;
    this.gone = true;
    this.ws.terminate();
  }

  /**
   * Close with `code` and `reason` for breaking a rule of the gateway (a
   * binary frame, too much unread input): the server sees an error and
   * tells the others the client went offline.
   */
  refuse(code: number, reason: string): void {
    if (this.gone) return;
    this.error ??= new WebSocketClosedError(code, reason);
    this.gone = true;
    this.ws.close(code, reason);
    this.notify();
  }

  protected pauseReading(): void {
    this.ws.pause();
  }

  protected resumeReading(): void {
    this.ws.resume();
  }

  // ---- events, from the listener's handlers ----

  /**
   * A text frame: its text and a newline, as input. Reading is paused
   * above INBOUND_HIGH_WATER like a socket's, but a paused WebSocket still
   * delivers what uWebSockets has already read, and a frame may be as
   * large as --max-line: so unread input is also bounded outright, and a
   * client past the bound (far over the mark) is closed with 1008 rather
   * than let grow our memory.
   */
  received(text: string): void {
    if (this.gone) return;
    const bytes = encoder.encode(`${text}\n`);
    if (this.unread + bytes.length > this.inboundLimit) {
      return this.refuse(CloseCode.POLICY_VIOLATION, "sending faster than the server reads");
    }
    this.unread += bytes.length;
    this.onData(bytes);
  }

  /** Bun's queue for the socket shrank: a send refused for backpressure may go now. */
  drained(): void {
    if (this.queued) this.notify();
  }

  /** The socket is closed (by us or the peer): a normal close is EOF, any other an error. */
  closed(code: number, reason: string): void {
    const normal = code === CloseCode.NORMAL || code === CloseCode.GOING_AWAY || code === CloseCode.NO_STATUS;
    this.onClosed(normal ? null : new WebSocketClosedError(code, reason));
  }

  /** Whether Bun holds more than the high-water mark for this socket. */
  private overHighWater(): boolean {
    if (!this.queued) return false;
    const buffered = this.ws.getBufferedAmount();
    if (buffered === 0) this.queued = false;
    return buffered > OUTBOUND_HIGH_WATER;
  }
}

/**
 * The gateway's WebSockets as a listener: Bun.serve's `open` puts each new
 * connection in the accept backlog. Pass `handlers` as Bun.serve's
 * `websocket` option, then `bind()` the server once it listens.
 */
export class WebSocketListener extends ListenerHandle<WebSocketConnection> implements Listener {
  address: Address = { host: "", port: 0 };
  private stopServer: () => void = () => {};
  private stopped = false;
  /** Unread input past which a connection is closed (see `WebSocketConnection.received`). */
  private readonly inboundLimit: number;
  /** Shared by its connections: a batch sent to all of them is decoded once. */
  private readonly sentText = new SentText();
  /** Bun.serve's `websocket` option: the events of every upgraded socket, routed to its handle. */
  readonly handlers: WebSocketHandler<WebSocketData>;

  /** @param maxLine --max-line: the largest text frame taken; a larger one is closed with 1009 by Bun. */
  constructor(maxLine: number) {
    super();
    this.inboundLimit = INBOUND_HIGH_WATER + DELIVERED_AFTER_PAUSE + 2 * (maxLine + 1);
    const listener = this;
    const closing = () => listener.stopped;
    this.handlers = {
      maxPayloadLength: maxLine,
      backpressureLimit: RUNTIME_BACKPRESSURE_LIMIT,
      closeOnBackpressureLimit: false,
      // The server's --idle-timeout applies, as to TCP clients; no pings of Bun's own.
      idleTimeout: 0,
      sendPings: false,
      perMessageDeflate: false,
      open(ws) {
        if (listener.stopped) return void ws.close(CloseCode.GOING_AWAY, "server shutting down");
        const conn = new WebSocketConnection(ws, ws.data.remote, listener.address, listener.inboundLimit, closing, listener.sentText);
        ws.data.conn = conn;
        listener.onConnection(conn);
      },
      message(ws, message) {
        const conn = ws.data.conn;
        if (!conn) return;
        if (typeof message === "string") conn.received(message);
        else conn.refuse(CloseCode.UNSUPPORTED_DATA, "binary frames are not accepted");
      },
      drain(ws) {
        ws.data.conn?.drained();
      },
      close(ws, code, reason) {
        ws.data.conn?.closed(code, reason);
        ws.data.lease?.release();
      },
    };
  }

  /** The server is listening at `address`; `stop` stops it taking new connections. */
  bind(address: Address, stop: () => void): void {
    this.address = address;
    this.stopServer = stop;
  }

  /** Whether `close()` was called: connections still open are closed with 1001. */
  get closed(): boolean {
    return this.stopped;
  }

  /** Stop accepting (connections already accepted stay, until the server closes them). */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopServer();
  }
}
