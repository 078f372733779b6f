// The listen backlog the server asks for must reach the kernel under Bun,
// whose own listen() always uses 512 (too small for a 1000-client connect
// storm: dropped handshakes wait 1 s for a retransmit). Read back with ss(8).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import t from "tap";
import { startServer } from "../support/bun.ts";

function listenBacklog(port: number): number | null {
  // For a listening socket, ss shows the backlog in the Send-Q column.
  const out = execFileSync("ss", ["-ltnH", `sport = :${port}`], { encoding: "utf8" });
  const cols = out.trim().split(/\s+/);
  return cols.length > 2 ? Number(cols[2]) : null;
}

let hasSs = true;
try {
  execFileSync("ss", ["-V"], { stdio: "ignore" });
} catch {
  hasSs = false;
}
const somaxconn = Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8").trim());

for (const backend of ["bun", "node"]) {
  t.test(
    `${backend} backend listens with the server's backlog (4096, capped by somaxconn)`,
    { skip: !hasSs && "ss(8) is not installed" },
    async (t) => {
      const server = await startServer(["--backend", backend]);
      try {
        t.equal(listenBacklog(server.port), Math.min(4096, somaxconn));
      } finally {
        await server.stop();
      }
    },
  );
}
