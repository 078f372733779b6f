/**
 * A throwaway `redis-server` for cluster tests: loopback, a free port, no
 * persistence. It can be killed and started again on the same port to
 * test that servers heal their link.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as net from "node:net";

/** Why cluster tests cannot run here, or false when they can. */
export function redisMissing(): string | false {
  const probe = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  return probe.error || probe.status !== 0 ? "redis-server is not installed (apt-get install redis-server)" : false;
}

/** A free loopback port (closed again right away, so a tiny race remains). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export class RedisServer {
  private child: ChildProcess | null = null;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Start one on `port`, or on a free port. */
  static async start(port?: number): Promise<RedisServer> {
    const redis = new RedisServer(port ?? (await freePort()));
    await redis.restart();
    return redis;
  }

  /** Start (again) on the same port; resolves once it accepts connections. */
  restart(): Promise<void> {
    const child = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    let out = "";
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server not ready within 10 s: ${out}`)), 10_000);
      child.stdout!.on("data", (d) => {
        out += d;
        if (out.includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}): ${out}`));
      });
    });
  }

  /** Send it a signal: SIGSTOP pauses it (connections stay open, nothing is answered), SIGCONT resumes it. */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** Kill it abruptly (as a crash would); resolves once it is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.removeAllListeners("exit");
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });
  }
}
