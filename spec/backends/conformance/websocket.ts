/**
 * The conformance suite's WebSocket harness (Bun only): the connections
 * under test are the web gateway's (lib/web/gateway.ts: Bun.serve, the
 * upgrade, the descriptor lease; each one a `WebSocketConnection` from
 * lib/web/websocket.ts), accepted from its listener as the chat server
 * does. `listen()` starts a gateway; `connect()` opens a WebSocket to it
 * with `WebSocketClient`, a small RFC 6455 client over a node:net socket
 * that is itself a reactor connection, so a case's client side runs on a
 * reactor as with the TCP backends.
 *
 * The client sends each line as one text frame (the gateway gives a frame
 * as that line with its newline, so a line sent is the line received) and
 * receives the payload of every frame as bytes, which are whole events as
 * the gateway sends them.
 */
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import * as net from "node:net";
import { SocketHandle } from "../../../lib/backends/handles.ts";
import { CallbackBackend } from "../../../lib/backends/io-pass.ts";
import { formatHostPort, plainHost } from "../../../lib/reactor/address.ts";
import {
  type ConnectOptions,
  type Connection,
  ConnectError,
  describeError,
  type Listener,
  type ListenOptions,
} from "../../../lib/reactor/backend.ts";
import type { Address } from "../../../lib/reactor/events.ts";
import { startGateway, WS_PATH } from "../../../lib/web/gateway.ts";
import { CloseCode } from "../../../lib/web/websocket.ts";
import type { Harness } from "./suite.ts";

/** --max-line for the gateways: the server's default, far above any line a case sends. */
const MAX_LINE = 64 * 1024;

/** RFC 6455's key suffix for Sec-WebSocket-Accept. */
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

const Opcode = { CONTINUATION: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;

/** A frame from the client: masked, as RFC 6455 requires of clients (the server refuses unmasked ones). */
function clientFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const length = payload.length;
  const extended = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const frame = new Uint8Array(2 + extended + 4 + length);
  frame[0] = 0x80 | opcode;
  frame[1] = 0x80 | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) new DataView(frame.buffer).setUint16(2, length);
  if (extended === 8) new DataView(frame.buffer).setBigUint64(2, BigInt(length));
  const mask = randomBytes(4);
  const start = 2 + extended + 4;
  frame.set(mask, start - 4);
  for (let i = 0; i < length; i++) frame[start + i] = payload[i]! ^ mask[i & 3]!;
  return frame;
}

/** A close frame with `code`. */
function closeFrame(code: number): Uint8Array {
  return clientFrame(Opcode.CLOSE, new Uint8Array([code >> 8, code & 0xff]));
}

/** One text frame per line of `bytes` (the newline is where a frame ends); text after the last newline is a frame too. */
function lineFrames(bytes: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let start = 0;
  for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, start)) {
    frames.push(clientFrame(Opcode.TEXT, bytes.subarray(start, i)));
    start = i + 1;
  }
  if (start < bytes.length) frames.push(clientFrame(Opcode.TEXT, bytes.subarray(start)));
  return frames;
}

/** What the server's frames carry, as `FrameReader` finds it. */
interface FrameSink {
  /** Payload bytes of a text or binary message, in order, in as many pieces as they came. */
  payload(bytes: Uint8Array): void;
  /** The server's close frame (1005 when it gave no code). */
  close(code: number): void;
  ping(payload: Uint8Array): void;
  /** Something no server may send (a masked frame). */
  protocolError(reason: string): void;
}

/**
 * The server's frames, read as the bytes come: a message's payload is passed
 * on as it arrives rather than gathered, so a large frame costs no copy.
 */
class FrameReader {
  /** The header being read (at most 14 bytes). */
  private head: number[] = [];
  /** The current frame's opcode; a continuation's is its message's. */
  private opcode = 0;
  /** The opcode of the message being read (text or binary), for its continuations. */
  private messageOpcode: number = Opcode.TEXT;
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;
  /** The payload of the current control frame (close, ping, pong). */
  private control: number[] = [];
  /** The server broke the protocol: nothing after that is read. */
  private failed = false;

  constructor(private readonly sink: FrameSink) {}

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length && !this.failed) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - at);
        const piece = chunk.subarray(at, at + n);
        at += n;
        this.remaining -= n;
        if (this.opcode >= Opcode.CLOSE) this.control.push(...piece);
        else this.sink.payload(piece);
        if (this.remaining === 0) this.frameEnd();
        continue;
      }
      this.head.push(chunk[at++]!);
      if (this.head.length < this.headLength()) continue;
      this.startFrame();
    }
  }

  /** How long the header being read is, as far as its first bytes tell. */
  private headLength(): number {
    if (this.head.length < 2) return 2;
    const length7 = this.head[1]! & 0x7f;
    const mask = this.head[1]! & 0x80 ? 4 : 0;
    return 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + mask;
  }

  private startFrame(): void {
    const [b0, b1] = this.head as [number, number];
    const head = Uint8Array.from(this.head);
    this.head = [];
    if (b1 & 0x80) {
      this.failed = true;
      return this.sink.protocolError("the server masked a frame");
    }
    const length7 = b1 & 0x7f;
    const view = new DataView(head.buffer);
    const length = length7 === 126 ? view.getUint16(2) : length7 === 127 ? Number(view.getBigUint64(2)) : length7;
    // Control frames may come between the pieces of a message.
    const opcode = b0 & 0x0f;
    this.opcode = opcode === Opcode.CONTINUATION ? this.messageOpcode : opcode;
    if (opcode === Opcode.TEXT || opcode === Opcode.BINARY) this.messageOpcode = opcode;
    this.control = [];
    this.remaining = length;
    if (length === 0) this.frameEnd();
  }

  private frameEnd(): void {
    if (this.opcode < Opcode.CLOSE) return;
    const payload = Uint8Array.from(this.control);
    if (this.opcode === Opcode.CLOSE) this.sink.close(payload.length >= 2 ? (payload[0]! << 8) | payload[1]! : CloseCode.NO_STATUS);
    else if (this.opcode === Opcode.PING) this.sink.ping(payload);
  }
}

/**
 * The client end of a WebSocket as a reactor connection: the readiness
 * bookkeeping is `SocketHandle`'s, as for a TCP client; frames are made and
 * read here. Like the node:net backend's sends, a send is taken whole while
 * the socket is under its high-water mark and refused (0) after, until 'drain'.
 */
class WebSocketClient extends SocketHandle implements Connection {
  readonly kind = "connection" as const;
  readonly remote: Address;
  readonly local: Address;
  private needDrain = false;
  private readonly frames = new FrameReader({
    payload: (bytes) => this.onData(bytes),
    close: (code) => {
      // Answer the close as RFC 6455 asks; what came before it has been read: end of stream.
      if (!this.gone) this.socket.write(closeFrame(code === CloseCode.NO_STATUS ? CloseCode.NORMAL : code));
      this.onEnd();
    },
    ping: (payload) => {
      if (!this.gone) this.socket.write(clientFrame(Opcode.PONG, payload));
    },
    protocolError: (reason) => {
      this.onError(new Error(reason));
      this.abort();
    },
  });

  /** @param rest what came after the server's handshake answer: its first frames. */
  constructor(
    protected readonly socket: net.Socket,
    rest: Uint8Array,
  ) {
    super();
    socket.setNoDelay(true);
    this.remote = { host: plainHost(socket.remoteAddress), port: socket.remotePort ?? 0 };
    this.local = { host: plainHost(socket.localAddress), port: socket.localPort ?? 0 };
    socket.on("data", (chunk: Buffer) => this.frames.push(chunk));
    socket.on("end", () => this.onEnd());
    socket.on("drain", () => {
      this.needDrain = false;
      this.onDrain();
    });
    socket.on("error", (err: Error) => this.onError(err));
    socket.on("close", () => this.onClosed(null));
    this.frames.push(rest);
    socket.resume(); // paused while the handshake was read, so that no frame went unheard
  }

  send(bytes: Uint8Array): number {
    if (this.gone || this.socket.destroyed) return this.recordSend(-1, bytes.length);
    if (this.needDrain) return this.recordSend(0, bytes.length);
    for (const frame of lineFrames(bytes)) if (!this.socket.write(frame)) this.needDrain = true;
    return this.recordSend(bytes.length, bytes.length);
  }

  /** Graceful close: a close frame (1000) after what was sent, then FIN. */
  override close(): void {
    if (this.gone) return;
    this.socket.write(closeFrame(CloseCode.NORMAL));
    super.close();
  }

  protected resetSocket(): void {
    this.socket.resetAndDestroy();
  }
}

/** The server's handshake answer (up to its blank line) and the bytes after it; the socket is left paused. */
function readHandshakeAnswer(socket: net.Socket): Promise<{ head: string; rest: Uint8Array }> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.pause();
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.off("error", reject);
      resolve({ head: received.subarray(0, end).toString("latin1"), rest: received.subarray(end + 4) });
    };
    const onClose = () => reject(new Error("the server closed the connection during the handshake"));
    socket.on("data", onData);
    socket.once("close", onClose);
    socket.once("error", reject);
  });
}

/** Open a WebSocket to the gateway at host:port; a ConnectError when the connection or the upgrade fails. */
async function connectWebSocket(options: ConnectOptions): Promise<Connection> {
  const { host, port } = options;
  if (options.tls) throw new ConnectError(host, port, "the harness's WebSocket client speaks no TLS");
  const socket = net.connect({ host, port });
  try {
    await once(socket, "connect");
    const key = randomBytes(16).toString("base64");
    socket.write(
      `GET ${WS_PATH} HTTP/1.1\r\nHost: ${formatHostPort(host, port)}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const { head, rest } = await readHandshakeAnswer(socket);
    const status = head.split("\r\n", 1)[0]!;
    const accept = /^sec-websocket-accept:[ \t]*(\S+)/im.exec(head)?.[1];
    const expected = createHash("sha1")
      .update(key + GUID)
      .digest("base64");
    if (!status.startsWith("HTTP/1.1 101 ") || accept !== expected) throw new Error(`upgrade refused: ${status}`);
    return new WebSocketClient(socket, rest);
  } catch (err) {
    socket.destroy();
    throw new ConnectError(host, port, describeError(err));
  }
}

/**
 * A backend whose listeners are web gateways and whose connections are
 * WebSocket clients; poll(), wakeup() and the clock are the callback
 * backends' own, as both Bun.serve's and node:net's events are callbacks.
 */
class GatewayBackend extends CallbackBackend {
  readonly name = "websocket";

  async listen(options: ListenOptions): Promise<Listener> {
    const gateway = startGateway({
      host: options.host,
      port: options.port,
      maxLine: MAX_LINE,
      ...(options.descriptors ? { descriptors: options.descriptors } : {}),
      ...(options.tls ? { tls: options.tls } : {}),
    });
    return gateway.listener;
  }

  connect(options: ConnectOptions): Promise<Connection> {
    return connectWebSocket(options);
  }
}

/** The web gateway's WebSocket connections, and what a message-oriented connection cannot do. */
export const websocketHarness: Harness = {
  name: "websocket",
  makeBackend: () => new GatewayBackend(),
  lacks: {
    "partial-send":
      "a WebSocket send is one message, taken whole or not at all, so one 16 MiB write is never cut short " +
      "(the case with many writes to a peer that does not read covers what waits in the reactor)",
    "refusal-line":
      "an upgrade with no descriptor left is answered 503 before it becomes a connection, never accepted to be " +
      "told a line (spec/web/reactor.test.ts checks the 503 and the descriptors' release)",
    "tls-connect": "connect() here is the harness's own client, not code under test; wss on the gateway is spec/web/gateway.test.ts's",
  },
};
