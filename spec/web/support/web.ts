/** A `bun bin/server.ts --web 127.0.0.1:0` for the gateway's specs, and where its page and WebSocket are. */
import { type ServerProcess, startServer } from "../../support/bun.ts";

/** The server's start lines say where the web page is: `Web page on URL (WebSocket WS_URL)`. */
export const WEB_LINE = /Web page on (https?:\/\/\S+\/) \(WebSocket (wss?:\/\/\S+\/ws)\)/;

export interface WebServer extends ServerProcess {
  /** `http://127.0.0.1:PORT/` (https with TLS). */
  pageUrl: string;
  /** `ws://127.0.0.1:PORT/ws` (wss with TLS). */
  wsUrl: string;
  /** The gateway's port. */
  webPort: number;
  /** The page's own origin, as a browser on it sends it. */
  origin: string;
}

/** Start a chat server with the gateway on a free port, plus `extra` flags. */
export async function startWebServer(extra: string[] = [], options: { openFiles?: number } = {}): Promise<WebServer> {
  const server = await startServer(["--web", "127.0.0.1:0", ...extra], options);
  // Printed before the chat start line, which startServer has waited for.
  const m = WEB_LINE.exec(server.output());
  if (!m) {
    await server.stop();
    throw new Error(`no web line in: ${server.output()}`);
  }
  const pageUrl = m[1]!;
  return Object.assign(server, {
    pageUrl,
    wsUrl: m[2]!,
    webPort: Number(new URL(pageUrl).port),
    origin: new URL(pageUrl).origin,
  });
}
