// In-process load generator on Bun's native sockets. It runs in the harness
// process: on 2 cores the server gets one and this gets the other; a separate
// worker process would only add IPC on the same core. Reads are parsed in the
// data callback (no copies except partial lines); *acting* on what arrived
// (topping up send windows) happens once per setImmediate via onTick.

import type { Socket, SocketHandler } from 'bun';
import type { Accounting } from './accounting.ts';
import { scanChunk, type Parsed } from './message.ts';

export class TargetError extends Error {
  override name = 'TargetError';
}

interface GenClient {
  idx: number;
  socket: Socket<GenClient> | null;
  rest: Buffer | null; // partial line carried to the next chunk
  pending: string; // unsent output while the socket is backpressured
  gone: boolean;
}

export class LoadGen {
  readonly clients: GenClient[] = [];
  /** "... connected" notices received, over all clients */
  joins = 0;
  /** clients the server closed on us */
  lost = 0;
  /** current measurement; messages of other phases count as foreign */
  phase = 0;
  acc: Accounting | null = null;
  /** count "... connected" notices; runPhase turns it off while measuring */
  countJoins = true;
  /** line size of the messages being sent (0: unknown); lets the scan predict markers */
  msgSize = 0;
  /** called at most once per event-loop turn after data arrived */
  onTick: (() => void) | null = null;

  private tickQueued = false;
  private readonly parsed: Parsed = { phase: 0, sender: 0, seq: 0, tUs: 0 };
  private receiver = 0;
  private nowUs = 0;
  private readonly handlers: SocketHandler<GenClient>;

  /** Client i connects to ports[i % ports.length] (several for a cluster of servers). */
  private readonly ports: number[];

  constructor(readonly host: string, readonly port: number, alsoPorts: number[] = []) {
    this.ports = [port, ...alsoPorts];
    const onMessage = (m: Parsed): void => {
      const acc = this.acc;
      if (!acc) return;
      if (m.phase !== this.phase) acc.markForeign();
      // latency from the send time recorded for (sender, seq): the message's
      // own timestamp, its longest field, is not parsed
      else acc.deliver(this.receiver, m.sender, m.seq, this.nowUs - acc.sentAt(m.sender, m.seq));
    };
    this.handlers = {
      data: (s, chunk) => {
        const c = s.data;
        const buf = c.rest ? Buffer.concat([c.rest, chunk]) : chunk;
        this.receiver = c.idx;
        this.nowUs = performance.now() * 1000;
        const r = scanChunk(buf, this.parsed, onMessage, this.countJoins, this.msgSize, false);
        this.joins += r.joins;
        // copy: the runtime may reuse the chunk's memory after we return
        c.rest = r.consumed < buf.length ? Buffer.from(buf.subarray(r.consumed)) : null;
        this.queueTick();
      },
      drain: (s) => {
        const c = s.data;
        if (c.pending) {
          const p = c.pending;
          c.pending = '';
          this.write(c, p);
        }
      },
      close: (s) => {
        const c = s.data;
        if (!c.gone) {
          c.gone = true;
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

  /** Open n more clients, at most `concurrency` handshakes in flight. */
  async connect(n: number, concurrency = n): Promise<void> {
    const start = this.clients.length;
    let next = start;
    const end = start + n;
    const worker = async (): Promise<void> => {
      while (next < end) {
        const c: GenClient = { idx: next++, socket: null, rest: null, pending: '', gone: false };
        this.clients[c.idx] = c;
        try {
          const port = this.ports[c.idx % this.ports.length];
          // Bun sets TCP_NODELAY on the sockets it connects: no setNoDelay() needed
          c.socket = await Bun.connect<GenClient>({ hostname: this.host, port, socket: this.handlers, data: c });
        } catch (e) {
          c.gone = true;
          const code = (e as { code?: string }).code ?? (e as Error).message;
          throw new TargetError(`cannot connect to ${this.host}:${this.ports[c.idx % this.ports.length]} (client ${c.idx + 1}): ${code}`);
        }
      }
    };
    const workers: Promise<void>[] = [];
    for (let i = 0; i < Math.min(concurrency, n); i++) workers.push(worker());
    await Promise.all(workers);
  }

  write(c: GenClient, text: string): void {
    if (c.gone || !c.socket) return;
    if (c.pending) {
      c.pending += text;
      return;
    }
    const w = c.socket.write(text);
    if (w < text.length) c.pending = text.slice(Math.max(w, 0)); // ASCII: bytes == chars
  }

  send(idx: number, text: string): void {
    this.write(this.clients[idx], text);
  }

  /** Kick a tick now (e.g. to start a closed loop). */
  kick(): void {
    this.queueTick();
  }

  get connected(): number {
    let n = 0;
    for (const c of this.clients) if (c.socket && !c.gone) n++;
    return n;
  }

  close(): void {
    this.onTick = null;
    for (const c of this.clients) {
      c.gone = true;
      c.socket?.end();
    }
    this.clients.length = 0;
  }
}
