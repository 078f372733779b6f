/**
 * Backend on Bun's native sockets (Bun.listen / Bun.connect).
 *
 * Bun's `socket.write()` is unbuffered: it returns what the kernel took and
 * calls `drain` when the socket has room again. That is exactly select()'s
 * contract for a non-blocking send, so `send()` maps onto it directly.
 */
import type { Socket, TCPSocketListener } from "bun";
import type { Address } from "../reactor/events.ts";
import { plainHost } from "../reactor/address.ts";
import {
  type ConnectOptions,
  type Connection,
  type Listener,
  type ListenOptions,
  type TlsClientOptions,
  ConnectError,
  DEFAULT_BACKLOG,
  ListenError,
  describeError,
} from "../reactor/backend.ts";
import type { DescriptorLease } from "../reactor/descriptors.ts";
import { setListenBacklog } from "./backlog.ts";
import { CallbackBackend } from "./io-pass.ts";
import { ListenerHandle, SocketHandle } from "./handles.ts";
import { budgetFor, clearHandshakeTimer, type HandshakeDeadline, handshakeTimeoutMs } from "./admission.ts";

type BunSocket = Socket<BunConnection | undefined>;

class BunConnection extends SocketHandle implements Connection, HandshakeDeadline {
  readonly kind = "connection" as const;
  readonly remote: Address;
  private localAddress: Address | null = null;
  /** TLS server side: drops a client that never completes its handshake. */
  handshakeTimer: ReturnType<typeof setTimeout> | null = null;
  /** Accepted sockets: its descriptor in the listener's budget, released when it closes. */
  lease: DescriptorLease | null = null;

  constructor(protected readonly socket: BunSocket) {
    super();
    socket.data = this;
    // No setNoDelay(): Bun sets TCP_NODELAY on every socket it accepts or
    // connects, and a second setsockopt per accept is a wasted syscall.
    this.remote = { host: plainHost(socket.remoteAddress), port: socket.remotePort };
  }

  /** Asked for lazily: a server rarely needs it, and it costs a getsockname() and an object per connection. */
  get local(): Address {
    const s = this.socket;
    return (this.localAddress ??= { host: plainHost(s.localAddress), port: s.localPort ?? 0 });
  }

  send(bytes: Uint8Array): number {
    if (this.gone) return -1;
    return this.recordSend(this.socket.write(bytes), bytes.length);
  }

  protected resetSocket(): void {
    this.socket.terminate();
  }

  // Bun's handler objects are shared per listener; these route to the handle.
  static readonly handlers = {
    binaryType: "uint8array" as const,
    data(s: BunSocket, chunk: Uint8Array) {
      s.data?.onData(chunk);
    },
    end(s: BunSocket) {
      s.data?.onEnd();
    },
    drain(s: BunSocket) {
      s.data?.onDrain();
    },
    close(s: BunSocket, err?: Error) {
      const conn = s.data;
      if (!conn) return;
      clearHandshakeTimer(conn);
      conn.onClosed(err ?? null);
      conn.lease?.release();
    },
    error(s: BunSocket, err: Error) {
      s.data?.onError(err);
    },
  };
}

class BunListener extends ListenerHandle<BunConnection> implements Listener {
  readonly address: Address;
  private server: TCPSocketListener<BunConnection | undefined>;

  constructor(options: ListenOptions) {
    super();
    const listener = this;
    const budget = budgetFor(options);
    const fullMessage = options.fullMessage;
    // Every socket holds a descriptor from the budget from `open` until
    // `close`; one that gets none is closed here, at once: kept, it would
    // take the process to its open-file limit, where Bun's accept loop spins.
    // A socket whose peer is already gone has no address: it is dropped
    // before anyone hears of it.
    const plainHandlers = {
      open(s: BunSocket) {
        if (!s.remoteAddress) return void s.terminate();
        const lease = budget.acquire();
        if (!lease) {
          if (fullMessage) s.write(fullMessage);
          return void s.end();
        }
        const conn = new BunConnection(s);
        conn.lease = lease;
        listener.onConnection(conn);
      },
    };
    // With a `handshake` handler Bun opens TLS sockets before the handshake;
    // a client only joins once it has completed one (a plain-TCP or broken
    // client is dropped without ever being announced). Until then its lease
    // is provisional: the budget gives up the oldest pending handshake when
    // a newcomer needs a descriptor.
    const tlsHandlers = {
      open(s: BunSocket) {
        if (!s.remoteAddress) return void s.terminate();
        const lease = budget.acquire(() => s.terminate());
        if (!lease) return void s.terminate();
        const conn = new BunConnection(s);
        conn.lease = lease;
        conn.handshakeTimer = setTimeout(() => conn.abort(), handshakeTimeoutMs(budget));
      },
      handshake(s: BunSocket, success: boolean) {
        const conn = s.data;
        if (!conn) return;
        clearHandshakeTimer(conn);
        // A failed handshake (a plain client's line, say) ends at once: the
        // runtime has queued its alert, which the client gets before the FIN.
        if (!success) return void conn.close();
        conn.lease?.confirm();
        listener.onConnection(conn);
      },
    };
    try {
      this.server = Bun.listen<BunConnection | undefined>({
        hostname: options.host,
        port: options.port,
        data: undefined,
        ...(options.tls ? { tls: { cert: options.tls.cert, key: options.tls.key } } : {}),
        socket: { ...BunConnection.handlers, ...(options.tls ? tlsHandlers : plainHandlers) },
      });
    } catch (err) {
      throw new ListenError(options.host, options.port, describeError(err));
    }
    // Bun listens with a fixed backlog of 512; `fd` is there at runtime but not in its types.
    setListenBacklog((this.server as { fd?: number }).fd, options.backlog ?? DEFAULT_BACKLOG);
    this.address = { host: options.host, port: this.server.port };
  }

  close(): void {
    this.server.stop(false);
  }
}

/** Bun's TLS options for a client: verify the server (against `ca` if given) unless told not to. */
function clientTlsOptions(tls: TlsClientOptions, host: string) {
  return {
    ...(tls.ca ? { ca: tls.ca } : {}),
    rejectUnauthorized: !tls.insecure,
    serverName: tls.serverName ?? host,
  };
}

/**
 * One outgoing connection while Bun makes it: its socket handlers record
 * the connection, a failure, and the end of the TLS handshake. Bun opens a
 * TLS socket before the handshake and does not refuse an unverified server
 * by itself; the `handshake` handler decides.
 */
class ConnectAttempt {
  failure: Error | null = null;
  conn: BunConnection | null = null;
  private handshakeDone: () => void = () => {};
  /** Settles when the handshake is over, either way, or the socket closed first. */
  private readonly handshake = new Promise<void>((resolve) => (this.handshakeDone = resolve));
  /** Bun's socket handlers for this connect, routing to this attempt until the connection exists. */
  readonly handlers = {
    ...BunConnection.handlers,
    // Wrap the socket in `open`, before any data callback can run.
    open: (s: BunSocket) => {
      this.conn = new BunConnection(s);
    },
    connectError: (_s: BunSocket, err: Error) => {
      this.failure = err;
    },
    handshake: (s: BunSocket, success: boolean, authError: Error | null) => {
      // A failed handshake fails whatever the flags; an unverified server
      // (success, with an authError) only without --insecure.
      if (!success || (authError && !this.insecure)) {
        this.failure = authError ?? new Error("TLS handshake failed");
        s.terminate();
      }
      this.handshakeDone();
    },
    close: (s: BunSocket, err?: Error) => {
      if (!this.failure && err) this.failure = err;
      this.handshakeDone();
      BunConnection.handlers.close(s, err);
    },
  };

  constructor(private readonly insecure: boolean) {}

  /** Wait for the TLS handshake; a failed or unverified one throws. */
  async handshakeFinished(): Promise<void> {
    await this.handshake;
    if (this.failure) throw this.failure;
  }
}

/** How often a busy loop is looked at for quiet (ms), and how many quiet looks make it idle. */
const IDLE_CHECK_MS = 500;
const QUIET_CHECKS = 2;
/** Events since the last collection that make a spell worth collecting after. */
const BUSY_EVENTS = 10_000;

/** The default backend: Bun.listen / Bun.connect sockets. */
export class BunBackend extends CallbackBackend {
  readonly name = "bun";
  /** Wakeups (I/O events, writes, timers set while asleep) so far, and at the last look and collection. */
  private events = 0;
  private eventsAtCheck = 0;
  private eventsAtCollect = 0;
  private quietChecks = 0;
  /** Runs only while the loop is busy or just was; never holds up an exit. */
  private idleCheck: ReturnType<typeof setInterval> | null = null;

  /**
   * Besides ending the poll, note the activity. The collector runs on
   * allocation, so the garbage of a busy spell (thousands of trickled reads,
   * a storm of closes) stays resident for as long as the server then stays
   * quiet: once it has been quiet about a second after a busy spell, collect
   * it (a few ms while nothing is waiting).
   */
  override wakeup(): void {
    super.wakeup();
    this.events++;
    if (this.idleCheck !== null) return;
    this.idleCheck = setInterval(this.checkIdle, IDLE_CHECK_MS);
    this.idleCheck.unref();
  }

  private checkIdle = (): void => {
    if (this.events !== this.eventsAtCheck) {
      this.eventsAtCheck = this.events;
      this.quietChecks = 0;
      return;
    }
    if (++this.quietChecks < QUIET_CHECKS) return;
    clearInterval(this.idleCheck!);
    this.idleCheck = null;
    if (this.events - this.eventsAtCollect < BUSY_EVENTS) return;
    this.eventsAtCollect = this.events;
    Bun.gc(true);
  };

  async listen(options: ListenOptions): Promise<Listener> {
    return new BunListener(options);
  }

  async connect(options: ConnectOptions): Promise<Connection> {
    const attempt = new ConnectAttempt(options.tls?.insecure === true);
    try {
      const socket = await Bun.connect<BunConnection | undefined>({
        hostname: options.host,
        port: options.port,
        data: undefined,
        ...(options.tls ? { tls: clientTlsOptions(options.tls, options.host) } : {}),
        socket: attempt.handlers,
      });
      const connection = attempt.conn ?? new BunConnection(socket);
      if (options.tls) await attempt.handshakeFinished();
      return connection;
    } catch (err) {
      throw new ConnectError(options.host, options.port, describeError(attempt.failure ?? err));
    }
  }
}
