/** `--version` for the programs: the package version and the runtime. */
import { readFileSync } from "node:fs";

/** E.g. `select-chat server 0.1.0 (bun 1.4.5)`. */
export function versionLine(program: string): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { name: string; version: string };
  const bun = (process.versions as Record<string, string | undefined>).bun;
  const runtime = bun ? `bun ${bun}` : `node ${process.versions.node}`;
  return `${pkg.name} ${program} ${pkg.version} (${runtime})`;
}
