/** What Linux says about a process: resident memory and open descriptors. */
import { readdirSync, readFileSync } from "node:fs";

/** Resident set size in KiB (VmRSS from /proc/PID/status). */
export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** Number of open file descriptors (entries of /proc/PID/fd). */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
