// The conformance suite against the web gateway's WebSocket connections
// (lib/web/websocket.ts, accepted from the gateway's listener as the chat
// server does; the client is conformance/websocket.ts's), in a Bun child
// process: the gateway is Bun.serve. The cases a message-oriented
// connection cannot pass are skipped, each with its reason.
import t from "tap";
import { reportCases } from "./conformance/report.ts";
import { runBun } from "../support/bun.ts";

const run = await runBun(["spec/backends/conformance/run.ts", "websocket"], { timeoutMs: 90_000 });

t.test("bun runtime, the gateway's WebSockets", async (t) => reportCases(t, run, "websocket"));
