/**
 * The Worker's outbound connection limiter over real HTTP streams from a local Node server: never
 * more than the limit in flight, no deadlock when a merge needs the head of more streams than
 * there are connections (bodies spill), and a clear error instead of unbounded buffering.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOutboundLimiter } from "./outbound-limiter.ts";

let server: http.Server;
let base = "";
let open = 0;
let peak = 0;

beforeAll(async () => {
  // /stream?n=N&size=S sends N chunks of S bytes, each as its own write.
  server = http.createServer((req, res) => {
    const u = new URL(req.url!, "http://x");
    const n = Number(u.searchParams.get("n"));
    const size = Number(u.searchParams.get("size"));
    open++;
    peak = Math.max(peak, open);
    res.on("close", () => open--);
    res.writeHead(200, { "content-type": "application/octet-stream" });
    let i = 0;
    const write = (): void => {
      while (i < n) {
        const ok = res.write(new Uint8Array(size).fill(i & 0xff));
        i++;
        if (!ok) return void res.once("drain", write);
      }
      res.end();
    };
    write();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function firstChunk(body: ReadableStream<Uint8Array>): Promise<{ reader: ReadableStreamDefaultReader<Uint8Array>; first: Uint8Array }> {
  const reader = body.getReader();
  const r = await reader.read();
  return { reader, first: r.value! };
}

async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<number> {
  let n = 0;
  for (;;) {
    const r = await reader.read();
    if (r.done) return n;
    n += r.value.length;
  }
}

describe("outbound limiter", () => {
  it("runs unary calls with at most maxConnections in flight", async () => {
    const limiter = createOutboundLimiter({ maxConnections: 2 });
    let active = 0;
    let most = 0;
    const results = await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        limiter.run(async () => {
          active++;
          most = Math.max(most, active);
          await new Promise((r) => setTimeout(r, 5));
          active--;
          return i;
        }),
      ),
    );
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(most).toBe(2);
    expect(limiter.inFlight).toBe(0);
  });

  it("opens the head of more streams than connections without deadlock (bodies spill), all bytes intact", async () => {
    peak = 0;
    const limiter = createOutboundLimiter({ maxConnections: 3 });
    const size = 64 * 1024;
    const n = 40; // 2.5 MiB per stream: far beyond socket buffers, so a held stream blocks without spilling
    // Like the fan-out: get the first chunk of every stream before reading any further.
    const heads = await Promise.all(
      Array.from({ length: 8 }, async () => firstChunk((await limiter.fetch(`${base}/stream?n=${n}&size=${size}`)).body!)),
    );
    expect(peak).toBeLessThanOrEqual(3);
    const totals = await Promise.all(heads.map(async (h) => h.first.length + (await drain(h.reader))));
    expect(totals).toEqual(Array(8).fill(n * size));
    expect(limiter.inFlight).toBe(0);
    expect(limiter.buffered).toBe(0);
  });

  it("fails a stream with a clear error when freeing a connection would need more than the spill budget", async () => {
    const limiter = createOutboundLimiter({ maxConnections: 1, spillBytes: 256 * 1024 });
    const a = await limiter.fetch(`${base}/stream?n=64&size=65536`);
    const reader = a.body!.getReader();
    await reader.read();
    // Nobody reads `a` while `b` waits: `a` must spill 4 MiB to free its connection, over budget.
    const b = await limiter.fetch(`${base}/stream?n=1&size=10`);
    expect(new Uint8Array(await b.arrayBuffer()).length).toBe(10);
    await expect(drain(reader)).rejects.toThrow(/outbound connection limit \(1\) reached and more than 262144 bytes/);
    expect(limiter.inFlight).toBe(0);
  });

  it("gives the connection back when the caller aborts a stream it no longer reads", async () => {
    const limiter = createOutboundLimiter({ maxConnections: 1 });
    const ac = new AbortController();
    const res = await limiter.fetch(`${base}/stream?n=64&size=65536`, { signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    expect(limiter.inFlight).toBe(1);
    ac.abort(new Error("query finished early"));
    expect(limiter.inFlight).toBe(0);
    // The next call gets the connection without anyone touching the abandoned body.
    const next = await limiter.fetch(`${base}/stream?n=1&size=3`);
    expect(new Uint8Array(await next.arrayBuffer()).length).toBe(3);
    await expect(reader.read()).rejects.toThrow("query finished early");
  });

  it("gives up waiting when the caller aborts", async () => {
    const limiter = createOutboundLimiter({ maxConnections: 1 });
    const held = await limiter.acquire();
    const ac = new AbortController();
    const waiting = limiter.acquire(ac.signal);
    ac.abort(new Error("client went away"));
    await expect(waiting).rejects.toThrow("client went away");
    expect(limiter.waiting).toBe(0);
    held.release();
    expect(limiter.inFlight).toBe(0);
  });
});
