/**
 * Backend on `node:net` / `node:tls`: runs the reactor under Node (so tap
 * can test the core in-process) and under Bun's node:net layer.
 *
 * Node's `socket.write()` always accepts the bytes and buffers them; it
 * returns false once its buffer passes the high-water mark. To keep
 * select()'s non-blocking contract, `send()` takes everything while the
 * socket is below that mark and nothing (0) after, until 'drain'.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import type { Address } from "../reactor/events.ts";
import { plainHost } from "../reactor/address.ts";
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
import type { DescriptorBudget, DescriptorLease } from "../reactor/descriptors.ts";
import { CallbackBackend } from "./io-pass.ts";
import { ListenerHandle, SocketHandle } from "./handles.ts";
import { budgetFor, clearHandshakeTimer, type HandshakeDeadline, handshakeTimeoutMs } from "./admission.ts";
import { isBunRuntime } from "./runtime.ts";

const OWNER = Symbol("connection");
type OwnedSocket = net.Socket & { [OWNER]: NodeConnection };

class NodeConnection extends SocketHandle implements Connection {
  readonly kind = "connection" as const;
  readonly remote: Address;
  private localAddress: Address | null = null;
  private needDrain = false;

  /** @param remote the peer's address, when it was captured earlier (at accept: it is gone once the peer resets). */
  constructor(
    protected readonly socket: net.Socket,
    remote?: Address,
  ) {
    super();
    socket.setNoDelay(true);
    this.remote = remote ?? { host: plainHost(socket.remoteAddress), port: socket.remotePort ?? 0 };
    (socket as OwnedSocket)[OWNER] = this;
    const on = NodeConnection.socketEvents;
    socket.on("data", on.data);
    socket.on("end", on.end);
    socket.on("drain", on.drain);
    socket.on("error", on.error);
    socket.on("close", on.close);
  }

  /**
   * One set of listeners for every socket (`this` is the socket): five
   * closures per connection would cost memory on every idle client.
   */
  private static readonly socketEvents = {
    data(this: OwnedSocket, chunk: Buffer) {
      this[OWNER].onData(chunk);
    },
    end(this: OwnedSocket) {
      this[OWNER].onEnd();
    },
    drain(this: OwnedSocket) {
      const conn = this[OWNER];
      conn.needDrain = false;
      conn.onDrain();
    },
    error(this: OwnedSocket, err: Error) {
      this[OWNER].onError(err);
    },
    close(this: OwnedSocket) {
      this[OWNER].onClosed(null);
    },
  };

  /** Asked for lazily: a server rarely needs it. */
  get local(): Address {
    const s = this.socket;
    return (this.localAddress ??= { host: plainHost(s.localAddress), port: s.localPort ?? 0 });
  }

  send(bytes: Uint8Array): number {
    if (this.gone || this.socket.destroyed) return this.recordSend(-1, bytes.length);
    if (this.needDrain) return this.recordSend(0, bytes.length);
    // Hand Node no more than fills its buffer to the high-water mark, so the
    // rest stays in our queue like bytes a full kernel buffer refused. Node
    // often writes straight to the kernel and says "room for more" (true);
    // only a false promises a 'drain', so keep going until one comes.
    let taken = 0;
    while (taken < bytes.length && !this.needDrain) {
      const room = this.socket.writableHighWaterMark - this.socket.writableLength;
      const n = Math.min(bytes.length - taken, Math.max(room, 1));
      const chunk = n === bytes.length ? bytes : bytes.subarray(taken, taken + n);
      if (!this.socket.write(chunk)) this.needDrain = true;
      taken += n;
    }
    return this.recordSend(taken, bytes.length);
  }

  protected resetSocket(): void {
    // Node resets only a plain TCP handle; a TLS socket under Node has a
    // TLS wrap instead (ERR_INVALID_HANDLE_TYPE), so it is destroyed.
    if (this.socket instanceof tls.TLSSocket && !isBunRuntime()) this.socket.destroy();
    else this.socket.resetAndDestroy();
  }

  /** Adopt a socket that is already connected. */
  static adopt(socket: net.Socket, remote?: Address): NodeConnection {
    return new NodeConnection(socket, remote);
  }
}

/** What a listener keeps on each socket it accepted, until the reactor gets it or it closes. */
const ACCEPTED = Symbol("accepted");
interface Accepted extends HandshakeDeadline {
  remote: Address;
  lease: DescriptorLease;
}
type AcceptedSocket = net.Socket & { [ACCEPTED]?: Accepted };

/** A socket's 'close' listener (`this` is the socket), shared by every socket: one closure fewer per connection. */
function releaseAccepted(this: AcceptedSocket): void {
  const accepted = this[ACCEPTED];
  if (!accepted) return;
  clearHandshakeTimer(accepted);
  accepted.lease.release();
}

class NodeListener extends ListenerHandle<NodeConnection> implements Listener {
  address: Address;
  private readonly budget: DescriptorBudget;

  constructor(
    private readonly server: net.Server,
    options: ListenOptions,
  ) {
    super();
    const a = server.address() as net.AddressInfo;
    this.address = { host: options.host, port: a.port };
    this.budget = budgetFor(options);
    const tlsServer = server instanceof tls.Server;
    // "connection" comes at accept, for TLS before the handshake (node:tls
    // gives the raw TCP socket, Bun's node:tls the TLS socket itself): that
    // is where the descriptor is counted and the peer's address captured.
    // A TLS client becomes usable with "secureConnection"; handshake
    // failures stay with that client (tlsClientError), not the listener.
    server.on("connection", (s: net.Socket) => this.accepted(s, tlsServer, options.fullMessage));
    if (tlsServer) server.on("secureConnection", (s: tls.TLSSocket) => this.secured(s));
    server.on("error", (err: Error) => this.onError(err));
  }

  private accepted(socket: AcceptedSocket, tlsServer: boolean, fullMessage: Uint8Array | undefined): void {
    // A peer that reset before we looked has no address: drop it unannounced.
    if (!socket.remoteAddress) return void socket.destroy();
    const remote = { host: plainHost(socket.remoteAddress), port: socket.remotePort ?? 0 };
    const lease = tlsServer ? this.budget.acquire(() => socket.destroy()) : this.budget.acquire();
    if (!lease) {
      // Out of descriptors: close at once; a plain client hears why first.
      if (tlsServer || !fullMessage) return void socket.destroy();
      socket.on("error", () => {});
      return void socket.end(fullMessage, () => socket.destroy());
    }
    const accepted: Accepted = { remote, lease, handshakeTimer: null };
    socket[ACCEPTED] = accepted;
    socket.once("close", releaseAccepted);
    if (!tlsServer) return this.onConnection(NodeConnection.adopt(socket, remote));
    accepted.handshakeTimer = setTimeout(() => socket.destroy(), handshakeTimeoutMs(this.budget));
  }

  private secured(socket: tls.TLSSocket): void {
    // Under Node the TLS socket wraps the raw one it was accepted as.
    const raw = (ACCEPTED in socket ? socket : (socket as { _parent?: net.Socket })._parent) as AcceptedSocket | undefined;
    const accepted = raw?.[ACCEPTED];
    if (!accepted) return void socket.destroy();
    clearHandshakeTimer(accepted);
    accepted.lease.confirm();
    this.onConnection(NodeConnection.adopt(socket, accepted.remote));
  }

  close(): void {
    this.server.close();
  }
}

/** The node:net (and node:tls) backend; runs under Node and under Bun. */
export class NodeBackend extends CallbackBackend {
  readonly name = "node";

  listen(options: ListenOptions): Promise<Listener> {
    const server = options.tls ? tls.createServer({ cert: options.tls.cert, key: options.tls.key }) : net.createServer();
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => reject(new ListenError(options.host, options.port, describeError(err)));
      server.once("error", fail);
      try {
        const backlog = options.backlog ?? DEFAULT_BACKLOG;
        server.listen({ host: options.host, port: options.port, backlog }, async () => {
          server.off("error", fail);
          if (isBunRuntime()) {
            // Under Bun, node:net ignores `backlog` (it listens with 512); raise it as the Bun backend does.
            const { setListenBacklog } = await import("./backlog.ts");
            setListenBacklog((server as unknown as { _handle?: { fd?: number } })._handle?.fd, backlog);
          }
          resolve(new NodeListener(server, options));
        });
      } catch (err) {
        fail(err as Error);
      }
    });
  }

  connect(options: ConnectOptions): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const tlsOptions = options.tls;
      const socket = tlsOptions
        ? tls.connect({
            host: options.host,
            port: options.port,
            ca: tlsOptions.ca,
            rejectUnauthorized: !tlsOptions.insecure,
            servername: tlsOptions.serverName ?? (net.isIP(options.host) ? undefined : options.host),
          })
        : net.connect({ host: options.host, port: options.port });
      const fail = (err: Error) => reject(new ConnectError(options.host, options.port, describeError(err)));
      socket.once("error", fail);
      socket.once(tlsOptions ? "secureConnect" : "connect", () => {
        socket.off("error", fail);
        resolve(NodeConnection.adopt(socket));
      });
    });
  }
}
