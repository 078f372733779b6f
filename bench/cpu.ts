// CPU accounting: our own process via process.cpuUsage, a child server via
// /proc/PID/stat (utime+stime in clock ticks) and its RSS via /proc/PID/status.

import { readFileSync } from "node:fs";

const CLK_TCK = 100; // Linux USER_HZ; constant on every mainstream kernel config

export interface CpuSample {
  wallMs: number;
  selfUs: number;
  serverUs: number | null;
}

export function serverCpuUs(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // fields after the parenthesised command name; utime/stime are fields 14/15
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(rest[11]) + Number(rest[12])) / CLK_TCK) * 1e6;
  } catch {
    return null;
  }
}

/** A `kB` field of /proc/PID/status (VmRSS, VmHWM, ...), or null. */
export function statusKb(pid: number | null, field: string): number | null {
  if (pid === null) return null;
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** The 1, 5 and 15 minute load averages ("0.52 0.61 0.70"), or "?". The
 * machine may be shared: a figure should carry the load it was taken under. */
export function loadAverage(): string {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return "?";
  }
}

/** Resident set of a process, in KiB. */
export const serverRssKb = (pid: number | null): number | null => statusKb(pid, "VmRSS");

export function sampleCpu(pid: number | null): CpuSample {
  const usage = process.cpuUsage();
  return { wallMs: performance.now(), selfUs: usage.user + usage.system, serverUs: serverCpuUs(pid) };
}

/** CPU used between two samples, as a fraction of one core (1 = 100%). */
export function cpuBetween(before: CpuSample, after: CpuSample): { gen: number; server: number | null } {
  const wallUs = Math.max(1, (after.wallMs - before.wallMs) * 1000);
  return {
    gen: (after.selfUs - before.selfUs) / wallUs,
    server: before.serverUs !== null && after.serverUs !== null ? (after.serverUs - before.serverUs) / wallUs : null,
  };
}
