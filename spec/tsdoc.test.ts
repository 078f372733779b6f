// Every exported name of the public library surface (what package.json's
// `exports` offer: lib/reactor, lib/backends, lib/bytes.ts) carries a TSDoc
// comment (`/** ... */` just above it). The rest of lib/ comments where a
// reader needs the why, not on every name.
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import t from "tap";
import { root } from "./support/bun.ts";

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : [],
  );
}

const EXPORT =
  /^export\s+(?:default\s+)?(?:declare\s+)?(?:async\s+)?(?:abstract\s+)?(?:function\*?|class|interface|type|enum|const|let|var)\s+([A-Za-z_$][\w$]*)/;

/** `file:line name` for each export whose previous non-blank line does not close a `/** ... *\/` comment. */
function undocumented(source: string, file: string): string[] {
  const lines = source.split("\n");
  const missing: string[] = [];
  lines.forEach((line, i) => {
    const m = EXPORT.exec(line);
    if (!m) return;
    let j = i - 1;
    while (j >= 0 && lines[j]!.trim() === "") j--;
    const above = j >= 0 ? lines[j]!.trim() : "";
    let documented = above.endsWith("*/");
    if (documented) {
      // Walk up to the comment's start: it must open with `/**`, not `/*`.
      let k = j;
      while (k >= 0 && !lines[k]!.includes("/*")) k--;
      documented = k >= 0 && lines[k]!.includes("/**");
    }
    if (!documented) missing.push(`${file}:${i + 1} ${m[1]}`);
  });
  return missing;
}

t.test("the checker itself", async (t) => {
  t.same(undocumented("/** Yes. */\nexport const a = 1;\n\n/* no */\nexport function b() {}\nexport class C {}\n", "x.ts"), [
    "x.ts:5 b",
    "x.ts:6 C",
  ]);
  t.same(undocumented("/**\n * Multi-line.\n */\nexport interface I {}\n", "y.ts"), []);
});

t.test("every exported name of the public surface has TSDoc", async (t) => {
  const lib = path.join(root, "lib");
  const surface = [...files(path.join(lib, "reactor")), ...files(path.join(lib, "backends")), path.join(lib, "bytes.ts")];
  const missing = surface.flatMap((f) => undocumented(readFileSync(f, "utf8"), path.relative(root, f)));
  t.same(missing, [], "exports without a /** */ comment just above them");
});
