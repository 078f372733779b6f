/**
 * A bare Redis connection for tests (node:net and the project's RESP
 * parser): send a command, await its reply. Enough to look at the room's
 * stream, call the script by hand, and kill or pause other connections.
 */
import * as net from "node:net";
import { asText, encodeCommand, RespError, RespParser, type RespValue } from "../../../lib/cluster/resp.ts";

export class RedisClient {
  private readonly parser = new RespParser();
  private readonly pending: Array<(v: RespValue) => void> = [];

  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (chunk) => this.parser.push(new Uint8Array(chunk), (v) => this.pending.shift()?.(v)));
    socket.on("error", () => {});
  }

  static connect(port: number): Promise<RedisClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host: "127.0.0.1" }, () => resolve(new RedisClient(s)));
      s.once("error", reject);
    });
  }

  /** Send one command; resolves with its reply (a `RespError` too: tests look at it). */
  command(...args: (string | number | Uint8Array)[]): Promise<RespValue> {
    return new Promise((resolve) => {
      this.pending.push(resolve);
      this.socket.write(encodeCommand(args.map((a) => (typeof a === "number" ? String(a) : a))));
    });
  }

  /** Send a command already RESP-encoded (the relay's own encoding); resolves with its reply. */
  sendEncoded(bytes: Uint8Array): Promise<RespValue> {
    return new Promise((resolve) => {
      this.pending.push(resolve);
      this.socket.write(bytes);
    });
  }

  /** Like `command`, but an error reply rejects. */
  async ok(...args: (string | number | Uint8Array)[]): Promise<RespValue> {
    const reply = await this.command(...args);
    if (reply instanceof RespError) throw new Error(`${args[0]}: ${reply.message}`);
    return reply;
  }

  /** Ids of the connections whose client name starts with `prefix` (`CLIENT LIST`). */
  async clientIds(prefix: string): Promise<string[]> {
    const list = asText(await this.ok("CLIENT", "LIST")) ?? "";
    return list
      .split("\n")
      .filter((l) => new RegExp(`\\bname=${prefix}`).test(l))
      .map((l) => /\bid=(\d+)/.exec(l)![1]!);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Every entry of a stream as `{seq, fields}` (fields as text), oldest first. */
export async function readStream(redis: RedisClient, key: string): Promise<Array<{ id: string; f: Record<string, string> }>> {
  const reply = (await redis.ok("XRANGE", key, "-", "+")) as RespValue[];
  return reply.map((item) => {
    const [id, fields] = item as [Uint8Array, Uint8Array[]];
    const f: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) f[asText(fields[i]!)!] = Buffer.from(fields[i + 1]!).toString("latin1");
    return { id: asText(id)!, f };
  });
}
