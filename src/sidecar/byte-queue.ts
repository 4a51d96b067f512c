/** A FIFO of network chunks read byte-wise or in slices, for the raw frame splitter. */

/** Bytes queued from network reads, consumed from the front. */
export interface ByteQueue {
  /** Bytes queued. */
  readonly length: number;
  /** Appends a network chunk (kept, not copied). */
  push(chunk: Uint8Array): void;
  /** The byte `i` positions from the front, not removed. */
  peek(i: number): number;
  /** Removes `n` bytes. */
  skip(n: number): void;
  /** Removes and returns `n` bytes; a view when they lie in one chunk, else a copy. */
  take(n: number): Uint8Array;
}

/** FIFO of network chunks with zero-copy reads where possible. */
export function createByteQueue(): ByteQueue {
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
