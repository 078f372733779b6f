/**
 * The chat client: keyboard and server in one select loop.
 *
 * The original used two threads (one blocked on the keyboard, one on the
 * socket) and interrupted the main thread to stop. Here stdin and the
 * connection are two readable handles on one reactor: whichever is ready
 * is served, and leaving is just returning from the loop.
 */
import type { Connection, InputStream } from "../reactor/backend.ts";
import { Interest } from "../reactor/events.ts";
import type { Reactor, SelectorKey } from "../reactor/reactor.ts";
import { LineFramer } from "../chat/framing.ts";
import { encode, isQuitCommand } from "../chat/protocol.ts";

/** Why the client stopped; the program turns it into an exit code. */
export enum ClientExit {
  /** The user quit (`q`, `Q` or end of input). */
  QUIT = 0,
  /** The server closed the connection or it failed. */
  SERVER_GONE = 1,
}

/** The front end: where received lines go, and (optionally) who reads stdin. */
export interface ChatClientIO {
  /** Show one received line (without its newline). */
  line(text: Uint8Array): void;
  /** Tell the user something about the session itself. */
  status(text: string): void;
  /**
   * Take stdin's bytes as they come (a line editor on a raw terminal); the
   * front end calls `send()` and `quit()` itself. Without it, stdin is
   * split into lines and each is sent.
   */
  input?(data: Uint8Array): void;
}

type Side = "server" | "input";

const NEWLINE = encode("\n");
const QUIT = encode("q\n");

/** A chat session: stdin and the server connection on one reactor. */
export class ChatClient {
  private readonly fromServer = new LineFramer();
  private readonly fromInput = new LineFramer();
  private readonly serverKey: SelectorKey<Side, Connection>;
  private readonly inputKey: SelectorKey<Side, InputStream>;
  private exit: ClientExit | null = null;

  constructor(
    private readonly reactor: Reactor<Side>,
    conn: Connection,
    input: InputStream,
    private readonly io: ChatClientIO,
  ) {
    this.serverKey = reactor.register(conn, Interest.READ, "server");
    this.inputKey = reactor.register(input, Interest.READ, "input");
  }

  /** Chat until the user quits or the server goes; resolves to why. */
  async run(): Promise<ClientExit> {
    await this.reactor.run((ready) => {
      for (const key of ready.readable) {
        if (!key.valid || this.exit !== null) continue;
        if (key.data === "server") this.fromServerReady();
        else this.fromInputReady();
      }
      for (const key of ready.errored) {
        if (key.valid && key.data === "server" && this.exit === null) this.serverGone();
      }
    });
    return this.exit ?? ClientExit.QUIT;
  }

  /** Send a line typed by the user (also usable by other front ends); `q` or `/quit` quits. */
  send(text: Uint8Array): void {
    if (this.exit !== null) return;
    if (isQuitCommand(text)) return this.quit();
    this.reactor.write(this.serverKey, text);
    this.reactor.write(this.serverKey, NEWLINE);
  }

  /** Send `q` so the server announces the quit, then leave. */
  quit(): void {
    if (this.exit !== null) return;
    this.reactor.write(this.serverKey, QUIT);
    this.finish(ClientExit.QUIT);
  }

  private fromServerReady(): void {
    const data = this.serverKey.handle.recv();
    if (data === null) return;
    if (data.length === 0) return this.serverGone();
    this.fromServer.push(data, (line) => this.io.line(line));
    // Servers that send no newline (the original did not) still get shown.
    const tail = this.fromServer.takeTail();
    if (tail) this.io.line(tail);
  }

  private fromInputReady(): void {
    const data = this.inputKey.handle.recv();
    if (data === null) return;
    if (this.io.input) {
      if (data.length === 0) return this.quit();
      return this.io.input(data);
    }
    if (data.length === 0) {
      // End of input: a typed last line without newline still counts.
      const tail = this.fromInput.takeTail();
      if (tail) this.send(tail);
      return this.quit();
    }
    this.fromInput.push(data, (line) => {
      this.send(line);
      return this.exit === null;
    });
  }

  private serverGone(): void {
    const err = this.serverKey.handle.error;
    this.io.status(err ? `Connection to the server failed: ${err.message}` : "Server closed the connection.");
    this.finish(ClientExit.SERVER_GONE);
  }

  private finish(exit: ClientExit): void {
    this.exit = exit;
    this.reactor.closeKey(this.inputKey);
    this.reactor.closeKey(this.serverKey, exit === ClientExit.SERVER_GONE);
    this.reactor.stop();
  }
}
