/**
 * Where the remote-read decoder puts chunks: {@link EncodedChunks} (a series' chunk fields in
 * StoreAPI wire form) written into the blocks of a {@link ChunkArena}, and recycling of those
 * blocks once the frame builder has copied a series out.
 */
import type { Label } from "../model/labels.ts";

/** A series' chunks as `thanos.Series` chunk fields (`0x12 len AggrChunk`, repeated): `buf[start, start + size)`. */
export interface EncodedChunks {
  readonly buf: Uint8Array;
  readonly start: number;
  /** Encoded size in bytes. */
  readonly size: number;
  /** The arena block `buf` belongs to, if any (see {@link releaseEncodedChunks}). */
  readonly block?: ArenaBlock;
  /**
   * When set, `buf[start - labelSize, start)` holds `labelsOf` encoded as `thanos.Series` label
   * fields exactly as protobuf-es would write them (Prometheus sent them in canonical form), so a
   * frame builder whose output labels are this very array copies them instead of encoding.
   */
  readonly labelsOf?: readonly Label[];
  readonly labelSize?: number;
}

/**
 * Where decoded chunk fields are written: filled front to back in blocks. Each block counts the
 * series whose chunk fields it holds; once the frame builder has copied them all
 * ({@link releaseEncodedChunks}) a full block is recycled, so a stream that releases series as it
 * goes works in two or three blocks instead of allocating its whole volume. One per stream.
 */
export interface ChunkArena {
  /** The block being filled. */
  block: ArenaBlock;
  pos: number;
  /** Size of each new block (bigger when one series needs more). */
  readonly blockBytes: number;
  /** Full blocks no series refers to any more, ready for reuse. */
  readonly spare: ArenaBlock[];
  /** Bytes of the blocks still in use: the current one, spares, and full ones pending series refer to. */
  heldBytes: number;
}

/** One buffer of a {@link ChunkArena} and the number of unreleased series in it. */
export interface ArenaBlock {
  readonly bytes: Uint8Array;
  live: number;
  /** The arena it belongs to (recycled there); undefined for stand-alone bytes. */
  readonly arena: ChunkArena | undefined;
}

/** Creates an arena of `blockBytes` blocks (default 64 KiB). */
export function createChunkArena(blockBytes = 64 * 1024): ChunkArena {
  const arena: ChunkArena = { block: undefined as unknown as ArenaBlock, pos: 0, blockBytes, spare: [], heldBytes: blockBytes };
  arena.block = { bytes: new Uint8Array(blockBytes), live: 0, arena };
  return arena;
}

/**
 * The frame builder has copied `c`: its block may be reused once nothing else in it is pending.
 * Call at most once per series, and only when `c` is not read again.
 */
export function releaseEncodedChunks(c: EncodedChunks): void {
  const b = c.block;
  if (!b || --b.live > 0 || !b.arena || b === b.arena.block) return;
  retireBlock(b.arena, b);
}

/**
 * A full block nothing refers to any more: kept for reuse (two at most) or left to the GC. Called
 * when its last series is released, or by the decoder when it leaves a block no series is pending in.
 */
export function retireBlock(arena: ChunkArena, b: ArenaBlock): void {
  if (b.bytes.length === arena.blockBytes && arena.spare.length < 2) arena.spare.push(b);
  else arena.heldBytes -= b.bytes.length;
}

/** Copies `c` to `out[o]` (which must have `c.size` bytes free); returns the end offset. */
export function writeEncodedChunks(out: Uint8Array, o: number, c: EncodedChunks): number {
  out.set(c.start === 0 && c.size === c.buf.length ? c.buf : c.buf.subarray(c.start, c.start + c.size), o);
  return o + c.size;
}

/** The bytes of `c` (tests, and callers that want them materialised). */
export function encodedChunksBytes(c: EncodedChunks): Uint8Array {
  return c.buf.slice(c.start, c.start + c.size);
}

// Label names and values are nearly always short ASCII and repeat from series to series (names,
// metric names, job, ...). A direct-mapped cache keyed by an FNV-1a hash of the bytes returns the
