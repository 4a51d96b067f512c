/**
 * Prometheus remote-read client (`POST /api/v1/read`). Asks for STREAMED_XOR_CHUNKS first and
 * SAMPLES as the fallback, then tells which one came back by Content-Type. The streamed answer is
 * parsed frame by frame from the response body (uvarint length, big-endian CRC32C, message), so
 * at most one frame plus one network read is held in memory. A CRC mismatch, an oversize frame or
 * a body that ends inside a frame is an error: a cut-off stream must never look complete.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { compress, uncompress } from "snappyjs";
import {
  ChunkedReadResponseSchema,
  ReadRequest_ResponseType,
  ReadRequestSchema,
  QuerySchema,
  ReadResponseSchema,
  type ReadResponse,
} from "../gen/prompb/remote_pb.ts";
import { LabelMatcher_Type, LabelMatcherSchema } from "../gen/prompb/types_pb.ts";
import type { Matcher } from "../model/matcher.ts";
import { crc32c, crc32cRange } from "../tsdb/crc32c.ts";
import { createChunkArena, decodeChunkedReadResponse, type DecodedChunkedReadResponse } from "./chunked-decoder.ts";

/** Go's `DefaultChunkedReadLimit`: frames larger than this are rejected (50 MB). */
export const DEFAULT_MAX_FRAME_BYTES = 50_000_000;

/** Content-Type of the STREAMED_XOR_CHUNKS answer. */
export const STREAMED_CONTENT_TYPE = "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse";

/** One remote-read query; times are ms, inclusive. */
export interface RemoteReadQuery {
  readonly start: number;
  readonly end: number;
  readonly matchers: readonly Matcher[];
}

/** What Prometheus sent back. */
export type RemoteReadResult =
  | {
      readonly type: "chunks";
      /** The frames in arrays, one per network read. Use either this or `frameReaders`, once. */
      readonly frameBatches: AsyncIterable<DecodedChunkedReadResponse[]>;
      /** The frames decoded on demand, one reader per network read (see {@link readDecodedFrames}). */
      readonly frameReaders: AsyncIterable<FrameReader>;
    }
  | { readonly type: "samples"; readonly response: ReadResponse };

/** Options of {@link remoteRead}. */
export interface RemoteReadOptions {
  /** Prometheus base URL. */
  readonly url: string;
  readonly query: RemoteReadQuery;
  readonly signal?: AbortSignal;
  readonly fetch?: typeof fetch;
  /**
   * Sends the POST instead of `fetch` (a runtime's own HTTP client, which can hand the body over
   * without Web-stream overhead); see {@link HttpPost}.
   */
  readonly post?: HttpPost;
  /** Ask for SAMPLES only (tests of the fallback path). */
  readonly samplesOnly?: boolean;
  readonly maxFrameBytes?: number;
  readonly userAgent?: string;
  /** Updated while a streamed answer is decoded (memory figures). */
  readonly stats?: DecodeBufferStats;
}

/** The parts of an HTTP response remote read needs; `body` is read once. */
export interface HttpPostResponse {
  readonly status: number;
  /** A response header (case-insensitive name), or null. */
  header(name: string): string | null;
  readonly body: AsyncIterable<Uint8Array>;
  /**
   * Each body piece is valid only until the next one is asked for (the client reuses its read
   * buffer); consumers that keep bytes copy them. {@link decodeChunkedReadResponses} always does.
   */
  readonly transient?: boolean;
  /** Stops the download (the body is not read to the end). */
  cancel(): void;
}

/**
 * Sends a POST with `body` and `headers`, resolving once the response headers arrived. The default
 * is built on `fetch`; the Node runner injects one on `node:http`, whose body reads cost a fraction
 * of undici's Web streams at remote-read volumes.
 */
export type HttpPost = (url: string, body: Uint8Array, headers: Record<string, string>, signal?: AbortSignal) => Promise<HttpPostResponse>;

/** An {@link HttpPost} on a fetch function. */
export function createFetchPost(fetchFn: typeof fetch = (input, init) => fetch(input, init)): HttpPost {
  return async (url, body, headers, signal) => {
    const res = await fetchFn(url, { method: "POST", body: body as Uint8Array<ArrayBuffer>, headers, signal });
    const stream = res.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    return {
      status: res.status,
      header: (name) => res.headers.get(name),
      body: readableToIterable(stream),
      cancel: () => void stream.cancel().catch(() => {}),
    };
  };
}

/** Iterates a ReadableStream (not every runtime's ReadableStream is async-iterable); cancels it when left early. */
async function* readableToIterable(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let done = false;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) {
        done = true;
        return;
      }
      yield r.value;
    }
  } finally {
    if (!done) reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** Remote read failed; `status` is the HTTP status when Prometheus answered with one. */
export class RemoteReadError extends Error {
  override name = "RemoteReadError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const MATCH_TYPES: Record<Matcher["type"], LabelMatcher_Type> = {
  "=": LabelMatcher_Type.EQ,
  "!=": LabelMatcher_Type.NEQ,
  "=~": LabelMatcher_Type.RE,
  "!~": LabelMatcher_Type.NRE,
};

/** Builds the snappy-block-compressed ReadRequest body. No hints: Prometheus would take their range. */
export function encodeReadRequest(queries: readonly RemoteReadQuery[], types: readonly ReadRequest_ResponseType[]): Uint8Array {
  const req = create(ReadRequestSchema, {
    queries: queries.map((q) =>
      create(QuerySchema, {
        startTimestampMs: BigInt(Math.trunc(q.start)),
        endTimestampMs: BigInt(Math.trunc(q.end)),
        matchers: q.matchers.map((m) => create(LabelMatcherSchema, { type: MATCH_TYPES[m.type], name: m.name, value: m.value })),
      }),
    ),
    acceptedResponseTypes: [...types],
  });
  return compress(toBinary(ReadRequestSchema, req));
}

/**
 * Runs one remote-read query. Resolves once the response headers arrived; for streamed answers
 * the frames are read lazily from the body as the caller iterates.
 */
export async function remoteRead(opts: RemoteReadOptions): Promise<RemoteReadResult> {
  const url = `${opts.url.replace(/\/+$/, "")}/api/v1/read`;
  const types = opts.samplesOnly
    ? [ReadRequest_ResponseType.SAMPLES]
    : [ReadRequest_ResponseType.STREAMED_XOR_CHUNKS, ReadRequest_ResponseType.SAMPLES];
  const post = opts.post ?? createFetchPost(opts.fetch);
  let res: HttpPostResponse;
  try {
    res = await post(url, encodeReadRequest([opts.query], types), {
      "Content-Encoding": "snappy",
      "Content-Type": "application/x-protobuf",
      "X-Prometheus-Remote-Read-Version": "0.1.0",
      "User-Agent": opts.userAgent ?? "Meridian-sidecar",
      // Prometheus gzips API answers for clients that accept it. Next to Prometheus that costs
      // both processes far more CPU than it saves (XOR chunks hardly compress), so ask for none.
      "Accept-Encoding": "identity",
    }, opts.signal);
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    throw new RemoteReadError(`remote read from ${url} failed: ${(err as Error).message}`);
  }
  if (res.status < 200 || res.status > 299) {
    const text = (await readText(res.body, res.transient).catch(() => "")).trim().slice(0, 1000);
    throw new RemoteReadError(`remote read from ${url}: HTTP ${res.status}: ${text}`, res.status);
  }
  const contentType = res.header("content-type") ?? "";
  if (contentType.startsWith("application/x-streamed-protobuf")) {
    if (!contentType.includes("proto=prometheus.ChunkedReadResponse")) {
      res.cancel();
      throw new RemoteReadError(`remote read from ${url}: unsupported streamed content type ${JSON.stringify(contentType)}`);
    }
    const decodeOpts = { maxFrameBytes: opts.maxFrameBytes, source: url, ...(opts.stats ? { stats: opts.stats } : {}) };
    // Both are lazy: only the one the caller iterates reads the body.
    return { type: "chunks", frameBatches: decodeChunkedReadResponses(res.body, decodeOpts), frameReaders: readDecodedFrames(res.body, decodeOpts) };
  }
  if (contentType.startsWith("application/x-protobuf")) {
    const compressed = await readAll(res.body, res.transient);
    let raw: Uint8Array;
    try {
      raw = uncompress(compressed);
    } catch (err) {
      throw new RemoteReadError(`remote read from ${url}: SAMPLES response is not valid snappy: ${(err as Error).message}`);
    }
    return { type: "samples", response: fromBinary(ReadResponseSchema, raw) };
  }
  res.cancel();
  throw new RemoteReadError(`remote read from ${url}: unexpected content type ${JSON.stringify(contentType)}`);
}

async function readAll(body: AsyncIterable<Uint8Array>, transient = false): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const p of body) {
    parts.push(transient ? p.slice() : p);
    total += p.length;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function readText(body: AsyncIterable<Uint8Array>, transient?: boolean): Promise<string> {
  return new TextDecoder().decode(await readAll(body, transient));
}

/** What {@link decodeChunkedReadResponses} holds between network reads, for memory figures. */
export interface DecodeBufferStats {
  /** Bytes of an incomplete frame carried over to the next network read. */
  carryBytes: number;
  /** Bytes of the chunk arena's blocks in use or kept for reuse (see ChunkArena.heldBytes). */
  arenaBytes: number;
  /** Largest frame seen so far (header, CRC and message). */
  largestFrameBytes: number;
}

/**
 * The frames of one network read, decoded one at a time on demand: `next()` returns the next
 * complete frame or undefined when the rest of this read (if any) is an incomplete frame, kept
 * for the next read. Valid until the generator that yielded it is resumed.
 */
export interface FrameReader {
  next(): DecodedChunkedReadResponse | undefined;
}

/**
 * Decodes the frames of a streamed remote-read body as ChunkedReadResponses (with the fast decoder
 * that writes StoreAPI chunk fields directly). Yields one {@link FrameReader} per network read:
 * frames are decoded synchronously as the consumer asks, so there is no promise hop per frame and
 * a consumer that turns each frame into output before asking for the next holds about one frame's
 * worth of decoded chunks. Frames are CRC-checked and decoded where they lie in the network read;
 * only a frame split across reads is copied, once, into a buffer of its exact size. Errors are
 * {@link RemoteReadError}s naming the frame index and stream offset, thrown after the good frames
 * before them were returned; a body that ends inside a frame is one, so a cut-off answer never
 * looks complete. Network pieces may be transient (see {@link HttpPostResponse.transient}).
 */
export async function* readDecodedFrames(
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  opts: { maxFrameBytes?: number; source?: string; stats?: DecodeBufferStats } = {},
): AsyncGenerator<FrameReader> {
  const maxFrame = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const source = opts.source ?? "remote read";
  const stats = opts.stats;
  // Small blocks: the consumer frames series as they come, so few chunk bytes wait in the arena.
  const arena = createChunkArena(16 * 1024);
  const chunks = (Symbol.asyncIterator in body ? body : readableToIterable(body))[Symbol.asyncIterator]();
  let offset = 0; // stream offset of the current frame's header
  let index = 0;
  // An incomplete frame: its bytes so far (`carry[0, carryLen)`); sized exactly once its header is known.
  let carry: Uint8Array | undefined;
  let carryLen = 0;
  let carryTotal = -1; // full size of the carried frame (header + CRC + message), -1 while its header is incomplete
  // The current network read and the position of its next frame.
  let buf: Uint8Array = new Uint8Array(0);
  let pos = 0;

  const where = () => `${source}: frame ${index} at offset ${offset}`;

  // Size of the frame starting at b[p] (header + CRC + message), or -1 if its header is incomplete.
  function frameSize(b: Uint8Array, p: number, end: number): number {
    let len = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (p + i >= end) return -1;
      const x = b[p + i]!;
      len += (x & 0x7f) * mul;
      if (x < 0x80) {
        if (len > maxFrame) throw new RemoteReadError(`${where()}: size ${len} exceeds the limit of ${maxFrame} bytes`);
        return i + 1 + 4 + len;
      }
      mul *= 128;
    }
    throw new RemoteReadError(`${where()}: invalid uvarint length`);
  }

  // Checks and decodes the complete frame b[p, p + size).
  function frame(b: Uint8Array, p: number, size: number): DecodedChunkedReadResponse {
    if (stats && size > stats.largestFrameBytes) stats.largestFrameBytes = size;
    let h = p;
    while (b[h]! >= 0x80) h++;
    h++;
    const want = ((b[h]! << 24) | (b[h + 1]! << 16) | (b[h + 2]! << 8) | b[h + 3]!) >>> 0;
    const got = crc32cRange(b, h + 4, p + size);
    if (got !== want) {
      throw new RemoteReadError(`${where()}: CRC32C mismatch (header ${want.toString(16).padStart(8, "0")}, data ${got.toString(16).padStart(8, "0")})`);
    }
    let decoded: DecodedChunkedReadResponse;
    try {
      decoded = decodeChunkedReadResponse(b, h + 4, p + size, arena);
    } catch (err) {
      throw new RemoteReadError(`${where()}: ${(err as Error).message}`);
    }
    offset += size;
    index++;
    if (stats) {
      stats.arenaBytes = arena.heldBytes;
      stats.carryBytes = carry ? carry.length : 0;
    }
    return decoded;
  }

  // Starts on a new network read: completes the carried frame first if this read finishes it.
  function begin(piece: Uint8Array): DecodedChunkedReadResponse | undefined {
    buf = piece;
    pos = 0;
    if (!carry) return undefined;
    if (carryTotal < 0) {
      // The carried header was cut: join the (few) carried bytes with this read and start over.
      const joined = new Uint8Array(carryLen + piece.length);
      joined.set(carry.subarray(0, carryLen));
      joined.set(piece, carryLen);
      carry = undefined;
      buf = joined;
      return undefined;
    }
    const n = Math.min(carryTotal - carryLen, piece.length);
    carry.set(piece.subarray(0, n), carryLen);
    carryLen += n;
    pos = n;
    if (carryLen < carryTotal) return undefined;
    const full = carry;
    carry = undefined;
    return frame(full, 0, carryTotal);
  }

  let first: DecodedChunkedReadResponse | undefined;
  const reader: FrameReader = {
    next() {
      if (first) {
        const f = first;
        first = undefined;
        return f;
      }
      const end = buf.length;
      if (pos >= end) return undefined;
      const size = frameSize(buf, pos, end);
      if (size >= 0 && pos + size <= end) {
        const f = frame(buf, pos, size);
        pos += size;
        return f;
      }
      // Incomplete: keep its bytes (a copy, so the network buffer is not held).
      carryTotal = size;
      carryLen = end - pos;
      carry = new Uint8Array(size >= 0 ? size : carryLen);
      carry.set(buf.subarray(pos, end));
      pos = end;
      return undefined;
    },
  };

  try {
    for (;;) {
      const { done, value } = await chunks.next();
      if (done) {
        if (!carry) return; // clean end between frames
        if (carryTotal < 0) throw new RemoteReadError(`${source}: stream ended inside the length of frame ${index} at offset ${offset}`);
        let hl = 0;
        while (carry[hl]! >= 0x80) hl++;
        hl++;
        throw new RemoteReadError(
          `${where()}: stream ended inside the frame: expected ${carryTotal - hl - 4} message bytes, got ${Math.max(0, carryLen - hl - 4)} (Prometheus went away mid-stream?)`,
        );
      }
      if (value.length === 0) continue;
      // A plain Uint8Array view: subarrays of Node's Buffers (what node:http yields) cost far more.
      first = begin(value.constructor === Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.length));
      if (stats) {
        stats.carryBytes = carry ? carry.length : 0;
        stats.arenaBytes = arena.heldBytes;
      }
      yield reader;
      // Whatever the consumer left undecoded in this read is decoded now (errors surface here).
      while (reader.next());
      if (stats) {
        stats.carryBytes = carry ? carry.length : 0;
        stats.arenaBytes = arena.heldBytes;
      }
    }
  } catch (err) {
    if (err instanceof RemoteReadError) throw err;
    // Network errors while reading the body (connection reset, aborted chunked encoding).
    throw new RemoteReadError(`${source}: reading frame ${index} at offset ${offset} failed: ${(err as Error).message}`);
  } finally {
    buf = new Uint8Array(0);
    // Stops the download when the consumer gives up early or on error (a no-op after the end).
    chunks.return?.()?.catch(() => {});
  }
}

/** {@link readDecodedFrames}, as arrays: all frames complete after each network read at once. */
export async function* decodeChunkedReadResponses(
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  opts: { maxFrameBytes?: number; source?: string; stats?: DecodeBufferStats } = {},
): AsyncGenerator<DecodedChunkedReadResponse[]> {
  for await (const reader of readDecodedFrames(body, opts)) {
    const out: DecodedChunkedReadResponse[] = [];
    let failure: unknown;
    try {
      for (let f = reader.next(); f; f = reader.next()) out.push(f);
    } catch (err) {
      failure = err; // deliver the good frames before it first
    }
    if (out.length > 0) yield out;
    if (failure) throw failure;
  }
}

/** One frame of a streamed body: its message bytes and the byte offset of its header. */
export interface Frame {
  readonly message: Uint8Array;
  readonly offset: number;
}

/** {@link readChunkedFrameBatches}, one frame at a time. */
export async function* readChunkedFrames(
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  opts: { maxFrameBytes?: number; source?: string } = {},
): AsyncGenerator<Frame> {
  for await (const batch of readChunkedFrameBatches(body, opts)) yield* batch;
}

/**
 * Splits a streamed remote-read body into frames, checking each CRC32C, and yields the frames that
 * are complete after each network read. Holds at most one incomplete frame plus the current
 * network chunk. A body that ends inside a frame, a CRC mismatch or an oversize frame is an error
 * naming the frame index and byte offset.
 */
export async function* readChunkedFrameBatches(
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  opts: { maxFrameBytes?: number; source?: string } = {},
): AsyncGenerator<Frame[]> {
  const maxFrame = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const source = opts.source ?? "remote read";
  const queue = createByteQueue();
  const chunks = (Symbol.asyncIterator in body ? body : readableToIterable(body))[Symbol.asyncIterator]();
  let offset = 0; // stream offset of the current frame's header
  let index = 0;
  let pendingLen = -1; // message length of a frame whose header was read, -1 if none

  // Takes the next frame if it is completely buffered; undefined when more bytes are needed.
  function next(): Frame | undefined {
    if (queue.length === 0) return undefined;
    let len = 0;
    let shift = 1;
    let headerLen = 0;
    for (;;) {
      if (headerLen >= queue.length) return undefined;
      const b = queue.peek(headerLen);
      headerLen++;
      len += (b & 0x7f) * shift;
      shift *= 128;
      if ((b & 0x80) === 0) break;
      if (headerLen >= 10) throw new RemoteReadError(`${source}: frame ${index} at offset ${offset}: invalid uvarint length`);
    }
    if (len > maxFrame) {
      throw new RemoteReadError(`${source}: frame ${index} at offset ${offset}: size ${len} exceeds the limit of ${maxFrame} bytes`);
    }
    pendingLen = len;
    if (queue.length < headerLen + 4 + len) return undefined;
    queue.skip(headerLen);
    const crcBytes = queue.take(4);
    const want = ((crcBytes[0]! << 24) | (crcBytes[1]! << 16) | (crcBytes[2]! << 8) | crcBytes[3]!) >>> 0;
    const message = queue.take(len);
    const got = crc32c(message);
    if (got !== want) {
      throw new RemoteReadError(
        `${source}: frame ${index} at offset ${offset}: CRC32C mismatch (header ${want.toString(16).padStart(8, "0")}, data ${got.toString(16).padStart(8, "0")})`,
      );
    }
    const frame = { message, offset };
    offset += headerLen + 4 + len;
    index++;
    pendingLen = -1;
    return frame;
  }

  try {
    for (;;) {
      const batch: Frame[] = [];
      let failure: unknown;
      try {
        for (let f = next(); f; f = next()) batch.push(f);
      } catch (err) {
        failure = err; // deliver the good frames before it first
      }
      if (batch.length > 0) yield batch;
      if (failure) throw failure;
      const { done, value } = await chunks.next();
      if (done) {
        if (queue.length === 0) return; // clean end between frames
        if (pendingLen < 0) throw new RemoteReadError(`${source}: stream ended inside the length of frame ${index} at offset ${offset}`);
        throw new RemoteReadError(
          `${source}: stream ended inside frame ${index} at offset ${offset}: expected ${pendingLen} message bytes, got ${Math.max(0, queue.length - 4)} or fewer (Prometheus went away mid-stream?)`,
        );
      }
      // A plain Uint8Array view: subarrays of Node's Buffers (what node:http yields) cost far more.
      if (value.length > 0) queue.push(value.constructor === Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.length));
    }
  } catch (err) {
    if (err instanceof RemoteReadError) throw err;
    // Network errors while reading the body (connection reset, aborted chunked encoding).
    throw new RemoteReadError(`${source}: reading frame ${index} at offset ${offset} failed: ${(err as Error).message}`);
  } finally {
    // Stops the download when the consumer gives up early or on error (a no-op after the end).
    chunks.return?.()?.catch(() => {});
  }
}

interface ByteQueue {
  readonly length: number;
  push(chunk: Uint8Array): void;
  peek(i: number): number;
  skip(n: number): void;
  /** Removes and returns `n` bytes; a view when they lie in one chunk, else a copy. */
  take(n: number): Uint8Array;
}

/** FIFO of network chunks with zero-copy reads where possible. */
function createByteQueue(): ByteQueue {
  const chunks: Uint8Array[] = [];
  let head = 0; // read position in chunks[0]
  let length = 0;
  return {
    get length() {
      return length;
    },
    push(chunk) {
      chunks.push(chunk);
      length += chunk.length;
    },
    peek(i) {
      let k = 0;
      let pos = head + i;
      while (pos >= chunks[k]!.length) {
        pos -= chunks[k]!.length;
        k++;
      }
      return chunks[k]![pos]!;
    },
    skip(n) {
      this.take(n);
    },
    take(n) {
      length -= n;
      const first = chunks[0];
      if (n === 0) return new Uint8Array(0);
      if (first && first.length - head >= n) {
        const out = first.subarray(head, head + n);
        head += n;
        if (head === first.length) {
          chunks.shift();
          head = 0;
        }
        return out;
      }
      const out = new Uint8Array(n);
      let written = 0;
      while (written < n) {
        const c = chunks[0]!;
        const m = Math.min(c.length - head, n - written);
        out.set(c.subarray(head, head + m), written);
        written += m;
        head += m;
        if (head === c.length) {
          chunks.shift();
          head = 0;
        }
      }
      return out;
    },
  };
}
