// Resolving what to measure: our server started in a child process (we then
// know its PID for CPU/RSS), the C reference relay built into /tmp, or any
// already running HOST:PORT (no PID, so no server CPU/memory figures).

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { parseHostPort, type Backend } from "./args.ts";
import { TargetError } from "./loadgen.ts";

export interface Target {
  label: string;
  host: string;
  port: number;
  /** PID of the server process when we own it */
  pid: number | null;
  stop(): Promise<void>;
}

export const repoRoot = path.resolve(import.meta.dir, "..");

export function sharedDir(): string {
  const beside = path.resolve(repoRoot, "../shared");
  return existsSync(beside) ? beside : "/work/shared";
}

/** Wait for the start line on stdout; the server's own output after that is discarded. */
function waitListening(child: ChildProcess, label: string, startLine: RegExp): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => fail(`${label}: no start line within 10 s`), 10_000);
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new TargetError(why + (err.trim() ? `: ${err.trim().split("\n").slice(-3).join(" | ")}` : "")));
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

export async function startOurs(label: string, backend: Backend, noCoalesce: boolean, extraArgs: string[] = []): Promise<Target> {
  const entry = path.join(repoRoot, "bin/server.ts");
  if (!existsSync(entry)) throw new TargetError(`${label}: ${entry} does not exist (our server is not in this tree yet)`);
  const args = [entry, "--host", "127.0.0.1", "--port", "0", "--backend", backend];
  if (noCoalesce) args.push("--no-coalesce");
  // The load generator floods by design: flood control off (--rate 0).
  args.push("--rate", "0", ...extraArgs);
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  const { host, port } = await waitListening(child, label, /listening on (\S+):(\d+)/);
  child.removeAllListeners("exit");
  return { label, host, port, pid: child.pid ?? null, stop: stopper(child) };
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

async function startC(): Promise<Target> {
  const src = path.join(sharedDir(), "peers/c_relay.c");
  if (!existsSync(src)) throw new TargetError(`c: ${src} not found`);
  const bin = "/tmp/bench_c_relay";
  const cc = spawnSync("cc", ["-O2", "-o", bin, src], { encoding: "utf8" });
  if (cc.error || cc.status !== 0) throw new TargetError(`c: cc failed: ${cc.error?.message ?? cc.stderr.trim()}`);
  // c_relay echoes the port it was given, so port 0 would print 0: pick one first
  const port = await freePort();
  const child = spawn(bin, ["127.0.0.1", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  await waitListening(child, "c", /listening on (\S+):(\d+)/);
  child.removeAllListeners("exit");
  return { label: "c", host: "127.0.0.1", port, pid: child.pid ?? null, stop: stopper(child) };
}

export function targetLabel(spec: string, backend: Backend, noCoalesce: boolean): string {
  if (spec === "ours") return `ours-${backend}${noCoalesce ? "-nocoalesce" : ""}`;
  return spec;
}

export const isExternal = (spec: string): boolean => /:\d+$/.test(spec);

/** spec: 'ours-bun' | 'ours-node' | 'ours-nocoalesce' | 'c' | 'HOST:PORT' */
export async function startTarget(spec: string, backend: Backend, noCoalesce: boolean, serverArgs: string[] = []): Promise<Target> {
  switch (spec) {
    case "ours":
      return startOurs(targetLabel(spec, backend, noCoalesce), backend, noCoalesce, serverArgs);
    case "ours-bun":
      return startOurs(spec, "bun", noCoalesce, serverArgs);
    case "ours-node":
      return startOurs(spec, "node", noCoalesce, serverArgs);
    case "ours-nocoalesce":
      return startOurs(spec, backend, true, serverArgs);
    case "c":
      return startC();
    default: {
      const { host, port } = parseHostPort("--target", spec);
      return { label: spec, host, port, pid: null, stop: async () => {} };
    }
  }
}
