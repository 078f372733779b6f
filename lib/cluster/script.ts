/**
 * The one Lua script through which servers write the room's stream, and
 * the commands that call it.
 *
 * Redis runs a script atomically, so numbering and appending are one step:
 * every entry gets the next SEQ of the room and the stream id `SEQ-0`,
 * whichever server sends it, and ids stay contiguous. Keys of a room
 * (`roomKeys` in url.ts):
 *
 *   log    the stream (XADD ... MAXLEN ~ RETENTION SEQ-0 ...)
 *   meta   a hash: epoch (this life of the log), seq (the last SEQ given),
 *          start (the last SEQ of the previous life: this life's ids begin after it)
 *   producer:NODE/RUN  the last local ref this server run appended (1 day TTL)
 *
 * Two modes:
 *
 * - append ("a"): the tick's entries, each with its local ref. An entry
 *   whose ref is not above the producer's last one was appended already
 *   (a resend after a connection was lost before its reply) and is
 *   skipped, so a resend never duplicates. Replies `[epoch, seq, added]`.
 * - sync ("s"): what a reader checks when it (re)connects. Replies
 *   `[epoch, seq, start]`. When the caller's epoch is still current but
 *   `seq` is below what it has already read, Redis went back in time (an
 *   older copy was restored): the script starts another epoch, so no id
 *   is ever given twice in one epoch.
 *
 * In both, a missing epoch (a new Redis, or one that lost its data) starts
 * a new life with the caller's candidate epoch; numbering goes on after
 * whatever the stream still holds. Randomness comes from the caller (Redis
 * scripts must be deterministic).
 */
import { createHash } from "node:crypto";
import { encodeCommand, RespError, type RespValue, asText } from "./resp.ts";
import { ENTRY_FIELDS, VALUES_PER_ENTRY } from "./stream-entry.ts";
import type { RoomKeys } from "./url.ts";

/**
 * The script (Lua 5.1, as Redis runs it); the module comment says what it
 * does. An entry's values follow its ref in the order of `ENTRY_FIELDS`.
 */
export const STREAM_SCRIPT = `
local meta = redis.call('HMGET', KEYS[2], 'epoch', 'seq', 'start')
local epoch, seq, start = meta[1], tonumber(meta[2]), tonumber(meta[3])
if not epoch then
  local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  seq = 0
  if #top > 0 then seq = tonumber(string.match(top[1][1], '^(%d+)')) end
  epoch, start = ARGV[2], seq
  redis.call('HSET', KEYS[2], 'epoch', epoch, 'seq', seq, 'start', start)
end
if ARGV[1] == 's' then
  if ARGV[4] == epoch and seq < tonumber(ARGV[5]) then
    epoch, start = ARGV[2], seq
    redis.call('HSET', KEYS[2], 'epoch', epoch, 'start', start)
  end
  return {epoch, seq, start}
end
local last = tonumber(redis.call('GET', KEYS[3]) or '0')
local added = 0
for i = 6, #ARGV, ${1 + VALUES_PER_ENTRY} do
  local ref = tonumber(ARGV[i])
  if ref > last then
    seq = seq + 1
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], seq .. '-0',
      'o', ARGV[4], 'r', ARGV[5], 'n', ARGV[i], ${ENTRY_FIELDS.map((f, j) => `'${f}', ARGV[i + ${j + 1}]`).join(", ")})
    last = ref
    added = added + 1
  end
end
if added > 0 then
  redis.call('HSET', KEYS[2], 'seq', seq)
  redis.call('SET', KEYS[3], last, 'EX', 86400)
end
return {epoch, seq, added}
`;

/** The script's SHA1, for EVALSHA (loaded by `SCRIPT LOAD` on every new connection). */
export const STREAM_SCRIPT_SHA = createHash("sha1").update(STREAM_SCRIPT).digest("hex");

/** `SCRIPT LOAD`: part of each link's handshake, so EVALSHA never meets an empty script cache. */
export const LOAD_SCRIPT: readonly string[] = ["SCRIPT", "LOAD", STREAM_SCRIPT];

/** The append call for a batch: `args` is, per entry, its local ref then its `entryArgs`. */
export function appendCommand(
  keys: RoomKeys,
  producerKey: string,
  candidateEpoch: string,
  retention: number,
  origin: string,
  run: string,
  args: readonly (string | Uint8Array)[],
): Uint8Array {
  return encodeCommand([
    "EVALSHA",
    STREAM_SCRIPT_SHA,
    "3",
    keys.log,
    keys.meta,
    producerKey,
    "a",
    candidateEpoch,
    String(retention),
    origin,
    run,
    ...args,
  ]);
}

/** The sync call: `knownEpoch` "" and `knownSeq` 0 when the caller has read nothing yet. */
export function syncCommand(keys: RoomKeys, candidateEpoch: string, knownEpoch: string, knownSeq: number): Uint8Array {
  return encodeCommand(["EVALSHA", STREAM_SCRIPT_SHA, "2", keys.log, keys.meta, "s", candidateEpoch, "0", knownEpoch, String(knownSeq)]);
}

/** `[epoch, seq, third]` as the script replies, or null for anything else. */
export function scriptReply(reply: RespValue): { epoch: string; seq: number; third: number } | null {
  if (reply instanceof RespError || !Array.isArray(reply) || reply.length !== 3) return null;
  const epoch = asText(reply[0]!);
  const seq = reply[1];
  const third = reply[2];
  if (epoch === null || typeof seq !== "number" || typeof third !== "number") return null;
  return { epoch, seq, third };
}
