import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeHttpPost } from "./sidecar-http-post.ts";

// A raw TCP server, so tests control the exact response bytes and connection handling.
let server: net.Server;
let base: string;
let requests: string[] = [];
let ports: number[] = []; // client port of each request's connection
// Answers one request (already fully received) on `socket`.
let answer: (socket: net.Socket, request: string) => void = () => {};

beforeAll(async () => {
  server = net.createServer((socket) => {
    let buf = "";
    socket.on("data", (d) => {
      buf += d.toString("latin1");
      for (;;) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        const request = buf.slice(0, end + 4 + length);
        buf = buf.slice(end + 4 + length);
        requests.push(request);
        ports.push(socket.remotePort!);
        answer(socket, request);
      }
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function text(body: AsyncIterable<Uint8Array>): Promise<string> {
  let s = "";
  for await (const piece of body) s += Buffer.from(piece).toString("latin1");
  return s;
}

/** Writes `data` in pieces of `step` bytes, one per event-loop turn. */
function dribble(socket: net.Socket, data: string, step: number, then?: () => void): void {
  let i = 0;
  const next = () => {
    if (i >= data.length) return then?.();
    socket.write(data.slice(i, i + step), () => setImmediate(next));
    i += step;
  };
  next();
}

describe("lean remote-read HTTP client", () => {
  const post = createNodeHttpPost();

  it("sends the request as given and de-chunks a body with extensions, split CRLFs and trailers", async () => {
    requests = [];
    const body = "4;ext=1\r\nabcd\r\n3\r\nefg\r\n0\r\nX-Trailer: t\r\n\r\n";
    answer = (s) => dribble(s, `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: a/b\r\nX-Two: 1\r\nx-two: 2\r\nTransfer-Encoding: chunked\r\n\r\n${body}`, 3);
    const res = await post(`${base}/api/v1/read?x=1`, new TextEncoder().encode("hello"), { "Content-Type": "application/x-protobuf" });
    expect(res.status).toBe(200);
    expect(res.header("content-type")).toBe("a/b");
    expect(res.header("X-Two")).toBe("1, 2");
    expect(await text(res.body)).toBe("abcdefg");
    expect(requests[0]).toMatch(/^POST \/api\/v1\/read\?x=1 HTTP\/1\.1\r\n/);
    expect(requests[0]).toMatch(/\r\nContent-Length: 5\r\n/);
    expect(requests[0]).toMatch(/\r\nContent-Type: application\/x-protobuf\r\n\r\nhello$/);
  });

  it("reuses a keep-alive connection and retries once when the server closed it meanwhile", async () => {
    ports = [];
    answer = (s) => s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    for (let i = 0; i < 3; i++) expect(await text((await post(base, new Uint8Array(0), {})).body)).toBe("ok");
    expect(new Set(ports).size).toBe(1);
    // The server now closes each connection right after receiving the request: the pooled
    // connection fails before answering, the retry on a fresh one gets the same treatment.
    answer = (s) => s.destroy();
    await expect(post(base, new Uint8Array(0), {})).rejects.toThrow(/closed before the response head/);
    answer = (s) => s.end("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-close");
    expect(await text((await post(base, new Uint8Array(0), {})).body)).toBe("until-close");
  });

  it("fails a body cut off inside a chunk or before the last chunk, never ends it cleanly", async () => {
    answer = (s) => dribble(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc", 4, () => s.destroy());
    await expect(text((await post(base, new Uint8Array(0), {})).body)).rejects.toThrow(/before the end of the response body/);
    answer = (s) => s.end("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
    await expect(text((await post(base, new Uint8Array(0), {})).body)).rejects.toThrow(/before the end of the response body/);
    answer = (s) => s.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    await expect(text((await post(base, new Uint8Array(0), {})).body)).rejects.toThrow(/before the end of the response body/);
  });

  it("rejects malformed chunk sizes and status lines", async () => {
    answer = (s) => s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    await expect(text((await post(base, new Uint8Array(0), {})).body)).rejects.toThrow(/invalid byte 0x7a in chunk size/);
    answer = (s) => s.write("SPDY/9 200 OK\r\n\r\n");
    await expect(post(base, new Uint8Array(0), {})).rejects.toThrow(/malformed HTTP status line/);
  });

  it("streams a large body with bounded buffering and stops the download when cancelled", async () => {
    const piece = "x".repeat(1000);
    const chunk = `${(1000).toString(16)}\r\n${piece}\r\n`;
    answer = (s) => {
      s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      let sent = 0;
      const more = () => {
        while (sent < 5000) {
          sent++;
          if (!s.write(chunk)) return void s.once("drain", more);
        }
        s.write("0\r\n\r\n");
      };
      more();
    };
    const res = await post(base, new Uint8Array(0), {});
    let n = 0;
    for await (const p of res.body) {
      n += p.length;
      if (n > 1_000_000) break; // leaves early: the connection is dropped, not reused
    }
    expect(n).toBeGreaterThan(1_000_000);
    answer = (s) => s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    expect(await text((await post(base, new Uint8Array(0), {})).body)).toBe("ok");
  });

  it("stops on an aborted signal", async () => {
    answer = (s) => s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
    const ac = new AbortController();
    const res = await post(base, new Uint8Array(0), {}, ac.signal);
    const it = res.body[Symbol.asyncIterator]();
    expect(Buffer.from((await it.next()).value as Uint8Array).toString()).toBe("abc");
    ac.abort(new Error("client went away"));
    await expect(it.next()).rejects.toThrow(/client went away/);
  });
});
