/**
 * The fast path for streamed remote-read bodies: frames (uvarint length, big-endian CRC32C,
 * message) are CRC-checked and decoded as ChunkedReadResponses where they lie in each network
 * read, on demand, with at most one frame split across reads copied.
 */
import { crc32cRange } from "../tsdb/crc32c.ts";
import { createChunkArena } from "./chunk-arena.ts";
import { decodeChunkedReadResponse, type DecodedChunkedReadResponse } from "./chunked-decoder.ts";
import { readableToIterable } from "./http-post.ts";
import { RemoteReadError } from "./remote-read-error.ts";

/** Go's `DefaultChunkedReadLimit`: frames larger than this are rejected (50 MB). */
export const DEFAULT_MAX_FRAME_BYTES = 50_000_000;

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
