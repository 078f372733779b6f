/**
 * Backend on Bun's native sockets (Bun.listen / Bun.connect).
 *
 * Bun's `socket.write()` is unbuffered: it returns what the kernel took and
 * calls `drain` when the socket has room again. That is exactly select()'s
 * contract for a non-blocking send, so `send()` maps onto it directly.
 */
import type { Socket, TCPSocketListener } from "bun";
import type { Address } from "../reactor/events.ts";
import {
  type ConnectOptions,
  type Connection,
  type Listener,
  type ListenOptions,
  ConnectError,
  DEFAULT_BACKLOG,
  ListenError,
  describeError,
} from "../reactor/backend.ts";
import { setListenBacklog } from "./backlog.ts";
import { PassBackend } from "./io-pass.ts";
import { ListenerState, SocketState } from "./handles.ts";

type BunSocket = Socket<BunConnection | undefined>;

/** A TLS client that has not finished its handshake by then is dropped. */
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Bun reports IPv4 peers of a dual-stack socket as ::ffff:a.b.c.d. */
function plainHost(host: string): string {
  return host.startsWith("::ffff:") && host.includes(".") ? host.slice(7) : host;
}

class BunConnection extends SocketState implements Connection {
  readonly kind = "connection" as const;
  readonly remote: Address;
  private localAddress: Address | null = null;
  /** TLS server side: drops a client that never completes its handshake. */
  handshakeTimer: ReturnType<typeof setTimeout> | null = null;

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
    return (this.localAddress ??= { host: plainHost(s.localAddress ?? ""), port: s.localPort ?? 0 });
  }

  send(bytes: Uint8Array): number {
    if (this.gone) return -1;
    return this.sent(this.socket.write(bytes), bytes.length);
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
      s.data?.onClosed(err ?? null);
    },
    error(s: BunSocket, err: Error) {
      s.data?.onError(err);
    },
  };
}

class BunListener extends ListenerState<BunConnection> implements Listener {
  readonly address: Address;
  private server: TCPSocketListener<BunConnection | undefined>;

  constructor(options: ListenOptions) {
    super();
    const self = this;
    // With a `handshake` handler Bun opens TLS sockets before the handshake;
    // a client only joins once it has completed one (a plain-TCP or broken
    // client is dropped without ever being announced).
    const tlsHandlers = {
      open(s: BunSocket) {
        const conn = new BunConnection(s);
        conn.handshakeTimer = setTimeout(() => conn.abort(), TLS_HANDSHAKE_TIMEOUT_MS);
      },
      handshake(s: BunSocket, success: boolean) {
        const conn = s.data;
        if (!conn) return;
        if (conn.handshakeTimer) clearTimeout(conn.handshakeTimer);
        conn.handshakeTimer = null;
        if (success) self.onConnection(conn);
        else conn.abort();
      },
    };
    try {
      this.server = Bun.listen<BunConnection | undefined>({
        hostname: options.host,
        port: options.port,
        data: undefined,
        ...(options.tls ? { tls: { cert: options.tls.cert, key: options.tls.key } } : {}),
        socket: {
          ...BunConnection.handlers,
          ...(options.tls
            ? tlsHandlers
            : {
                open(s: BunSocket) {
                  self.onConnection(new BunConnection(s));
                },
              }),
        },
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

/** The default backend: Bun.listen / Bun.connect sockets. */
export class BunBackend extends PassBackend {
  readonly name = "bun";

  async listen(options: ListenOptions): Promise<Listener> {
    return new BunListener(options);
  }

  async connect(options: ConnectOptions): Promise<Connection> {
    let failure: Error | null = null;
    let conn: BunConnection | null = null;
    // TLS: Bun opens the socket before the handshake and does not refuse an
    // unverified server by itself; the `handshake` handler decides.
    let handshakeDone: () => void = () => {};
    const handshake = new Promise<void>((resolve) => (handshakeDone = resolve));
    try {
      const tls = options.tls
        ? {
            tls: {
              ...(options.tls.ca ? { ca: options.tls.ca } : {}),
              rejectUnauthorized: !options.tls.insecure,
              serverName: options.tls.serverName ?? options.host,
            },
          }
        : {};
      const socket = await Bun.connect<BunConnection | undefined>({
        hostname: options.host,
        port: options.port,
        data: undefined,
        ...tls,
        socket: {
          ...BunConnection.handlers,
          // Wrap the socket in `open`, before any data callback can run.
          open(s: BunSocket) {
            conn = new BunConnection(s);
          },
          connectError(_s: BunSocket, err: Error) {
            failure = err;
          },
          handshake(s: BunSocket, success: boolean, authError: Error | null) {
            if (!success && !options.tls?.insecure) {
              failure = authError ?? new Error("TLS handshake failed");
              s.terminate();
            }
            handshakeDone();
          },
          close(s: BunSocket, err?: Error) {
            if (!failure && err) failure = err;
            handshakeDone();
            BunConnection.handlers.close(s, err);
          },
        },
      });
      const connection = conn ?? new BunConnection(socket);
      if (options.tls) {
        await handshake;
        if (failure) throw failure;
      }
      return connection;
    } catch (err) {
      throw new ConnectError(options.host, options.port, describeError(failure ?? err));
    }
  }
}
