/**
 * Addresses as text: `HOST:PORT` both ways, with brackets around IPv6 hosts
 * (`[::1]:9100`), and hosts as the runtimes report them.
 */

/** `host:port`, with brackets around IPv6 hosts. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Parse `HOST:PORT` (`[::1]:9100` for IPv6; port 0 to 65535); null when it
 * is not one. Callers that cannot use port 0 check for it themselves.
 */
export function parseHostPort(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  return port <= 65535 ? { host: (m[1] ?? m[2])!, port } : null;
}

/**
 * A host as a runtime reports it, with an IPv4 peer of a dual-stack socket
 * (`::ffff:a.b.c.d`, as Bun and Node give it) as plain `a.b.c.d`, so a
 * client is named the same whichever way it connected; "" when unknown.
 */
export function plainHost(host: string | undefined): string {
  if (!host) return "";
  return host.startsWith("::ffff:") && host.includes(".") ? host.slice(7) : host;
}
