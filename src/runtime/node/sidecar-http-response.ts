/**
 * The HTTP/1.1 response parser of the sidecar's Node remote-read client (sidecar-http-post.ts):
 * the response head (status line, headers, 1xx responses skipped) and the body framing (chunked,
 * Content-Length or close-delimited). Chunked bodies are de-framed in place in the read buffer, so
 * each network read yields at most one contiguous body piece and no copy per chunk. It knows
 * nothing of sockets: the connection feeds it reads and gets the head, body pieces and the end
 * back through {@link HttpResponseEvents}.
 */

/** Longest response head (status line and headers) accepted. */
const MAX_HEAD_BYTES = 64 * 1024;

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

/** The head of a (final, non-1xx) response. */
export interface HttpResponseHead {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Map<string, string>;
  /** Whether the connection may carry another request once the body was read to the end. */
  readonly keepAlive: boolean;
}

/** What the parser reports, synchronously from {@link HttpResponseParser.feed}. */
export interface HttpResponseEvents {
  /** The response head arrived (1xx responses are skipped and not reported). */
  head(head: HttpResponseHead): void;
  /** Body bytes of one read: a view of the fed buffer, valid until the next feed. */
  piece(bytes: Uint8Array): void;
  /** The body ended; `leftover` when bytes followed it in the read (the connection is not reusable then). */
  end(leftover: boolean): void;
}

/** Parses one response from the reads fed to it. */
export interface HttpResponseParser {
  /**
   * Parses one network read. Body bytes are de-chunked in place (`data` is modified); bytes of an
   * incomplete head are copied, so `data` may be reused after the call. Throws on malformed input.
   */
  feed(data: Buffer): void;
  /** The response head has not been parsed completely yet. */
  readonly inHead: boolean;
  /** The body runs until the connection closes (no length, not chunked). */
  readonly untilClose: boolean;
}

/** Creates a parser for one response; `events` receive the head, the body pieces and the end. */
export function createHttpResponseParser(events: HttpResponseEvents): HttpResponseParser {
  let phase = Phase.Head;
  let head: Buffer | undefined; // bytes of an incomplete response head
  let remaining = 0; // bytes left in the current chunk (ChunkData) or body (Fixed)
  let digits = 0; // hex digits of the chunk size read so far
  let inExtension = false; // inside a chunk extension (after ';')
  let lineLength = 0; // bytes of the current trailer line

  function done(leftover: boolean): void {
    phase = Phase.Done;
    events.end(leftover);
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
    let keepAlive = m[1] === "1" ? !connection.includes("close") : connection.includes("keep-alive");
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
    events.head({ status, headers, keepAlive });
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
              if (o > from) events.piece(src.subarray(from, o));
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
            if (o > from) events.piece(src.subarray(from, o));
            return done(pos < n);
          }
          break;
        }
        case Phase.UntilClose:
          if (o !== pos) src.copyWithin(o, pos, n);
          events.piece(src.subarray(from, o + n - pos));
          return;
        default:
          return; // Done: nothing more is expected (a keep-alive socket with extra bytes is not reused)
      }
    }
    if (o > from) events.piece(src.subarray(from, o));
  }

  function feed(data: Buffer): void {
    if (phase !== Phase.Head) return body(data, 0);
    // The read buffer is reused: an incomplete head is copied out (body() copies anyway).
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
  }

  return {
    feed,
    get inHead() {
      return phase === Phase.Head;
    },
    get untilClose() {
      return phase === Phase.UntilClose;
    },
  };
}
