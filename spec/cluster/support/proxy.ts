/**
 * A TCP proxy on loopback between a relay and Redis, which a test can
 * stall (bytes wait in the kernel, as behind a dead network path), stall
 * one way (Redis runs a command but its reply never arrives), cut
 * (every connection reset; new ones refused until `restore()`), or refuse
 * new connections only (those open go on).
 */
import * as net from "node:net";

export class StallProxy {
  private pairs: Array<{ client: net.Socket; upstream: net.Socket }> = [];
  private stalledReplies = false;
  private stalledRequests = false;
  private refusing = false;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static start(upstreamPort: number): Promise<StallProxy> {
    return new Promise((resolve) => {
      let proxy: StallProxy;
      const server = net.createServer((client) => {
        if (proxy.refusing) return void client.resetAndDestroy();
        const upstream = net.connect({ port: upstreamPort, host: "127.0.0.1" });
        const pair = { client, upstream };
        proxy.pairs.push(pair);
        client.pipe(upstream);
        upstream.pipe(client);
        if (proxy.stalledRequests) client.pause();
        if (proxy.stalledReplies) upstream.pause();
        const drop = () => {
          client.destroy();
          upstream.destroy();
          proxy.pairs = proxy.pairs.filter((p) => p !== pair);
        };
        for (const s of [client, upstream]) {
          s.on("error", drop);
          s.on("close", drop);
        }
      });
      server.listen(0, "127.0.0.1", () => {
        proxy = new StallProxy(server, (server.address() as net.AddressInfo).port);
        resolve(proxy);
      });
    });
  }

  /** Hold Redis's replies (commands still reach it). */
  stallReplies(): void {
    this.stalledReplies = true;
    for (const p of this.pairs) p.upstream.pause();
  }

  /** Hold everything both ways. */
  stall(): void {
    this.stalledRequests = true;
    this.stallReplies();
    for (const p of this.pairs) p.client.pause();
  }

  /** Reset every connection and refuse new ones. */
  cut(): void {
    this.refusing = true;
    for (const p of this.pairs) {
      p.client.resetAndDestroy();
      p.upstream.destroy();
    }
    this.pairs = [];
  }

  /** Refuse new connections until `restore()`; those open go on. */
  refuseNew(): void {
    this.refusing = true;
  }

  /** Let bytes flow (and connections in) again. */
  restore(): void {
    this.refusing = false;
    this.stalledReplies = false;
    this.stalledRequests = false;
    for (const p of this.pairs) {
      p.client.resume();
      p.upstream.resume();
    }
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
