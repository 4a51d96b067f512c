/**
 * Splitting a streamed remote-read body into raw, CRC-checked frames (message bytes, not decoded);
 * used by tools and tests that look at the frames themselves.
 */
import { crc32c } from "../tsdb/crc32c.ts";
import { createByteQueue } from "./byte-queue.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "./decoded-frames.ts";
import { readableToIterable } from "./http-post.ts";
import { RemoteReadError } from "./remote-read-error.ts";

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
