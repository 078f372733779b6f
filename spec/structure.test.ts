// The module graph of lib/ has no circle, and the reactor core imports
// nothing from the layers above it or from a runtime.
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import t from "tap";
import { root } from "./support/bun.ts";

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : [],
  );
}

const lib = path.join(root, "lib");
const imports = new Map(
  files(lib).map((file) => {
    const specifiers = [...readFileSync(file, "utf8").matchAll(/^(?:import|export)\b[^;]*?from\s+"([^"]+)"/gms)].map((m) => m[1]!);
    return [file, specifiers] as const;
  }),
);
const local = (file: string) =>
  imports
    .get(file)!
    .filter((s) => s.startsWith("."))
    .map((s) => path.join(path.dirname(file), s));

/** One import circle, as a list of files, or null. */
function findCircle(): string[] | null {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string): string[] | null => {
    state.set(file, "open");
    stack.push(file);
    for (const next of local(file)) {
      if (state.get(next) === "open") return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(file, "done");
    return null;
  };
  for (const file of imports.keys()) {
    if (state.has(file)) continue;
    const found = visit(file);
    if (found) return found;
  }
  return null;
}

t.test("lib/ has no import circle", async (t) => {
  const circle = findCircle();
  t.equal(circle?.map((f) => path.relative(root, f)).join(" -> ") ?? null, null);
});

t.test("lib/reactor imports only lib/reactor and lib/bytes.ts, and no runtime", async (t) => {
  const outside: string[] = [];
  for (const [file, specifiers] of imports) {
    if (!file.startsWith(path.join(lib, "reactor") + path.sep)) continue;
    for (const s of specifiers) {
      const target = s.startsWith(".") ? path.join(path.dirname(file), s) : s;
      const ok = target.startsWith(path.join(lib, "reactor") + path.sep) || target === path.join(lib, "bytes.ts");
      if (!ok) outside.push(`${path.relative(root, file)}: ${s}`);
    }
  }
  t.same(outside, []);
});
