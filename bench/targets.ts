// Resolving what to measure: our server started in a child process (we then
// know its PID for CPU/RSS), over TCP or over WebSocket (--web), the C
// reference relay or the C reference with rooms built into a temp dir, a redis-server for Redis pub/sub,
// Bun's own WebSocket pub/sub (bench/peers/bun-publish.ts), or any already
// running HOST:PORT or ws://HOST:PORT/PATH (no PID, so no server
// CPU/memory figures).

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseHostPort, roomFlags, type Backend, type ScenarioName } from "./args.ts";
import { TargetError } from "./loadgen.ts";
import { lineWire, redisWire, type Wire } from "./wire.ts";
import { parseWsUrl, wsWire } from "./ws.ts";

export interface Target {
  label: string;
  host: string;
  port: number;
  /** PID of the server process when we own it */
  pid: number | null;
  /** how the load generator talks to it */
  wire: Wire;
  stop(): Promise<void>;
}

/** What starting a target needs from the command line. */
export interface TargetOptions {
  backend: Backend;
  noCoalesce: boolean;
  /** more flags for our server (--server-args) */
  serverArgs: string[];
  /** --c-relay: the C reference relay's source */
  cRelay?: string;
  /** --c-rooms: the C reference with rooms' source */
  cRooms?: string;
  /** the most clients a scenario connects (--max-clients): redis-server is told to take them */
  maxClients: number;
  /** the scenarios of the run, and the rooms layout flags: our server is told to hold the rooms they make */
  scenarios?: readonly ScenarioName[];
  rooms?: number;
  members?: number;
  senders?: number;
}

/** A target that cannot be measured on this machine (no C relay source, no
 * redis-server): it is skipped, and this one line says why. */
export class TargetUnavailable extends TargetError {
  override name = "TargetUnavailable";
}

export const repoRoot = path.resolve(import.meta.dir, "..");

/** Where the C reference relay is looked for without --c-relay: beside the checkout. */
export const C_RELAY_BESIDE = path.resolve(repoRoot, "../shared/peers/c_relay.c");
/** Where the C reference with rooms is looked for without --c-rooms: beside the checkout. */
export const C_ROOMS_BESIDE = path.resolve(repoRoot, "../shared/peers/c_rooms.c");

/** Wait for the start line on stdout (its first two groups: host and port); the server's own output after that is discarded. */
function waitListening(child: ChildProcess, label: string, startLine: RegExp): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => fail(`${label}: no start line within 10 s`), 10_000);
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      // redis-server logs its errors on stdout
      const said = err.trim() || out.trim();
      reject(new TargetError(why + (said ? `: ${said.split("\n").slice(-3).join(" | ")}` : "")));
    };
    child.stderr?.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = startLine.exec(out);
      if (match) {
        clearTimeout(timer);
        out = "";
        child.stdout?.removeAllListeners("data");
        child.stdout?.resume();
        resolve({ host: match[1], port: Number(match[2]) });
      }
    });
    child.on("exit", (code, signal) => fail(`${label} exited before listening (code ${code}, signal ${signal})`));
    child.on("error", (error) => fail(`${label}: ${error.message}`));
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const killTimer = setTimeout(() => child.kill("SIGKILL"), 2000);
      child.once("exit", () => {
        clearTimeout(killTimer);
        resolve();
      });
      child.kill("SIGTERM");
    });
}

/** Where our server says its WebSocket endpoint is (`--web`): `Web page on http://... (WebSocket ws://HOST:PORT/ws)`. */
export const WEB_START_LINE = /\(WebSocket ws:\/\/(\[[^\]]+\]|[^\s:/]+):(\d+)\//;

/** The path of our gateway's WebSocket endpoint (and of bun-publish's). */
export const WS_PATH = "/ws";

export async function startOurs(
  label: string,
  backend: Backend,
  noCoalesce: boolean,
  extraArgs: string[] = [],
  /** drive it over WebSocket: start it with --web and talk to that */
  web = false,
): Promise<Target> {
  const entry = path.join(repoRoot, "bin/server.ts");
  if (!existsSync(entry)) throw new TargetError(`${label}: ${entry} does not exist (our server is not in this tree yet)`);
  const args = [entry, "--host", "127.0.0.1", "--port", "0", "--backend", backend];
  if (noCoalesce) args.push("--no-coalesce");
  if (web) args.push("--web", "127.0.0.1:0");
  // The load generator floods by design: flood control off (--rate 0).
  args.push("--rate", "0", ...extraArgs);
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  const { host, port } = await waitListening(child, label, web ? WEB_START_LINE : /listening on (\S+):(\d+)/);
  child.removeAllListeners("exit");
  const bare = host.replace(/^\[(.*)\]$/, "$1");
  const wire = web ? wsWire({ host: bare, port, path: WS_PATH }) : lineWire;
  return { label, host: bare, port, pid: child.pid ?? null, wire, stop: stopper(child) };
}

/** Bun's own pub/sub over WebSocket (bench/peers/bun-publish.ts), on a free port. */
async function startBunPublish(label: string): Promise<Target> {
  const entry = path.join(repoRoot, "bench/peers/bun-publish.ts");
  const child = spawn(process.execPath, [entry, "127.0.0.1:0"], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  const { host, port } = await waitListening(child, label, /listening on (\S+):(\d+)/);
  child.removeAllListeners("exit");
  return { label, host, port, pid: child.pid ?? null, wire: wsWire({ host, port, path: WS_PATH }), stop: stopper(child) };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The C relay's source: --c-relay, else beside the checkout. */
export const cRelaySource = (given: string | undefined): string => (given ? path.resolve(given) : C_RELAY_BESIDE);

/** The one line that says the C relay is not there: where the harness looked, and the flag. */
export const cRelayMissing = (src: string, given: boolean): string =>
  given
    ? `c: no C reference relay at ${src} (given by --c-relay)`
    : `c: no C reference relay at ${src} (beside the checkout); give its source with --c-relay PATH`;

/** The C reference with rooms' source: --c-rooms, else beside the checkout. */
export const cRoomsSource = (given: string | undefined): string => (given ? path.resolve(given) : C_ROOMS_BESIDE);

/** The one line that says c_rooms.c is not there: where the harness looked, and the flag. */
export const cRoomsMissing = (src: string, given: boolean): string =>
  given
    ? `c-rooms: no C reference with rooms at ${src} (given by --c-rooms)`
    : `c-rooms: no C reference with rooms at ${src} (beside the checkout); give its source with --c-rooms PATH`;

/** The C peers, each compiled once per run into a directory removed at exit. */
const cBinaries = new Map<string, string>();

/** The C peer `name` (c: the relay, c-rooms: with rooms) built from its source. */
function buildC(name: "c" | "c-rooms", opts: TargetOptions): string {
  const given = name === "c" ? opts.cRelay : opts.cRooms;
  const src = name === "c" ? cRelaySource(given) : cRoomsSource(given);
  if (!existsSync(src)) throw new TargetUnavailable((name === "c" ? cRelayMissing : cRoomsMissing)(src, given !== undefined));
  const built = cBinaries.get(name);
  if (built) return built;
  const dir = mkdtempSync(path.join(tmpdir(), `bench-${name}-`));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const bin = path.join(dir, name === "c" ? "c_relay" : "c_rooms");
  const cc = spawnSync("cc", ["-O2", "-o", bin, src], { encoding: "utf8" });
  if (cc.error) throw new TargetUnavailable(`${name}: no C compiler (cc) to build ${src}`);
  if (cc.status !== 0) throw new TargetUnavailable(`${name}: cc could not build ${src}: ${cc.stderr.trim().split("\n")[0]}`);
  cBinaries.set(name, bin);
  return bin;
}

async function startC(name: "c" | "c-rooms", opts: TargetOptions): Promise<Target> {
  const bin = buildC(name, opts);
  // the C peers echo the port they were given, so port 0 would print 0: pick one first
  const port = await freePort();
  const child = spawn(bin, ["127.0.0.1", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  await waitListening(child, name, /listening on (\S+):(\d+)/);
  child.removeAllListeners("exit");
  return { label: name, host: "127.0.0.1", port, pid: child.pid ?? null, wire: lineWire, stop: stopper(child) };
}

/** Why redis-server cannot be started here, or null when it can. */
export function redisMissing(): string | null {
  const probe = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  return probe.error || probe.status !== 0 ? "redis-server is not installed (apt-get install redis-server)" : null;
}

/** A throwaway redis-server: loopback, a free port, no persistence; its log is discarded once it is ready. */
export async function startRedis(label: string, maxClients = 0): Promise<Target> {
  const missing = redisMissing();
  if (missing) throw new TargetUnavailable(`${label}: ${missing}`);
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  // Its default (10000 clients) would refuse a larger --max-clients; it lowers
  // this itself to what the open-file limit allows.
  args.push("--maxclients", String(Math.max(10_000, maxClients + 100)));
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  await waitListening(child, label, /Ready to accept connections/);
  child.removeAllListeners("exit");
  return { label, host: "127.0.0.1", port, pid: child.pid ?? null, wire: redisWire, stop: stopper(child) };
}

/**
 * Throws TargetUnavailable, with a one-line reason, when `spec` cannot be
 * measured on this machine (building the C relay on the way). HOST:PORT
 * targets are probed by the caller.
 */
export function checkTarget(spec: string, opts: TargetOptions): void {
  if (spec === "c" || spec === "c-rooms") buildC(spec, opts);
  if (spec === "redis") {
    const missing = redisMissing();
    if (missing) throw new TargetUnavailable(`redis: ${missing}`);
  }
}

export function targetLabel(spec: string, backend: Backend, noCoalesce: boolean): string {
  if (spec === "ours") return `ours-${backend}${noCoalesce ? "-nocoalesce" : ""}`;
  return spec;
}

export const isExternal = (spec: string): boolean => /:\d+$/.test(spec) || parseWsUrl(spec) !== null;

/** spec: 'ours' | 'ours-bun' | 'ours-node' | 'ours-nocoalesce' | 'ours-ws' | 'c' | 'c-rooms' | 'redis' | 'bun-publish' | 'HOST:PORT' | 'ws://HOST:PORT/PATH' */
export async function startTarget(spec: string, opts: TargetOptions): Promise<Target> {
  const { backend, noCoalesce } = opts;
  const serverArgs = [...roomFlags(opts), ...opts.serverArgs];
  switch (spec) {
    case "ours":
      return startOurs(targetLabel(spec, backend, noCoalesce), backend, noCoalesce, serverArgs);
    case "ours-bun":
      return startOurs(spec, "bun", noCoalesce, serverArgs);
    case "ours-node":
      return startOurs(spec, "node", noCoalesce, serverArgs);
    case "ours-nocoalesce":
      return startOurs(spec, backend, true, serverArgs);
    case "ours-ws":
      return startOurs(spec, "bun", noCoalesce, serverArgs, true);
    case "bun-publish":
      return startBunPublish(spec);
    case "c":
    case "c-rooms":
      return startC(spec, opts);
    case "redis":
      return startRedis(spec, opts.maxClients);
    default: {
      const url = parseWsUrl(spec);
      if (url) return { label: spec, host: url.host, port: url.port, pid: null, wire: wsWire(url), stop: async () => {} };
      const { host, port } = parseHostPort("--target", spec);
      return { label: spec, host, port, pid: null, wire: lineWire, stop: async () => {} };
    }
  }
}
