/**
 * Raising a Bun listener's accept backlog.
 *
 * Bun.listen (and node:net's `backlog` option under Bun) always listens
 * with a backlog of 512. In a connect storm of 1000 clients the kernel's
 * accept queue overflows before the loop gets to accept, and every dropped
 * handshake costs the client a 1 s SYN retransmit, so a storm takes over a
 * second and some connections are only accepted seconds later. Calling
 * listen(2) again on a listening socket only updates its backlog (Linux,
 * BSD), so we do that through libc. Best effort: where libc or the fd is not
 * available, the runtime's default stays.
 */
import { dlopen, FFIType } from "bun:ffi";

type Libc = { symbols: { listen(fd: number, backlog: number): number } };
let libc: Libc | null | undefined;

function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  const names = process.platform === "darwin" ? ["libc.dylib"] : ["libc.so.6", "libc.so"];
  libc = null;
  for (const name of names) {
    try {
      libc = dlopen(name, { listen: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } }) as Libc;
      break;
    } catch {
      // try the next name
    }
  }
  return libc;
}

/** Set the backlog of the listening socket `fd`; false if it could not be done. */
export function setListenBacklog(fd: number | undefined, backlog: number): boolean {
  if (typeof fd !== "number" || fd < 0) return false;
  const lib = loadLibc();
  return lib !== null && lib.symbols.listen(fd, backlog) === 0;
}
