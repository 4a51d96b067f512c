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
 */
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { HttpPost, HttpPostResponse } from "../../sidecar/http-post.ts";

/** Longest response head (status line and headers) accepted. */
const MAX_HEAD_BYTES = 64 * 1024;
/** Idle keep-alive connections kept per host:port. */
const MAX_IDLE_PER_HOST = 4;

/** Size of a connection's reused read buffer. */
const READ_BUFFER_BYTES = 128 * 1024;
/** A read shorter than this makes the socket rest for {@link COALESCE_MS} before the next one. */
const COALESCE_BELOW_BYTES = 16 * 1024;
/** How long the socket rests after a short read, in ms. */
export const COALESCE_MS = 1;

/** A connection and the receiver of its reads (the current exchange, or the idle pool). */
interface Conn {
  readonly socket: net.Socket;
  /** The reused read buffer; valid only during the call. */
  readonly buffer: Buffer;
  onRead: (n: number) => void;
}

function connect(host: string, port: number): Conn {
  const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  const conn: Conn = {
    socket: undefined as unknown as net.Socket,
    buffer,
    onRead: () => {},
  };
  (conn as { socket: net.Socket }).socket = net.connect({ host, port, noDelay: true, onread: { buffer, callback: (n) => (conn.onRead(n), true) } });
  return conn;
}

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

class StaleConnectionError extends Error {
  override name = "StaleConnectionError";
}

interface IdleConn {
  readonly conn: Conn;
  readonly drop: () => void;
}

function takeIdle(pool: Map<string, IdleConn[]>, key: string): Conn | undefined {
  const list = pool.get(key);
  for (let e = list?.pop(); e; e = list?.pop()) {
    const s = e.conn.socket;
    s.off("end", e.drop).off("close", e.drop).off("error", e.drop);
    if (!s.destroyed && s.readyState === "open") {
      s.ref();
      return e.conn;
    }
    s.destroy();
  }
  return undefined;
}

function putIdle(pool: Map<string, IdleConn[]>, key: string, conn: Conn): void {
  let list = pool.get(key);
  if (!list) pool.set(key, (list = []));
  const s = conn.socket;
  if (list.length >= MAX_IDLE_PER_HOST) return void s.destroy();
  const entry: IdleConn = {
    conn,
    // Any byte or close while idle makes the connection unusable.
    drop: () => {
      s.destroy();
      const i = list.indexOf(entry);
      if (i >= 0) list.splice(i, 1);
    },
  };
  conn.onRead = entry.drop;
  s.once("end", entry.drop).once("close", entry.drop).once("error", entry.drop);
  s.unref(); // idle connections do not keep the process alive
  list.push(entry);
}

const enum Phase {
  Head,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  Fixed,
  UntilClose,
  Done,
}

/**
 * Sends `request` on `socket` and parses the answer. Resolves with the response once its head
 * arrived; `release` gets the socket back when the body was read to the end on a keep-alive
 * connection.
 */
function exchange(conn: Conn, reused: boolean, request: Buffer, signal: AbortSignal | undefined, release: (c: Conn) => void): Promise<HttpPostResponse> {
  const socket = conn.socket;
  return new Promise<HttpPostResponse>((resolve, reject) => {
    let phase = Phase.Head;
    let head: Buffer | undefined; // bytes of an incomplete response head
    let gotBytes = false;
    let keepAlive = false;
    let remaining = 0; // bytes left in the current chunk (ChunkData) or body (Fixed)
    let digits = 0; // hex digits of the chunk size read so far
    let inExtension = false; // inside a chunk extension (after ';')
    let lineLength = 0; // bytes of the current trailer line
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
      phase = Phase.Done;
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

    // Parses a complete response head; returns false for 1xx (the real answer follows).
    function parseHead(text: string): boolean {
      const lines = text.split("\r\n");
      const m = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0]!);
      if (!m) throw new Error(`malformed HTTP status line ${JSON.stringify(lines[0]!.slice(0, 100))}`);
      const status = Number(m[2]);
      if (status >= 100 && status < 200) return false;
      const headers = new Map<string, string>();
      for (let i = 1; i < lines.length; i++) {
        const line = lines[i]!;
        const c = line.indexOf(":");
        if (c <= 0) continue;
        const name = line.slice(0, c).trim().toLowerCase();
        const value = line.slice(c + 1).trim();
        const prev = headers.get(name);
        headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
      }
      const connection = (headers.get("connection") ?? "").toLowerCase();
      keepAlive = m[1] === "1" ? !connection.includes("close") : connection.includes("keep-alive");
      const te = (headers.get("transfer-encoding") ?? "").toLowerCase();
      const length = headers.get("content-length");
      if (te.includes("chunked")) phase = Phase.ChunkSize;
      else if (length !== undefined) {
        remaining = Number(length);
        if (!Number.isSafeInteger(remaining) || remaining < 0) throw new Error(`invalid Content-Length ${JSON.stringify(length)}`);
        phase = Phase.Fixed;
      } else {
        phase = Phase.UntilClose;
        keepAlive = false;
      }
      if (status === 204 || status === 304) {
        phase = Phase.Fixed;
        remaining = 0;
      }
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
      return true;
    }

    // De-chunks `data` from `pos` in place (payload bytes moved to the front, from `pos` on) and
    // hands the joined body bytes of this read over as one piece.
    function body(data: Buffer, pos: number): void {
      const src = new Uint8Array(data.buffer, data.byteOffset, data.length); // plain view: cheaper subarrays
      const from = pos;
      let o = pos;
      const n = src.length;
      while (pos < n) {
        switch (phase) {
          case Phase.ChunkSize: {
            // hex digits, optional ";extension", CRLF (a bare LF is tolerated, as Go does)
            const b = src[pos++]!;
            const d = b >= 48 && b <= 57 ? b - 48 : b >= 97 && b <= 102 ? b - 87 : b >= 65 && b <= 70 ? b - 55 : -1;
            if (d >= 0 && !inExtension) {
              if (++digits > 12) throw new Error("chunk size too long");
              remaining = remaining * 16 + d;
            } else if (b === 10) {
              if (digits === 0) throw new Error("missing chunk size");
              phase = remaining === 0 ? Phase.Trailers : Phase.ChunkData;
              digits = 0;
              inExtension = false;
              lineLength = 0;
            } else if (b === 59 || b === 32 || b === 9) inExtension = true;
            else if (b !== 13 && !inExtension) throw new Error(`invalid byte 0x${b.toString(16)} in chunk size`);
            break;
          }
          case Phase.ChunkData: {
            const m = Math.min(remaining, n - pos);
            if (o !== pos) src.copyWithin(o, pos, pos + m);
            o += m;
            pos += m;
            remaining -= m;
            if (remaining === 0) phase = Phase.ChunkDataEnd;
            break;
          }
          case Phase.ChunkDataEnd: {
            // The CRLF after a chunk's data (possibly split across reads).
            const b = src[pos++]!;
            if (b === 10) phase = Phase.ChunkSize;
            else if (b !== 13) throw new Error("missing CRLF after chunk data");
            break;
          }
          case Phase.Trailers: {
            // Trailer lines up to an empty line end the body.
            const b = src[pos++]!;
            if (b === 10) {
              if (lineLength === 0) {
                if (o > from) deliver(src.subarray(from, o));
                return done(pos < n);
              }
              lineLength = 0;
            } else if (b !== 13) lineLength++;
            break;
          }
          case Phase.Fixed: {
            const m = Math.min(remaining, n - pos);
            if (o !== pos) src.copyWithin(o, pos, pos + m);
            o += m;
            pos += m;
            remaining -= m;
            if (remaining === 0) {
              if (o > from) deliver(src.subarray(from, o));
              return done(pos < n);
            }
            break;
          }
          case Phase.UntilClose:
            if (o !== pos) src.copyWithin(o, pos, n);
            deliver(src.subarray(from, o + n - pos));
            return;
          default:
            return; // Done: nothing more is expected (a keep-alive socket with extra bytes is not reused)
        }
      }
      if (o > from) deliver(src.subarray(from, o));
    }

    function onRead(n: number): void {
      gotBytes = true;
      try {
        if (n < COALESCE_BELOW_BYTES && phase !== Phase.Head) {
          socket.pause();
          resting = setTimeout(rested, COALESCE_MS);
        }
        // The read buffer is reused: everything kept is copied out (body() copies anyway).
        const data = conn.buffer.subarray(0, n);
        if (phase === Phase.Head) {
          const buf: Buffer = Buffer.concat(head ? [head, data] : [data]);
          let from = 0;
          for (;;) {
            const end = buf.indexOf("\r\n\r\n", from, "latin1");
            if (end < 0) {
              if (buf.length - from > MAX_HEAD_BYTES) throw new Error("response head too large");
              head = buf.subarray(from);
              return;
            }
            const text = buf.toString("latin1", from, end);
            from = end + 4;
            if (parseHead(text)) break;
          }
          head = undefined;
          if ((phase as Phase) === Phase.Fixed && remaining === 0) return done(from < buf.length);
          if (from < buf.length) body(buf, from);
          return;
        }
        body(data, 0);
      } catch (err) {
        fail(new Error(`malformed HTTP response: ${(err as Error).message}`));
      }
    }

    function onEnd(): void {
      if (phase === Phase.UntilClose) return done(true);
      if (!gotBytes && reused) return fail(new StaleConnectionError("keep-alive connection closed by the server"));
      fail(new Error(phase === Phase.Head ? "connection closed before the response head" : "connection closed before the end of the response body"));
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
