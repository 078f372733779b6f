/**
 * A node:net chat client for tests that move megabytes: it splits what it
 * receives into lines as they come and hands each to a callback, instead
 * of keeping one growing string (LineClient's waitFor would rescan it on
 * every chunk).
 */
import * as net from "node:net";
import { Waiters } from "./waiters.ts";

export class BulkReader {
  lines = 0;
  bytes = 0;
  closed = false;
  private rest = "";
  private readonly waiters = new Waiters();

  /** The local port: the server names this client by it (kept after close). */
  readonly port: number;

  private constructor(
    readonly socket: net.Socket,
    private readonly onLine: (line: string) => void,
  ) {
    this.port = socket.localPort!;
    socket.on("data", (d: Buffer) => {
      this.bytes += d.length;
      const text = this.rest + d.toString("latin1");
      let start = 0;
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
        this.lines++;
        this.onLine(text.slice(start, nl));
        start = nl + 1;
      }
      this.rest = text.slice(start);
      this.waiters.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.waiters.wake();
    });
    socket.on("error", () => {});
  }

  static connect(port: number, onLine: (line: string) => void): Promise<BulkReader> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: "127.0.0.1" }, () => resolve(new BulkReader(s, onLine)));
      s.once("error", reject);
    });
  }

  /** Resolves when `test()` holds, checked after every chunk received (rejects on timeout). */
  waitUntil(test: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    return this.waiters.until(test, what, timeoutMs, () => `(${this.lines} lines, ${this.bytes} bytes received)`);
  }
}

/** Write `data` and wait for the socket to take it (backpressure), or fail if it closes. */
export function writeAll(socket: net.Socket, data: string | Uint8Array): Promise<void> {
  if (socket.write(data)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      socket.off("drain", onDrain);
      socket.off("close", onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error("socket closed while writing"));
    socket.on("drain", onDrain);
    socket.on("close", onClose);
  });
}
