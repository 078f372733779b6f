/**
 * Connecting the client to a server, with a time limit and errors that say
 * what to do: the usual mistake is a TLS client at a plain server or the
 * other way round, and the runtime's wording for it (`WRONG_VERSION_NUMBER`,
 * a reset, a hang) does not say so.
 */
import { type Backend, ConnectError, type Connection, type ConnectOptions, formatHostPort } from "../reactor/backend.ts";

/** A connection that could not be made; the message is one line for the user. */
export class ClientConnectError extends Error {
  override readonly name = "ClientConnectError";
}

/** What `connectToServer` connects to, and how long it may take. */
export interface ClientConnectOptions extends ConnectOptions {
  /** Give up after this long (TCP connect and TLS handshake together). */
  timeoutMs: number;
}

/** The runtime's words for a TLS handshake answered by something that is not TLS. */
const NOT_TLS = /WRONG_VERSION_NUMBER|wrong version number|unknown protocol|packet length too long|http request|EPROTO/i;
/** The runtime's words for a connection dropped during the TLS handshake. */
const DROPPED = /connection reset|ECONNRESET|socket hang up|disconnected before secure TLS connection/i;
/** Certificate problems that trusting the server's certificate fixes. */
const UNTRUSTED = /SELF_SIGNED|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/;

/** Seconds for a message: `10 s`, `0.5 s`. */
const seconds = (ms: number) => `${Number((ms / 1000).toFixed(3))} s`;

/**
 * Connect, or throw a `ClientConnectError` saying why: refused, host not
 * found, no answer within `timeoutMs`, the server does not speak TLS (with
 * `tls`), its certificate is not trusted.
 */
export async function connectToServer(backend: Backend, options: ClientConnectOptions): Promise<Connection> {
  const { host, port, tls, timeoutMs } = options;
  const where = formatHostPort(host, port);
  const attempt = backend.connect({ host, port, ...(tls ? { tls } : {}) });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Should it connect after all, nobody wants that connection.
      attempt.then(
        (conn) => conn.abort(),
        () => {},
      );
      const why = tls
        ? `no TLS handshake within ${seconds(timeoutMs)}: if the server does not speak TLS, connect without --tls`
        : `no answer within ${seconds(timeoutMs)} (--connect-timeout)`;
      reject(new ClientConnectError(`cannot connect to ${where}: ${why}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([attempt, timedOut]);
  } catch (err) {
    if (!(err instanceof ConnectError)) throw err;
    throw new ClientConnectError(explain(err, where, tls !== undefined));
  } finally {
    clearTimeout(timer);
  }
}

/** A connect failure as one line, with what to do when the cause is known. */
export function explain(err: ConnectError, where: string, tls: boolean): string {
  if (tls && NOT_TLS.test(err.reason)) {
    return `cannot connect to ${where}: the server does not speak TLS (it answered the handshake with something else): connect without --tls`;
  }
  if (tls && DROPPED.test(err.reason)) {
    return `cannot connect to ${where}: the server closed the connection during the TLS handshake (${err.reason}): if it does not speak TLS, connect without --tls`;
  }
  if (tls && UNTRUSTED.test(err.reason))
    return `${err.message}: to trust the server's certificate, give it with --ca FILE (or skip the check with --insecure)`;
  return err.message;
}
