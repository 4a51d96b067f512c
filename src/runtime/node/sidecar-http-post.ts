/**
 * The sidecar's remote-read POST on Node: a lean HTTP/1.1 client on `node:net` for `http:` URLs.
 *
 * Why not `node:http`: Prometheus flushes after every remote-read frame, so a 10,000-series answer
 * is ~10,000 small chunks of chunked transfer encoding. `node:http` turns each into a parser
 * callback, a Buffer and a push into a Readable stream — about as much CPU as all the sidecar's
 * own frame work. Here the socket reads into one reused buffer (`onread`, no Buffer or stream
 * push per read), each read is de-chunked in one pass into one contiguous Uint8Array, and the body
 * iterator hands those over. Because every frame is flushed on its own, a reader that keeps up
 * gets one tiny read per frame, and the per-read cost (a syscall, an event-loop turn) dominates;
 * so after a short read the socket rests for {@link COALESCE_MS} ms while the kernel collects
 * more (at remote-read rates that fills most of the buffer): ~150 reads per 6 MB answer instead
 * of ~3,000, about a quarter of the CPU, and no longer wall time.
 *
 * What it supports is what remote read needs: one request per connection at a time, keep-alive
 * (idle connections are reused; a reused connection that closes before answering is retried once
 * on a fresh one), chunked, Content-Length or close-delimited bodies, 1xx responses skipped.
 * A body cut off by the server (connection closed inside a chunk or before the last chunk) is an
 * error, never a clean end. Body pieces are views of the connection's read buffer, de-chunked in
 * place: the socket does not read while the consumer holds one (the response says so with
 * `transient`), so the client holds one read buffer and TCP flow control does the rest. `https:` goes through `node:https`.
 *
 * The response parser is in sidecar-http-response.ts, connections and their pool in
 * sidecar-http-connection.ts; this file runs one request/response exchange on a connection.
 */
import http from "node:http";
import https from "node:https";
import type { HttpPost, HttpPostResponse } from "../../sidecar/http-post.ts";
import { connect, putIdle, StaleConnectionError, takeIdle, type Conn, type IdleConn } from "./sidecar-http-connection.ts";
import { createHttpResponseParser } from "./sidecar-http-response.ts";

/** A read shorter than this makes the socket rest for {@link COALESCE_MS} before the next one. */
const COALESCE_BELOW_BYTES = 16 * 1024;
/** How long the socket rests after a short read, in ms. */
export const COALESCE_MS = 1;

/** Remote-read POSTs: the lean client for `http:`, `node:https` with keep-alive for `https:`. */
export function createNodeHttpPost(): HttpPost {
  const pool = new Map<string, IdleConn[]>();
  const httpsPost = createNodeModulePost(https, new https.Agent({ keepAlive: true }));
  return (url, body, headers, signal) => {
    if (!url.startsWith("http:")) return httpsPost(url, body, headers, signal);
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, "");
    const port = Number(u.port || 80);
    const key = `${host}:${port}`;
    const head = [`POST ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`, `Content-Length: ${body.length}`];
    for (const [k, v] of Object.entries(headers)) head.push(`${k}: ${v}`);
    const request = Buffer.concat([Buffer.from(head.join("\r\n") + "\r\n\r\n", "latin1"), body]);
    const release = (c: Conn) => putIdle(pool, key, c);
    const idle = takeIdle(pool, key);
    if (!idle) return exchange(connect(host, port), false, request, signal, release);
    // A pooled connection the server closed meanwhile: retry once on a new one (a read is safe to repeat).
    return exchange(idle, true, request, signal, release).catch((err: unknown) => {
      if (err instanceof StaleConnectionError && !signal?.aborted) return exchange(connect(host, port), false, request, signal, release);
      throw err;
    });
  };
}

/** A POST on `node:http`/`node:https` (used for https, where TLS makes the parsing share small). */
export function createNodeModulePost(mod: typeof http | typeof https, agent: http.Agent): HttpPost {
  return (url, body, headers, signal) =>
    new Promise((resolve, reject) => {
      const req = mod.request(url, { method: "POST", headers: { ...headers, "Content-Length": String(body.length) }, agent, signal }, (res) => {
        resolve({
          status: res.statusCode ?? 0,
          header: (name) => {
            const v = res.headers[name.toLowerCase()];
            return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
          },
          body: res,
          cancel: () => res.destroy(),
        });
      });
      req.once("error", reject);
      req.end(body);
    });
}

/**
 * Sends `request` on `socket` and parses the answer. Resolves with the response once its head
 * arrived; `release` gets the socket back when the body was read to the end on a keep-alive
 * connection.
 */
function exchange(conn: Conn, reused: boolean, request: Buffer, signal: AbortSignal | undefined, release: (c: Conn) => void): Promise<HttpPostResponse> {
  const socket = conn.socket;
  return new Promise<HttpPostResponse>((resolve, reject) => {
    let gotBytes = false;
    let keepAlive = false;
    let resolved = false;
    let finished = false; // iteration over (no more events wanted)
    // Body pieces waiting for the consumer, and the consumer waiting for one.
    const queue: Uint8Array[] = [];
    let lent = false; // the consumer holds a piece (the read buffer must not be overwritten)
    let reusable = false; // the body ended cleanly on a keep-alive connection
    let connDone = false; // the connection was pooled or destroyed
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    let resting: ReturnType<typeof setTimeout> | undefined; // the pause after a short read

    function maybeResume(): void {
      if (!finished && resting === undefined && !lent && queue.length === 0) socket.resume();
    }
    function rested(): void {
      resting = undefined;
      maybeResume();
    }

    const onAbort = () => fail(signal!.reason instanceof Error ? signal!.reason : new Error("aborted"));
    if (signal?.aborted) return reject(signal.reason);
    signal?.addEventListener("abort", onAbort, { once: true });

    function cleanup(): void {
      signal?.removeEventListener("abort", onAbort);
      if (resting !== undefined) clearTimeout(resting);
      resting = undefined;
      conn.onRead = () => {};
      socket.off("end", onEnd).off("close", onClose).off("error", onError);
    }

    function fail(err: Error): void {
      if (finished) return;
      finished = true;
      connDone = true;
      cleanup();
      socket.destroy();
      if (!resolved) return reject(err);
      failure = err;
      wake?.();
    }

    function done(leftover: boolean): void {
      finished = true;
      reusable = keepAlive && !leftover;
      cleanup();
      // The consumer may still be reading the last piece (a view of the read buffer): hand the
      // connection back only once it asks for more.
      if (queue.length === 0 && !lent) letGo();
      wake?.();
    }

    function letGo(): void {
      if (connDone) return;
      connDone = true;
      if (reusable) {
        socket.resume();
        release(conn);
      } else socket.destroy();
    }

    // Hands a piece (a view of the read buffer) to the consumer; no read until it is done with it.
    function deliver(piece: Uint8Array): void {
      queue.push(piece);
      socket.pause();
      wake?.();
    }

    const parser = createHttpResponseParser({
      head: ({ status, headers, keepAlive: reusableConn }) => {
        keepAlive = reusableConn;
        resolved = true;
        resolve({
          status,
          header: (name) => headers.get(name.toLowerCase()) ?? null,
          body: { [Symbol.asyncIterator]: iterate },
          transient: true,
          cancel: () => {
            if (!finished) fail(new Error("response body cancelled"));
          },
        });
      },
      piece: deliver,
      end: done,
    });

    function onRead(n: number): void {
      gotBytes = true;
      try {
        if (n < COALESCE_BELOW_BYTES && !parser.inHead) {
          socket.pause();
          resting = setTimeout(rested, COALESCE_MS);
        }
        // The read buffer is reused: the parser copies what it keeps.
        parser.feed(conn.buffer.subarray(0, n));
      } catch (err) {
        fail(new Error(`malformed HTTP response: ${(err as Error).message}`));
      }
    }

    function onEnd(): void {
      if (parser.untilClose) return done(true);
      if (!gotBytes && reused) return fail(new StaleConnectionError("keep-alive connection closed by the server"));
      fail(new Error(parser.inHead ? "connection closed before the response head" : "connection closed before the end of the response body"));
    }

    function onClose(): void {
      onEnd();
    }

    function onError(err: Error): void {
      if (!gotBytes && reused) return fail(new StaleConnectionError(err.message));
      fail(err);
    }

    async function* iterate(): AsyncGenerator<Uint8Array> {
      try {
        for (;;) {
          if (queue.length > 0) {
            lent = true;
            yield queue.shift()!;
            // The consumer is done with the piece: the buffer may be read into again.
            lent = false;
            if (finished) letGo();
            else maybeResume();
            continue;
          }
          if (failure) throw failure;
          if (finished) return;
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
        }
      } finally {
        lent = false;
        // Left early (consumer stopped or failed): the rest of the body is not wanted.
        if (!finished) fail(new Error("response body cancelled"));
        else letGo();
      }
    }

    conn.onRead = onRead;
    socket.on("end", onEnd).on("close", onClose).on("error", onError);
    socket.write(request);
  });
}
