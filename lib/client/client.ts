/**
 * The chat client: keyboard and server in one select loop.
 *
 * The original used two threads (one blocked on the keyboard, one on the
 * socket) and interrupted the main thread to stop. Here stdin and the
 * connection are two readable handles on one reactor: whichever is ready
 * is served, and leaving is just returning from the loop.
 *
 * Received bytes are framed into lines across reads: a line is handed to
 * the front end once, whole, when its newline arrives (an unterminated
 * last line when the server closes). The connection's first bytes are
 * also checked for a TLS record, the answer of a TLS server to a plain
 * client, which would otherwise swallow what the user sends in silence.
 */
import type { Connection, InputStream } from "../reactor/backend.ts";
import { Interest } from "../reactor/events.ts";
import type { Reactor, SelectorKey } from "../reactor/reactor.ts";
import type { Timer } from "../reactor/timers.ts";
import { LineFramer } from "../chat/framing.ts";
import { encode, isQuitCommand } from "../chat/protocol.ts";

/** Why the client stopped; the program turns it into an exit code (0 for `QUIT`, 1 for the rest). */
export enum ClientExit {
  /** The user quit (`q`, `/quit`, Ctrl-C, or end of input without `stay`). */
  QUIT = 0,
  /** The server closed the connection or it failed. */
  SERVER_GONE = 1,
  /** The server does not speak the chat protocol as connected: TLS to a plain client, or it closed without a word. */
  WRONG_PROTOCOL = 2,
}

/** What the client tells the user about the session itself, in one place. */
export const clientMessages = {
  serverClosed: "Server closed the connection.",
  serverFailed: (reason: string) => `Connection to the server failed: ${reason}`,
  speaksTls:
    "The server speaks TLS and this client connected without it, so nothing sent was read: connect with --tls (and --ca FILE or --insecure for a self-signed certificate).",
  silentPlain: (how: string) => `The server ${how} before sending anything: if it speaks TLS, connect with --tls.`,
  silentTls: (how: string) => `The server ${how} before sending anything: if it does not speak TLS, connect without --tls.`,
};

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

/** How a session behaves. */
export interface ChatClientOptions {
  /** The connection is TLS (the wording of a silent close's hint). */
  tls?: boolean;
  /**
   * At end of input, keep showing what the server sends, until it closes
   * the connection or `quit()` is called; without it, end of input quits.
   */
  stay?: boolean;
  /**
   * After `quit()` has sent `q`, wait this long at most for the server to
   * close the connection (it does at once), still showing what arrives:
   * a reply that shows the server speaks TLS is then not missed. 0: leave
   * at once.
   */
  quitLingerMs?: number;
}

type Side = "server" | "input";

const NEWLINE = encode("\n");
const QUIT = encode("q\n");

/** TLS record types a TLS server may answer a plain client with: handshake (22) and alert (21). */
const TLS_HANDSHAKE = 0x16;
const TLS_ALERT = 0x15;
/** The major version byte of every TLS record header (SSL 3.0 to TLS 1.3). */
const TLS_MAJOR = 0x03;

/** A chat session: stdin and the server connection on one reactor. */
export class ChatClient {
  private readonly fromServer = new LineFramer();
  private readonly fromInput = new LineFramer();
  private readonly serverKey: SelectorKey<Side, Connection>;
  private readonly inputKey: SelectorKey<Side, InputStream>;
  private exit: ClientExit | null = null;
  /** The connection's first two bytes, while fewer have come: a TLS record header is told by them. */
  private readonly head: number[] = [];
  /** Bytes received from the server. */
  private received = 0;
  /** `q` was sent: the server's close is the end of the session, not a failure. */
  private quitting = false;
  private lingerTimer: Timer | null = null;

  constructor(
    private readonly reactor: Reactor<Side>,
    conn: Connection,
    input: InputStream,
    private readonly io: ChatClientIO,
    private readonly options: ChatClientOptions = {},
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
    if (this.exit !== null || this.quitting) return;
    if (isQuitCommand(text)) return this.quit();
    this.reactor.write(this.serverKey, text);
    this.reactor.write(this.serverKey, NEWLINE);
  }

  /**
   * Send `q` so the server announces the quit, then leave: at once, or
   * once the server has closed the connection (within `quitLingerMs`).
   */
  quit(): void {
    if (this.exit !== null || this.quitting) return;
    this.quitting = true;
    this.reactor.write(this.serverKey, QUIT);
    this.closeInput();
    const linger = this.options.quitLingerMs ?? 0;
    if (linger <= 0) return this.finish(ClientExit.QUIT);
    this.lingerTimer = this.reactor.setTimer(linger, () => this.finish(ClientExit.QUIT));
  }

  private fromServerReady(): void {
    const data = this.serverKey.handle.recv();
    if (data === null) return;
    if (data.length === 0) return this.serverGone();
    this.received += data.length;
    if (this.head.length < 2) {
      for (let i = 0; i < data.length && this.head.length < 2; i++) this.head.push(data[i]!);
      if (!this.options.tls && isTlsRecordHeader(this.head)) return this.wrongProtocol(clientMessages.speaksTls);
    }
    this.fromServer.push(data, (line) => this.io.line(line));
  }

  private fromInputReady(): void {
    const data = this.inputKey.handle.recv();
    if (data === null) return;
    if (this.io.input) {
      if (data.length === 0) return this.endOfInput();
      return this.io.input(data);
    }
    if (data.length === 0) {
      // End of input: a typed last line without newline still counts.
      const tail = this.fromInput.takeTail();
      if (tail) this.send(tail);
      return this.endOfInput();
    }
    this.fromInput.push(data, (line) => {
      this.send(line);
      return this.exit === null && !this.quitting;
    });
  }

  private endOfInput(): void {
    if (this.exit !== null || this.quitting) return;
    if (!this.options.stay) return this.quit();
    this.closeInput();
  }

  private serverGone(): void {
    // A last line without newline is still a line.
    const tail = this.fromServer.takeTail();
    if (tail) this.io.line(tail);
    const err = this.serverKey.handle.error;
    if (this.quitting && (!err || this.received > 0)) return this.finish(ClientExit.QUIT);
    if (this.received === 0) {
      // A chat server says something before it closes a connection it did
      // not ask to close: a close without a word is most likely TLS on one side only.
      const how = err ? `dropped the connection (${err.message})` : "closed the connection";
      return this.wrongProtocol(this.options.tls ? clientMessages.silentTls(how) : clientMessages.silentPlain(how));
    }
    this.io.status(err ? clientMessages.serverFailed(err.message) : clientMessages.serverClosed);
    this.finish(ClientExit.SERVER_GONE);
  }

  private wrongProtocol(message: string): void {
    this.io.status(message);
    this.finish(ClientExit.WRONG_PROTOCOL);
  }

  private closeInput(): void {
    if (this.inputKey.valid) this.reactor.closeKey(this.inputKey);
  }

  private finish(exit: ClientExit): void {
    if (this.exit !== null) return;
    this.exit = exit;
    this.lingerTimer?.cancel();
    this.closeInput();
    this.reactor.closeKey(this.serverKey, exit !== ClientExit.QUIT);
    this.reactor.stop();
  }
}

/** Whether a connection's first two bytes are a TLS record header: an alert or handshake, version 3.x. */
function isTlsRecordHeader(head: readonly number[]): boolean {
  return head.length === 2 && (head[0] === TLS_ALERT || head[0] === TLS_HANDSHAKE) && head[1] === TLS_MAJOR;
}
