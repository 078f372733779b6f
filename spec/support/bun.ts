/**
 * Helpers for tests that need Bun: tap runs on Node, so Bun code runs in
 * child processes started from here.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { Waiters } from "./waiters.ts";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const bunPath = path.join(root, "node_modules", ".bin", "bun");

/** Run a Bun script to completion; resolves with its exit code and output. */
export function runBun(
  args: string[],
  options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bunPath, args, { cwd: root, env: options.env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", reject);
    // A program that exits before reading its input (a refused connection, say) closes the pipe: not an error here.
    child.stdin.on("error", () => {});
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/** A running `bun bin/server.ts` on a free port. */
export interface ServerProcess {
  child: ChildProcess;
  port: number;
  /** Everything the server printed on stdout so far. */
  output(): string;
  /** Everything the server printed on stderr so far. */
  errors(): string;
  /** Resolves when stdout contains `text`. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves when `test` holds, checked on what stdout holds so far each time more arrives. */
  waitUntil(test: (output: string) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /**
   * Call `listener` with each complete stdout line (without newline) from now
   * on, before any waiter looks at it: lets a test count lines as they come
   * instead of rescanning all the output.
   */
  onLine(listener: (line: string) => void): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

export function startServer(extra: string[] = [], options: { openFiles?: number } = {}): Promise<ServerProcess> {
  const args = ["bin/server.ts", "--port", "0", ...extra];
  const stdio: ["ignore", "pipe", "pipe"] = ["ignore", "pipe", "pipe"];
  // A lower open-file limit needs a shell: exec keeps the server's pid the child's.
  const child =
    options.openFiles === undefined
      ? spawn(bunPath, args, { cwd: root, stdio })
      : spawn("sh", ["-c", `ulimit -n ${options.openFiles} && exec "$0" "$@"`, bunPath, ...args], { cwd: root, stdio });
  let out = "";
  let err = "";
  /** Where the line being received started in `out`. */
  let lineStart = 0;
  const lineListeners: Array<(line: string) => void> = [];
  const waiters = new Waiters();
  child.stdout!.on("data", (chunk) => {
    const from = out.length;
    out += chunk;
    for (let newline = out.indexOf("\n", from); newline >= 0; newline = out.indexOf("\n", lineStart)) {
      const line = out.slice(lineStart, newline);
      lineStart = newline + 1;
      for (const listener of lineListeners) listener(line);
    }
    waiters.wake();
  });
  child.stderr!.on("data", (chunk) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => {
      waiters.wake();
      resolve({ code, signal });
    }),
  );
  const waitUntil = (test: (output: string) => boolean, what: string, timeoutMs = 10_000) =>
    waiters.until(
      () => {
        if (test(out)) return true;
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited before printing ${what}; stderr: ${err}`);
        return false;
      },
      `the server to print ${what}`,
      timeoutMs,
      () => `; stdout: ${out}; stderr: ${err}`,
    );
  const waitFor = (text: string | RegExp, timeoutMs?: number) =>
    waitUntil((output) => (typeof text === "string" ? output.includes(text) : text.test(output)), String(text), timeoutMs);
  return waitFor(/listening on \S+:(\d+)/).then(() => ({
    child,
    port: Number(/listening on \S+:(\d+)/.exec(out)![1]),
    output: () => out,
    errors: () => err,
    waitFor,
    waitUntil,
    onLine: (listener: (line: string) => void) => void lineListeners.push(listener),
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  }));
}

/** The JSON objects a program printed one per line (`bun bench --json`, say). */
// biome-ignore lint/suspicious/noExplicitAny: a test reads whatever fields it checks
export function jsonLines(stdout: string): any[] {
  return stdout
    .trim()
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line));
}
