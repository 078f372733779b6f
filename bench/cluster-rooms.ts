// `npx bun bench/cluster-rooms.ts [ROOMS...]`: what rooms cost a cluster.
// For each number of rooms R (default 1 100 1000): a throwaway redis-server
// and two servers (--cluster), one client per room on each server, each
// client in its own room. Then 10 s idle and 10 s with one line a second
// in every room (said on the first server, read on the second), sampling
// Redis's memory and the CPU time of Redis and of each server from /proc.
// Prints one JSON line per R. Loopback only; everything stops by itself.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

const root = path.resolve(import.meta.dir, "..");
const bun = process.execPath;
const TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** CPU seconds a process has used (user + system), from /proc/PID/stat. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Start `cmd` and resolve once its output matches `ready`. */
function started(cmd: string, args: string[], ready: RegExp): Promise<{ child: ChildProcess; out: () => string }> {
  const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} not ready: ${out}`)), 15_000);
    const take = (chunk: Buffer) => {
      out += chunk;
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve({ child, out: () => out });
      }
    };
    child.stdout!.on("data", take);
    child.stderr!.on("data", take);
  });
}

function redisInfo(port: number, field: string): number {
  const info = spawnSync("redis-cli", ["-p", String(port), "INFO", "memory"], { encoding: "utf8" }).stdout;
  return Number(new RegExp(`^${field}:(\\d+)`, "m").exec(info)?.[1] ?? Number.NaN);
}

/** One client per room on `port`, each in its room; resolves once every one has its presence line. */
async function clients(port: number, rooms: number): Promise<net.Socket[]> {
  const out: net.Socket[] = [];
  for (let i = 0; i < rooms; i += 100) {
    const batch = await Promise.all(
      Array.from(
        { length: Math.min(100, rooms - i) },
        (_, j) =>
          new Promise<net.Socket>((resolve, reject) => {
            const s = net.connect({ host: "127.0.0.1", port }, () => s.write(`/join r${i + j}\n`));
            let got = "";
            s.on("data", (d) => {
              got += d;
              if (got.includes(`In #r${i + j}:`)) resolve(s);
            });
            s.on("error", reject);
          }),
      ),
    );
    out.push(...batch);
  }
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function measure(rooms: number): Promise<Record<string, number>> {
  const redisPort = await freePort();
  const redis = await started(
    "redis-server",
    ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    /Ready to accept/,
  );
  const url = `redis://127.0.0.1:${redisPort}`;
  const serverArgs = (node: string) => [
    "bin/server.ts",
    "--port",
    "0",
    "--cluster",
    url,
    "--node",
    node,
    "--rate",
    "0",
    "--quiet",
    "--max-rooms",
    String(rooms + 10),
  ];
  const s1 = await started(bun, serverArgs("b1"), /Cluster link up/);
  const s2 = await started(bun, serverArgs("b2"), /Cluster link up/);
  const portOf = (out: string) => Number(/listening on \S+:(\d+)/.exec(out)![1]);
  const before = redisInfo(redisPort, "used_memory");
  const on1 = await clients(portOf(s1.out()), rooms);
  const on2 = await clients(portOf(s2.out()), rooms);
  await sleep(2000);
  const pids = [redis.child.pid!, s1.child.pid!, s2.child.pid!];
  const idleStart = pids.map(cpuSeconds);
  await sleep(10_000);
  const idle = pids.map((p, i) => cpuSeconds(p) - idleStart[i]!);
  const memory = redisInfo(redisPort, "used_memory");
  let received = 0;
  for (const s of on2) s.on("data", (d: Buffer) => (received += d.toString().split("\n").length - 1));
  const busyStart = pids.map(cpuSeconds);
  for (let second = 0; second < 10; second++) {
    for (const [i, s] of on1.entries()) s.write(`line ${second} in r${i}\n`);
    await sleep(1000);
  }
  await sleep(500);
  const busy = pids.map((p, i) => cpuSeconds(p) - busyStart[i]!);
  for (const s of [...on1, ...on2]) s.destroy();
  for (const p of [s1, s2, redis]) p.child.kill("SIGKILL");
  const lines = rooms * 10;
  return {
    rooms,
    redisMemoryBytes: memory - before,
    redisMemoryPerRoomBytes: Math.round((memory - before) / rooms),
    idleRedisCpuPct: (idle[0]! / 10) * 100,
    idleServerCpuPct: ((idle[1]! + idle[2]!) / 2 / 10) * 100,
    lines,
    received,
    redisCpuUsPerLine: (busy[0]! / lines) * 1e6,
    serverCpuUsPerLine: ((busy[1]! + busy[2]!) / lines) * 1e6,
  };
}

const counts = process.argv.slice(2).map(Number);
for (const rooms of counts.length > 0 ? counts : [1, 100, 1000]) console.log(JSON.stringify(await measure(rooms)));
process.exit(0);
