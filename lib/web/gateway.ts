/**
 * The web gateway (`--web HOST:PORT`): Bun.serve serving the chat page and
 * its WebSocket endpoint. Bun only.
 *
 *   /            the page (lib/web/page/index.html)
 *   /NAME        the page's other files (lib/web/page/NAME)
 *   /colours.js    lib/chat/colours.ts for the browser (`MODULES`); nothing else
 *   /ws          the WebSocket upgrade: a browser's connection to the room
 *
 * The HTTP side sits beside the reactor, like the metrics endpoint; the
 * WebSockets are the reactor's: each upgraded connection comes out of
 * `listener` (lib/web/websocket.ts), which the chat server accepts
 * from as from its TCP listener.
 *
 * Refusals are one line of text with a status: 400 for a request on /ws
 * that is not a proper WebSocket upgrade, 403 for an upgrade from a page
 * of another origin (a browser always says which page opened the socket),
 * 503 when the server is out of descriptors. Each request holds a
 * descriptor from the server's budget while it is answered, and each
 * WebSocket holds one for its life; answers close their connection, so an
 * idle HTTP connection holds none for long.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { Server } from "bun";
import { formatHostPort, plainHost } from "../reactor/address.ts";
import { describeError, type Listener, ListenError, type TlsServerOptions } from "../reactor/backend.ts";
import { DescriptorBudget } from "../reactor/descriptors.ts";
import { isBunRuntime } from "../backends/runtime.ts";
import { type WebSocketData, WebSocketListener } from "./websocket.ts";
import { withRequestLease } from "./request-lease.ts";

/** The page's files. */
export const PAGE_DIR = fileURLToPath(new URL("./page/", import.meta.url));

/**
 * TypeScript modules the page shares with the rest of the program, served
 * as JavaScript (transpiled once, at start): URL path -> source file. Each
 * must import nothing, since the browser gets it alone.
 */
export const MODULES: Readonly<Record<string, string>> = {
  "/colours.js": fileURLToPath(new URL("../chat/colours.ts", import.meta.url)),
};

/** Where browsers open their WebSocket. */
export const WS_PATH = "/ws";

/** No inline script or style, nothing from elsewhere, no framing; the WebSocket only to this server. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Seconds an HTTP connection may stay idle (every answer closes its connection anyway). */
export const HTTP_IDLE_TIMEOUT_S = 10;

/** On every answer. */
const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()",
  connection: "close",
};

/** Content types by file extension; anything else is served as bytes. */
const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".webmanifest": "application/manifest+json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
};

/** The content type a file is served with. */
export function contentTypeOf(name: string): string {
  return CONTENT_TYPES[path.extname(name).toLowerCase()] ?? "application/octet-stream";
}

/** The gateway cannot start: not under Bun, or no page to serve. One line. */
export class WebGatewayError extends Error {
  override readonly name = "WebGatewayError";
}

/** A `--web-origin` value that is not an origin. */
export class OriginError extends Error {
  override readonly name = "OriginError";
}

/**
 * An origin as browsers send it (`scheme://host[:port]`, default port
 * left out), from what a user typed; throws `OriginError` for anything
 * else (a path, another scheme, not a URL).
 */
export function parseOrigin(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new OriginError(`"${text}" is not an origin (like https://chat.example.com:8443)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new OriginError(`"${text}" is not an http or https origin`);
  }
  if ((url.pathname !== "/" && url.pathname !== "") || url.search || url.hash || url.username || url.password) {
    throw new OriginError(`"${text}" is not an origin: only scheme://host[:port], no path`);
  }
  return url.origin;
}

/** How to start a gateway. */
export interface GatewayOptions {
  host: string;
  port: number;
  /** Serve https and wss with this certificate. */
  tls?: TlsServerOptions;
  /** Origins whose pages may open the WebSocket besides the page's own (see `parseOrigin`). */
  origins?: readonly string[];
  /** The server's budget: each request and each WebSocket holds a descriptor from it. */
  descriptors?: DescriptorBudget;
  /** --max-line: the largest text frame a client may send. */
  maxLine: number;
  /** Where the page's files are (default `PAGE_DIR`). */
  pageDir?: string;
}

/** A running gateway. */
export interface WebGateway {
  /** The WebSockets, for the chat server to accept from. */
  readonly listener: Listener;
  /** The page: `http://HOST:PORT/` (https with TLS). */
  readonly url: string;
  /** The WebSocket endpoint: `ws://HOST:PORT/ws` (wss with TLS). */
  readonly wsUrl: string;
  /** Stop serving and drop every connection. */
  stop(): void;
}

/** A file of the page, read once at start. */
interface PageFile {
  readonly body: Uint8Array;
  readonly type: string;
}

/**
 * The page's files by URL path (`/app.js`), read once: only these paths
 * are ever served, so no request can name another file. Dot files and
 * folders are left out.
 */
export function loadPage(dir: string): Map<string, PageFile> {
  const files = new Map<string, PageFile>();
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, encoding: "utf8" });
  } catch (err) {
    throw new WebGatewayError(`cannot read the web page in ${dir}: ${describeError(err)}`);
  }
  for (const name of names.sort()) {
    const parts = name.split(path.sep);
    if (parts.some((p) => p.startsWith("."))) continue;
    let body: Uint8Array;
    try {
      body = readFileSync(path.join(dir, name));
    } catch {
      continue; // a folder
    }
    files.set(`/${parts.join("/")}`, { body, type: contentTypeOf(name) });
  }
  if (!files.has("/index.html")) throw new WebGatewayError(`no web page to serve: ${path.join(dir, "index.html")} is missing`);
  return files;
}

/** `MODULES` as JavaScript, added to the page's files (Bun only: Bun.Transpiler). */
function addModules(page: Map<string, PageFile>): void {
  const transpiler = new Bun.Transpiler({ loader: "ts", target: "browser" });
  for (const [urlPath, file] of Object.entries(MODULES)) {
    let source: string;
    try {
      source = readFileSync(file, "utf8");
    } catch (err) {
      throw new WebGatewayError(`cannot read ${file} for ${urlPath}: ${describeError(err)}`);
    }
    page.set(urlPath, { body: new TextEncoder().encode(transpiler.transformSync(source)), type: contentTypeOf(urlPath) });
  }
}

/** The headers of a one-line text answer. */
const TEXT_HEADERS: Record<string, string> = { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8" };

/** A one-line text answer. */
function answer(status: number, text: string, headers: Record<string, string> = {}): Response {
  return new Response(`${text}\n`, { status, headers: { ...TEXT_HEADERS, ...headers } });
}

/** Whether a comma-separated header holds `token` (case-insensitive). */
function hasToken(value: string | null, token: string): boolean {
  return (value ?? "").split(",").some((v) => v.trim().toLowerCase() === token);
}

/** What is wrong with a request to /ws as a WebSocket upgrade (RFC 6455, 4.2.1), or null. */
export function upgradeProblem(req: Request): { status: number; reason: string; headers?: Record<string, string> } | null {
  const h = req.headers;
  if (req.method !== "GET")
    return { status: 405, reason: `${WS_PATH} takes a WebSocket upgrade (GET), not ${req.method}`, headers: { allow: "GET" } };
  if (!hasToken(h.get("upgrade"), "websocket")) {
    return { status: 400, reason: `not a WebSocket upgrade: ${WS_PATH} needs an "Upgrade: websocket" header` };
  }
  if (!hasToken(h.get("connection"), "upgrade")) {
    return { status: 400, reason: 'not a WebSocket upgrade: the "Connection" header must include "Upgrade"' };
  }
  const version = h.get("sec-websocket-version");
  if (version?.trim() !== "13") {
    return {
      status: 400,
      reason: `unsupported WebSocket version ${version === null ? "(none given)" : JSON.stringify(version)}: this server speaks 13`,
      headers: { "sec-websocket-version": "13" },
    };
  }
  const key = h.get("sec-websocket-key")?.trim() ?? "";
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) {
    return { status: 400, reason: "missing or malformed Sec-WebSocket-Key header (16 random bytes in base64)" };
  }
  return null;
}

/**
 * Start serving on host:port (0: any free port). Throws `ListenError` when
 * the address cannot be had, `WebGatewayError` outside Bun or without a page.
 */
export function startGateway(options: GatewayOptions): WebGateway {
  if (!isBunRuntime()) {
    throw new WebGatewayError("the web gateway needs the Bun runtime (it is Bun.serve's WebSocket server)");
  }
  const page = loadPage(options.pageDir ?? PAGE_DIR);
  addModules(page);
  const descriptors = options.descriptors ?? new DescriptorBudget(Infinity);
  const scheme = options.tls ? "https" : "http";
  const allowed = new Set((options.origins ?? []).map(parseOrigin));
  const listener = new WebSocketListener(options.maxLine);

  /** The origin of the page this server serves, as the browser that asks knows it (its Host header). */
  const ownOrigin = (req: Request): string | null => {
    const host = req.headers.get("host");
    if (!host) return null;
    try {
      return new URL(`${scheme}://${host}`).origin;
    } catch {
      return null;
    }
  };

  const upgrade = (req: Request, server: Server<WebSocketData>): Response | undefined => {
    const problem = upgradeProblem(req);
    if (problem) return answer(problem.status, problem.reason, problem.headers);
    // Browsers send the page's origin with every WebSocket handshake; a client
    // without one is not a page (a terminal tool, a benchmark) and is let in.
    const origin = req.headers.get("origin");
    if (origin !== null && origin !== ownOrigin(req) && !allowed.has(origin)) {
      return answer(403, `a page from ${origin} may not open ${WS_PATH} here (allow it with --web-origin)`);
    }
    // An upgraded socket keeps the request's descriptor for its life; a failed upgrade's answer gives it back.
    return withRequestLease(descriptors, TEXT_HEADERS, (lease) => {
      const ip = server.requestIP(req);
      const data: WebSocketData = { remote: { host: plainHost(ip?.address), port: ip?.port ?? 0 }, lease, conn: null };
      if (ip && server.upgrade(req, { data })) return undefined;
      return answer(400, "WebSocket upgrade failed");
    });
  };

  const asset = (req: Request, pathname: string): Response => {
    if (req.method !== "GET" && req.method !== "HEAD") return answer(405, `method ${req.method} not allowed`, { allow: "GET, HEAD" });
    let name: string;
    try {
      name = decodeURIComponent(pathname);
    } catch {
      return answer(400, "malformed path");
    }
    const file = page.get(name === "/" ? "/index.html" : name);
    if (!file) return answer(404, "not found");
    return new Response(file.body, {
      headers: { ...SECURITY_HEADERS, "content-type": file.type, "cache-control": "no-cache" },
    });
  };

  let server: Server<WebSocketData>;
  try {
    server = Bun.serve<WebSocketData>({
      hostname: options.host,
      port: options.port,
      idleTimeout: HTTP_IDLE_TIMEOUT_S,
      development: false,
      // Bun sets SO_REUSEPORT outside development mode unless told not to: a
      // second server on the same port would then share its connections
      // instead of being told the port is taken.
      reusePort: false,
      ...(options.tls ? { tls: { cert: options.tls.cert, key: options.tls.key } } : {}),
      websocket: listener.handlers,
      fetch(req, server) {
        const pathname = new URL(req.url).pathname;
        if (pathname === WS_PATH) return upgrade(req, server);
        return withRequestLease(descriptors, TEXT_HEADERS, () => asset(req, pathname));
      },
      // Never a stack trace to a browser.
      error() {
        return answer(500, "internal error");
      },
    });
  } catch (err) {
    throw new ListenError(options.host, options.port, describeError(err));
  }
  const port = server.port ?? options.port;
  listener.bind({ host: options.host, port }, () => void server.stop(false));
  const at = formatHostPort(options.host, port);
  return {
    listener,
    url: `${scheme}://${at}/`,
    wsUrl: `${options.tls ? "wss" : "ws"}://${at}${WS_PATH}`,
    stop() {
      listener.close();
      server.stop(true);
    },
  };
}
