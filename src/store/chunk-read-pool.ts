/**
 * Reusable memory for the store gateway's chunk range reads, handed out per Series call (Thanos'
 * chunk bytes pool does the same): a 24 h Series call reads several MB of chunk ranges, and a
 * fresh ArrayBuffer per read is external memory to V8, which schedules extra garbage collections
 * for it. A call's buffers go back to the pool when the call ends, i.e. after every frame it sent
 * was built (frames copy chunk bytes; nothing of a call reads its chunk buffers afterwards).
 */

/** Reads smaller than this are plain allocations (single-series calls; rounding would waste more than it saves). */
const POOL_MIN = 16 * 1024;
/** Pooled buffer sizes are multiples of this. */
const POOL_GRAIN = 64 * 1024;
/** Idle pooled bytes kept at most (beyond that, buffers given back are left to the GC). */
const POOL_MAX_BYTES = 32 * 1024 * 1024;

const pool: ArrayBuffer[] = [];
let pooledBytes = 0;

/** Takes the smallest pooled buffer of at least `need` bytes (and not much larger), or allocates one. */
function take(need: number): ArrayBuffer {
  let best = -1;
  for (let i = 0; i < pool.length; i++) {
    const len = pool[i]!.byteLength;
    if (len >= need && len <= 2 * need + POOL_GRAIN && (best < 0 || len < pool[best]!.byteLength)) best = i;
  }
  if (best < 0) return new ArrayBuffer(Math.ceil(need / POOL_GRAIN) * POOL_GRAIN);
  const ab = pool[best]!;
  pool[best] = pool[pool.length - 1]!;
  pool.pop();
  pooledBytes -= ab.byteLength;
  return ab;
}

function give(ab: ArrayBuffer): void {
  if (pooledBytes + ab.byteLength > POOL_MAX_BYTES) return;
  pool.push(ab);
  pooledBytes += ab.byteLength;
}

/** Idle bytes in the pool (tests, metrics). */
export function chunkReadPoolBytes(): number {
  return pooledBytes;
}

/** One Series call's share of the pool. */
export interface ChunkReadLease {
  /**
   * Memory for one batch's chunk reads: `alloc` (for the chunk reader's `records` option `alloc`) hands out
   * buffers, `settled()` is called once every read into them has finished successfully (then they
   * return to the pool when the lease ends). Buffers of a batch that failed are never reused, as a
   * read into them may still be running.
   */
  batch(): { alloc: (n: number) => Uint8Array; settled: () => void };
  /** Ends the call: its settled buffers go back to the pool; later batches are not pooled. */
  release(): void;
}

/** A lease for one Series call. Contents of buffers handed out are NOT zeroed. */
export function createChunkReadLease(): ChunkReadLease {
  let held: ArrayBuffer[] | undefined = [];
  return {
    batch() {
      const mine: ArrayBuffer[] = [];
      return {
        alloc(n) {
          if (n < POOL_MIN || held === undefined) return new Uint8Array(n);
          const ab = take(n);
          mine.push(ab);
          return new Uint8Array(ab, 0, n);
        },
        settled() {
          if (held !== undefined) for (const ab of mine) held.push(ab);
          mine.length = 0;
        },
      };
    },
    release() {
      const h = held;
      held = undefined;
      if (h) for (const ab of h) give(ab);
    },
  };
}
