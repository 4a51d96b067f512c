/**
 * A TCP-level fault injector in front of s3rver: the next N requests get an HTTP 500/503, a
 * connection reset, or a stall, then traffic passes through. Lets tests prove retry behaviour
 * against the real server instead of a mock.
 */
import { createServer, connect, type Server, type Socket } from "node:net";

/** Kinds of injected faults. */
export type Fault = "500" | "503" | "reset" | "stall";

/** A running fault proxy. */
export interface FaultProxy {
  readonly endpoint: string;
  /** Queues faults applied to the next connections, in order. */
  inject(...faults: Fault[]): void;
  /** Requests that received a fault so far. */
  readonly faulted: number;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1:0 forwarding to `target` (`host:port`). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const [host, portText] = target.split(":");
  const queue: Fault[] = [];
  const sockets = new Set<Socket>();
  let faulted = 0;
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => {});
    // Each request is decided on its first bytes; the SDK may reuse connections, so faults
    // close the connection afterwards to force a fresh one per attempt.
    client.once("data", (first: Buffer) => {
      const fault = queue.shift();
      if (fault) {
        faulted++;
        if (fault === "reset") return client.resetAndDestroy();
        if (fault === "stall") return; // never answer; the client's timeout must fire
        const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault === "500" ? "InternalError" : "ServiceUnavailable"}</Code><Message>injected</Message></Error>`;
        client.end(`HTTP/1.1 ${fault} Injected\r\nContent-Type: application/xml\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
        return;
      }
      const upstream = connect(Number(portText), host!);
      sockets.add(upstream);
      upstream.on("close", () => sockets.delete(upstream));
      upstream.on("error", () => client.destroy());
      upstream.write(first);
      client.pipe(upstream).pipe(client);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `127.0.0.1:${port}`,
    inject: (...faults) => queue.push(...faults),
    get faulted() {
      return faulted;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
