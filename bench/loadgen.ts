// In-process load generator on Bun's native sockets. It runs in the harness
// process: on 2 cores the server gets one and this gets the other; a separate
// worker process would only add IPC on the same core. Reads are parsed in the
// data callback (no copies except partial lines); *acting* on what arrived
// (topping up send windows) happens once per setImmediate via onTick.
// WebSocket targets are driven over the same sockets: an upgrade, then
// frames, read by bench/ws.ts.

import type { Socket, SocketHandler } from "bun";
import type { Accounting } from "./accounting.ts";
import { scanChunk, type Parsed } from "./message.ts";
import { lineWire, type Wire } from "./wire.ts";
import { closeFrame, clientFrame, newKey, OP, upgradeRequest, type WsUrl, WsReader } from "./ws.ts";

export class TargetError extends Error {
  override name = "TargetError";
}

interface GenClient {
  idx: number;
  socket: Socket<GenClient> | null;
  rest: Buffer | null; // partial line carried to the next chunk
  pending: string; // unsent output while the socket is backpressured
  gone: boolean;
  /** WebSocket targets: the frame reader, and the upgrade being waited for */
  ws: WsReader | null;
  upgrade: { resolve(): void; reject(err: Error): void } | null;
}

export class LoadGen {
  readonly clients: GenClient[] = [];
  /** notices received, over all clients: "... connected" (or Redis's subscribe confirmations, see wire.ts) */
  joins = 0;
  /** clients the server closed on us */
  lost = 0;
  /** current measurement; messages of other phases count as foreign */
  phase = 0;
  acc: Accounting | null = null;
  /** count notices; runPhase turns it off while measuring */
  countJoins = true;
  /** line size of the messages being sent (0: unknown); lets the scan predict markers */
  msgSize = 0;
  /** called at most once per event-loop turn after data arrived */
  onTick: (() => void) | null = null;
  /** What client i sends right after connecting, after the wire's greeting (the rooms scenarios: its `/join`). */
  greet: ((client: number) => string) | null = null;
  /**
   * The rooms scenarios: the room each client is in. Messages then carry
   * their sender's room (bench/message.ts); one received by a client of
   * another room is counted in `crossRoom`, not delivered.
   */
  roomOf: Int32Array | null = null;
  /** Messages a client received from another room than its own (see `roomOf`). */
  crossRoom = 0;
  /** The first of them: who got which room's message. */
  firstCrossRoom: { receiver: number; room: number; sender: number } | null = null;
  /** Sees the complete lines of every read, `buf` up to `end` (line targets; for setup checks, not while measuring). */
  onLines: ((client: number, buf: Buffer, end: number) => void) | null = null;

  private tickQueued = false;
  private readonly parsed: Parsed = { phase: 0, sender: 0, seq: 0, tUs: 0, room: -1 };
  private receiver = 0;
  private nowUs = 0;
  private readonly handlers: SocketHandler<GenClient>;
  /** what a benchmark message found in a read does: account it */
  private readonly onMessage: (message: Parsed) => void;
  /** the target's WebSocket address, for a WebSocket wire */
  private readonly ws: WsUrl | null;
  /** frames are byte strings (one char per byte): written as latin1, not UTF-8 */
  private readonly latin1: boolean;

  /** Client i connects to ports[i % ports.length] (several for a cluster of servers). */
  private readonly ports: number[];

  constructor(
    readonly host: string,
    readonly port: number,
    alsoPorts: number[] = [],
    /** how clients talk to the target: chat lines, or Redis pub/sub */
    readonly wire: Wire = lineWire,
  ) {
    this.ports = [port, ...alsoPorts];
    this.ws = wire.name === "ws" ? (wire as Wire & { url: WsUrl }).url : null;
    this.latin1 = this.ws !== null;
    const echoesOwn = wire.echoesOwn;
    const notice = wire.notice;
    const onMessage = (this.onMessage = (message: Parsed): void => {
      const acc = this.acc;
      if (!acc) return;
      // a chat server never sends a client its own line; Redis does: not a delivery
      if (echoesOwn && message.sender === this.receiver) return;
      const rooms = this.roomOf;
      if (rooms !== null && message.room !== rooms[this.receiver]) {
        this.crossRoom++;
        this.firstCrossRoom ??= { receiver: this.receiver, room: message.room ?? -1, sender: message.sender };
        return;
      }
      if (message.phase !== this.phase) acc.markForeign();
      // latency from the send time recorded for (sender, seq): the message's
      // own timestamp, its longest field, is not parsed
      else acc.deliver(this.receiver, message.sender, message.seq, this.nowUs - acc.sentAt(message.sender, message.seq));
    });
    const readFrames = (socket: Socket<GenClient>, chunk: Buffer): void => {
      const client = socket.data;
      this.receiver = client.idx;
      this.nowUs = performance.now() * 1000;
      this.joins += client.ws!.feed(chunk, this.countJoins);
      this.queueTick();
    };
    this.handlers = {
      data: this.ws
        ? readFrames
        : (socket, chunk) => {
            const client = socket.data;
            const buf = client.rest ? Buffer.concat([client.rest, chunk]) : chunk;
            this.receiver = client.idx;
            this.nowUs = performance.now() * 1000;
            const scan = scanChunk(buf, this.parsed, onMessage, this.countJoins, this.msgSize, false, notice, this.roomOf !== null);
            this.joins += scan.joins;
            if (this.onLines && scan.consumed > 0) this.onLines(client.idx, buf, scan.consumed);
            // copy: the runtime may reuse the chunk's memory after we return
            client.rest = scan.consumed < buf.length ? Buffer.from(buf.subarray(scan.consumed)) : null;
            this.queueTick();
          },
      drain: (socket) => {
        const client = socket.data;
        if (client.pending) {
          const pending = client.pending;
          client.pending = "";
          this.write(client, pending);
        }
      },
      close: (socket) => {
        const client = socket.data;
        client.upgrade?.reject(new TargetError(`${this.wsAddress(client)}: the connection closed during the WebSocket upgrade`));
        client.upgrade = null;
        if (!client.gone) {
          client.gone = true;
          this.lost++;
        }
      },
      error: () => {
        /* followed by close */
      },
    };
  }

  private queueTick(): void {
    if (this.tickQueued || !this.onTick) return;
    this.tickQueued = true;
    setImmediate(() => {
      this.tickQueued = false;
      this.onTick?.();
    });
  }

  /** Open `count` more clients, at most `concurrency` handshakes in flight. */
  async connect(count: number, concurrency = count): Promise<void> {
    const start = this.clients.length;
    let next = start;
    const end = start + count;
    const worker = async (): Promise<void> => {
      while (next < end) {
        const client: GenClient = { idx: next++, socket: null, rest: null, pending: "", gone: false, ws: null, upgrade: null };
        this.clients[client.idx] = client;
        const upgraded = this.ws ? this.startUpgrade(client) : null;
        try {
          const port = this.ports[client.idx % this.ports.length];
          // Bun sets TCP_NODELAY on the sockets it connects: no setNoDelay() needed
          client.socket = await Bun.connect<GenClient>({ hostname: this.host, port, socket: this.handlers, data: client });
          if (this.wire.greeting) this.write(client, this.wire.greeting);
          if (this.greet) this.write(client, this.greet(client.idx));
        } catch (err) {
          client.gone = true;
          client.upgrade = null;
          const code = (err as { code?: string }).code ?? (err as Error).message;
          throw new TargetError(
            `cannot connect to ${this.host}:${this.ports[client.idx % this.ports.length]} (client ${client.idx + 1}): ${code}`,
          );
        }
        if (upgraded) {
          this.write(client, upgradeRequest(this.ws!, client.ws!.key));
          await upgraded;
        }
      }
    };
    const workers: Promise<void>[] = [];
    for (let i = 0; i < Math.min(concurrency, count); i++) workers.push(worker());
    await Promise.all(workers);
  }

  /** A WebSocket client's reader, and the promise its upgrade settles. */
  private startUpgrade(client: GenClient): Promise<void> {
    const key = newKey();
    return new Promise<void>((resolve, reject) => {
      client.upgrade = { resolve, reject };
      const settle = (err: Error | null): void => {
        const upgrade = client.upgrade;
        client.upgrade = null;
        if (err) upgrade?.reject(err);
        else upgrade?.resolve();
      };
      client.ws = new WsReader(key, this.parsed, this.onMessage, {
        upgraded: () => settle(null),
        refused: (why) => {
          settle(new TargetError(`${this.wsAddress(client)}: ${why} (client ${client.idx + 1})`));
          client.socket?.end();
        },
        ping: (payload) => this.write(client, clientFrame(OP.PONG, payload)),
        closed: (code) => {
          // answer the close, then hang up; the socket's close counts the client as lost
          this.write(client, closeFrame(code === 1005 ? 1000 : code));
          client.socket?.end();
        },
      });
    });
  }

  private wsAddress(client: GenClient): string {
    return `ws://${this.host}:${this.ports[client.idx % this.ports.length]}${this.ws?.path ?? ""}`;
  }

  write(client: GenClient, text: string): void {
    if (client.gone || !client.socket) return;
    if (client.pending) {
      client.pending += text;
      return;
    }
    const written = client.socket.write(this.latin1 ? Buffer.from(text, "latin1") : text);
    if (written < text.length) client.pending = text.slice(Math.max(written, 0)); // ASCII: bytes == chars
  }

  /** `text`: messages already framed for the target (wire.frame). */
  send(clientIndex: number, text: string): void {
    this.write(this.clients[clientIndex], text);
  }

  /** Kick a tick now (e.g. to start a closed loop). */
  kick(): void {
    this.queueTick();
  }

  get connected(): number {
    let count = 0;
    for (const client of this.clients) if (client.socket && !client.gone) count++;
    return count;
  }

  close(): void {
    this.onTick = null;
    for (const client of this.clients) {
      // a WebSocket says goodbye with a close frame (normal closure) first
      if (client.ws && !client.upgrade) this.write(client, closeFrame());
      client.gone = true;
      client.socket?.end();
    }
    this.clients.length = 0;
  }
}
