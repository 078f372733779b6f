// The module graph of lib/ has no circle; the reactor core imports nothing
// from the layers above it or from a runtime; the wire formats and the
// entries know no server; and the server knows the cluster only through
// the `Relay` interface (lib/server/relay.ts), which is all the cluster
// knows of the server. lib/server/app.ts, the program's composition root,
// is the one module that puts the two together.
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

/** Files of `from` (a folder under lib/) that import something under `to`, with what, but for `allowed` targets and `exempt` files. */
function importsInto(from: string, to: string, allowed: string[] = [], exempt: string[] = []): string[] {
  const found: string[] = [];
  const target = path.join(lib, to) + (to.endsWith(".ts") ? "" : path.sep);
  for (const [file, specifiers] of imports) {
    if (!file.startsWith(path.join(lib, from) + path.sep) || exempt.includes(path.relative(lib, file))) continue;
    for (const s of specifiers) {
      if (!s.startsWith(".")) continue;
      const resolved = path.join(path.dirname(file), s);
      if (!resolved.startsWith(target)) continue;
      if (allowed.includes(path.relative(lib, resolved))) continue;
      found.push(`${path.relative(root, file)}: ${s}`);
    }
  }
  return found;
}

t.test("the server knows the cluster only through the Relay interface, and the cluster the server only through it", async (t) => {
  t.same(importsInto("server", "cluster", [], ["server/app.ts"]), [], "lib/server (but app.ts) imports nothing of lib/cluster");
  t.same(importsInto("cluster", "server", ["server/relay.ts"]), [], "lib/cluster imports only lib/server/relay.ts");
  const relay = imports.get(path.join(lib, "server", "relay.ts"))!;
  t.same(
    relay.filter((s) => !s.startsWith("../chat/")),
    [],
    "the interface imports only the entries' types",
  );
});

t.test("entries, names and wire formats know no server, cluster, transport or runtime", async (t) => {
  for (const layer of ["chat", "codecs"]) {
    for (const above of ["server", "cluster", "web", "backends", "client"]) {
      t.same(importsInto(layer, above), [], `lib/${layer} imports nothing of lib/${above}`);
    }
  }
  const runtime: string[] = [];
  for (const [file, specifiers] of imports) {
    const rel = path.relative(lib, file);
    if (!rel.startsWith("chat/") && !rel.startsWith("codecs/")) continue;
    for (const s of specifiers) if (!s.startsWith(".")) runtime.push(`${rel}: ${s}`);
  }
  t.same(runtime, [], "and no package or runtime module");
});
