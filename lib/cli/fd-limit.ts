/*
 * The process's open-file limit (RLIMIT_NOFILE, soft), read from
 * /proc/self/limits. Neither Bun nor Node exposes getrlimit(); elsewhere
 * than Linux this returns null and the caller keeps its own limit.
 */
import { readFileSync } from "node:fs";

/** The soft limit on open files, or null when it is unlimited or cannot be read. */
export function openFileLimit(): number | null {
  let text: string;
  try {
    text = readFileSync("/proc/self/limits", "utf8");
  } catch {
    return null;
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  if (soft === undefined || soft === "unlimited") return null;
  const limit = Number(soft);
  return Number.isFinite(limit) ? limit : null;
}
