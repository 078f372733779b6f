/**
 * Bun's own WebSocket client against the gateway, for specs that want a
 * real client rather than spec/support/ws-client.ts's hand-made frames:
 * opens URL (trusting CA_FILE's certificate for wss), sends each LINE as a
 * text frame, prints every event it receives as one JSON line, and exits
 * once it has got its own last line back, or printed the close
 * (`{"closed":CODE,"reason":...}`).
 *
 *   bun spec/web/support/bun-ws-client.ts URL [--ca CA_FILE] [--origin ORIGIN] LINE...
 */
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
const url = args.shift()!;
let ca: string | undefined;
let origin: string | undefined;
while (args[0]?.startsWith("--")) {
  const flag = args.shift();
  if (flag === "--ca") ca = readFileSync(args.shift()!, "utf8");
  else if (flag === "--origin") origin = args.shift();
}
const lines = args;
const print = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

const ws = new WebSocket(url, {
  ...(ca ? { tls: { ca } } : {}),
  ...(origin ? { headers: { Origin: origin } } : {}),
} as unknown as string[]);
ws.onopen = () => {
  for (const line of lines) ws.send(line);
};
ws.onmessage = (e) => {
  for (const line of String(e.data).split("\n")) {
    if (line === "") continue;
    const event = JSON.parse(line);
    print(event);
    if (event.k === "line" && event.x === lines.at(-1)) process.exit(0);
  }
};
ws.onclose = (e) => {
  print({ closed: e.code, reason: e.reason });
  process.exit(0);
};
ws.onerror = () => {
  print({ error: "connection failed" });
  process.exit(1);
};
setTimeout(() => {
  print({ error: "timed out" });
  process.exit(1);
}, 15_000);
