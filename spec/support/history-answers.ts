// Reading `/history` answers over TCP (lib/chat/protocol.ts `historyText`),
// for the specs that ask for them.
import type { LineClient } from "./line-client.ts";

/** `[history ID TIME] LINE` lines of a replay, as [id, line]. */
export function replayed(text: string): [string, string][] {
  return [...text.matchAll(/^\[history (\S+) \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] (.*)$/gm)].map((m) => [m[1]!, m[2]!]);
}

/** The id a replay's end line gives (`last ID`), or null for `last none`. */
export function lastId(text: string): string | null {
  const m = /^\[history end\] \d+ entr(?:y|ies), last (\S+)$/m.exec(text);
  if (!m) throw new Error(`no end line in ${JSON.stringify(text)}`);
  return m[1] === "none" ? null : m[1]!;
}

/** Send `/history ...` and resolve with what came back, up to its end line. */
export async function ask(client: LineClient, command: string): Promise<string> {
  const from = client.received.length;
  client.send(`${command}\n`);
  await client.waitUntil((r) => r.slice(from).includes("[history end]"), `the end of ${command}`);
  const answer = client.received.slice(from);
  return answer.slice(0, answer.indexOf("\n", answer.indexOf("[history end]")) + 1);
}
