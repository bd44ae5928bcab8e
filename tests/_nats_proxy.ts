// A TCP proxy in front of a nats-server, for tests that need an answer of
// the store to get lost: armed with a marker (a piece of a client frame,
// such as the subject of one KV key's publish), it finds the next client
// chunk that holds it and then either forwards it, stops passing the
// server's bytes back to that client (the reply is lost) and cuts the
// connection when told, or drops it (the server never sees it) and cuts at
// once. The client's NATS library reconnects through the proxy, which
// passes everything again. `stop()` closes every socket it opened.
import { Buffer } from "node:buffer";
import {
  connect as netConnect,
  createServer,
  type Server,
  type Socket,
} from "node:net";

/** What the proxy does with the chunk that holds the marker. */
export type ProxyFault = "lose_reply" | "drop";

/** One armed fault. */
interface Armed {
  readonly marker: string;
  readonly fault: ProxyFault;
  readonly hit: () => void;
}

/** A connection through the proxy. */
interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  /** The last bytes the client sent (a marker may span two chunks). */
  tail: string;
  /** The server's bytes are no longer passed back. */
  muted: boolean;
}

/** A proxy to `127.0.0.1:<upstreamPort>`. */
export class NatsProxy {
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
  #armed: Armed | null = null;
  #muted: Pair | null = null;

  private constructor(server: Server, readonly port: number) {
    this.#server = server;
  }

  /** Starts a proxy on a free loopback port. */
  static start(upstreamPort: number): Promise<NatsProxy> {
    return new Promise((resolve, reject) => {
      let proxy: NatsProxy;
      const server = createServer((client) => {
        proxy.#accept(client, upstreamPort);
      });
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const address = server.address();
        const port = typeof address === "object" && address !== null
          ? address.port
          : 0;
        proxy = new NatsProxy(server, port);
        resolve(proxy);
      });
    });
  }

  /** `nats://127.0.0.1:<port>`. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /**
   * Arms a fault for the next client chunk holding `marker`; resolves once
   * it happened.
   */
  arm(marker: string, fault: ProxyFault): Promise<void> {
    return new Promise((resolve) => {
      this.#armed = { marker, fault, hit: resolve };
    });
  }

  /** Cuts the connection whose replies were lost (after `lose_reply`). */
  cut(): void {
    const pair = this.#muted;
    this.#muted = null;
    if (pair !== null) this.#close(pair);
  }

  /** Closes the proxy and every connection through it. */
  stop(): Promise<void> {
    for (const pair of this.#pairs) this.#close(pair);
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket, upstreamPort: number): void {
    const upstream = netConnect(upstreamPort, "127.0.0.1");
    const pair: Pair = { client, upstream, tail: "", muted: false };
    this.#pairs.add(pair);
    const close = () => this.#close(pair);
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
    upstream.on("data", (chunk: Uint8Array) => {
      if (!pair.muted) client.write(chunk);
    });
    client.on("data", (chunk: Uint8Array) => {
      const text = Buffer.from(chunk).toString("latin1");
      const armed = this.#armed;
      if (armed !== null && (pair.tail + text).includes(armed.marker)) {
        this.#armed = null;
        if (armed.fault === "drop") {
          this.#close(pair);
        } else {
          upstream.write(chunk);
          pair.muted = true;
          this.#muted = pair;
        }
        armed.hit();
        return;
      }
      pair.tail = text.slice(-256);
      upstream.write(chunk);
    });
  }

  #close(pair: Pair): void {
    if (!this.#pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream.destroy();
  }
}
