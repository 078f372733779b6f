/**
 * A plain node:net chat client for end-to-end tests: collects what it
 * receives and lets a test await a given text instead of sleeping.
 */
import * as net from "node:net";
import { Waiters } from "./waiters.ts";

/** The presence line, at the start of a line. */
const PRESENCE_LINE = /(?<=^|\n)(In the room: [^\n]*)\n/;

export class LineClient {
  /** What was received, without the presence line (`presence`). */
  received = "";
  /**
   * The line the server tells a client as it joins (`In the room: ...`),
   * kept apart so that tests can compare `received` with the room's
   * traffic; null until it has come (or when the first line is another).
   */
  presence: string | null = null;
  closed = false;
  private readonly waiters = new Waiters();

  /** The local port: the server names this client by it (kept after close). */
  readonly port: number;

  private constructor(readonly socket: net.Socket) {
    this.port = socket.localPort!;
    socket.on("data", (d) => {
      this.take(d.toString("latin1"));
      this.waiters.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.waiters.wake();
    });
    socket.on("error", () => {});
  }

  static connect(port: number, host = "127.0.0.1"): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => resolve(new LineClient(s)));
      s.once("error", reject);
    });
  }

  /**
   * Set the presence line apart from the rest of what comes. A TCP
   * client gets it once its first bytes show it is no TLS client, or a
   * moment after joining when it says nothing: other lines may come first.
   */
  private take(text: string): void {
    this.received += text;
    if (this.presence !== null) return;
    const m = PRESENCE_LINE.exec(this.received);
    if (!m) return;
    this.presence = m[1]!;
    this.received = this.received.slice(0, m.index) + this.received.slice(m.index + m[0].length);
  }

  /** Resolves once the server has told this client who is here: it is in the room. */
  joined(timeoutMs?: number): Promise<void> {
    return this.waitUntil(() => this.presence !== null, "the presence line", timeoutMs);
  }

  get addr(): string {
    return `(127.0.0.1, ${this.port})`;
  }

  get from(): string {
    return `<127.0.0.1:${this.port}>`;
  }

  send(text: string | Buffer): void {
    this.socket.write(text);
  }

  /**
   * Connect `n` clients, one after another, and resolve once each has seen
   * the join notice of every client after it: the room is then settled.
   */
  static async connectAll(port: number, n: number): Promise<LineClient[]> {
    const clients: LineClient[] = [];
    for (let i = 0; i < n; i++) clients.push(await LineClient.connect(port));
    for (const [i, c] of clients.entries()) {
      for (const later of clients.slice(i + 1)) await c.waitFor(`Client ${later.addr} connected\n`);
    }
    return clients;
  }

  /** Resolves when `test` holds for what was received (or rejects on timeout). */
  waitUntil(test: (received: string) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return this.waiters.until(
      () => test(this.received),
      what,
      timeoutMs,
      () => `; got: ${JSON.stringify(this.received.slice(-500))}`,
    );
  }

  waitFor(text: string, timeoutMs?: number): Promise<void> {
    return this.waitUntil((r) => r.includes(text), JSON.stringify(text), timeoutMs);
  }

  waitClosed(timeoutMs?: number): Promise<void> {
    return this.waitUntil(() => this.closed, "close", timeoutMs);
  }

  end(): void {
    this.socket.end();
  }

  /** Drop the connection with a reset (RST); one the server already closed is just let go. */
  reset(): void {
    // Node 20 never finishes closing a socket reset while its own end is under
    // way (it ends its side when the server closes): the process then spins
    // at exit. Such a socket has nothing left to reset anyway.
    if (this.socket.writableEnded || this.socket.destroyed) this.socket.destroy();
    else this.socket.resetAndDestroy();
  }
}
