/**
 * Sequential, chunked reading of one section of a file through a {@link ByteRangeReader}, with a
 * running CRC32C. Used to scan the symbol table and postings offset table once (when building an
 * index-header) without holding the whole section in memory, and without knowing entry sizes up
 * front: an entry that straddles a chunk boundary is simply re-parsed after the next fetch.
 */
import type { ByteRangeReader } from "./byte-range-reader.ts";
import { Decoder, NEED_MORE, hex32, readBe32 } from "./decoder.ts";
import { CorruptionError, readOrCorrupt } from "./errors.ts";
import { crc32c } from "./crc32c.ts";

/** Default fetch size for section scans. */
export const DEFAULT_SCAN_CHUNK = 1 << 20;

/**
 * A forward-only reader over `[start, end)` of `reader`. `crcFrom..end` is checksummed as it is
 * fetched; {@link finish} compares with the big-endian CRC32C stored at `end`.
 */
export class SectionStream {
  private buf: Uint8Array = new Uint8Array(0);
  /** Buffer owned by the stream, reused across fetches for the carried-over tail + next chunk. */
  private store: Uint8Array | undefined;
  /** True when `buf` is `store` (starting at index 0). */
  private bufInStore = false;
  /** Absolute offset of buf[0]. */
  private bufStart: number;
  private pos = 0;
  /** Absolute offset of the next byte to fetch. */
  private fetched: number;
  private crc = 0;

  constructor(
    private readonly reader: ByteRangeReader,
    readonly section: string,
    private readonly start: number,
    private readonly end: number,
    private readonly crcFrom: number,
    private readonly chunkSize = DEFAULT_SCAN_CHUNK,
  ) {
    this.bufStart = start;
    this.fetched = start;
  }

  /** Absolute offset of the cursor. */
  get offset(): number {
    return this.bufStart + this.pos;
  }

  /** True when every byte up to `end` has been consumed. */
  get done(): boolean {
    return this.offset >= this.end;
  }

  /**
   * Parses one item with `parse`, fetching more bytes when it runs out. `parse` must not keep
   * state between attempts (it may run more than once for the same item).
   */
  async next<T>(parse: (d: Decoder) => T): Promise<T> {
    for (;;) {
      const d = new Decoder(this.buf, this.reader.name, this.section, this.bufStart);
      d.pos = this.pos;
      d.partial = this.fetched < this.end;
      try {
        const r = parse(d);
        this.pos = d.pos;
        return r;
      } catch (err) {
        if (err !== NEED_MORE) throw err;
        await this.fill();
      }
    }
  }

  /**
   * Runs `step` for items `0..count-1` synchronously over the buffered bytes, with one
   * {@link Decoder} per fetch, and awaits only to fetch more. This is the allocation-free way to
   * scan a large section (no Promise or Decoder per item).
   *
   * `step` must read its whole item through `d` before it changes any state of its own: when the
   * bytes run out in the middle of an item, more are fetched and the same item is parsed again
   * from its start. Views of `d.bytes` are only valid during the call (the buffer is reused).
   */
  async forEach(count: number, step: (d: Decoder, i: number) => void): Promise<void> {
    let i = 0;
    while (i < count) {
      const d = new Decoder(this.buf, this.reader.name, this.section, this.bufStart);
      d.pos = this.pos;
      d.partial = this.fetched < this.end;
      try {
        for (; i < count; i++) {
          step(d, i);
          this.pos = d.pos;
        }
      } catch (err) {
        if (err !== NEED_MORE) throw err;
        await this.fill();
      }
    }
  }

  private async fill(): Promise<void> {
    const keepLen = this.buf.length - this.pos;
    const want = Math.min(this.end - this.fetched, Math.max(this.chunkSize, keepLen * 2));
    const at = this.fetched;
    const chunk = await readOrCorrupt(this.reader.name, this.section, at, () => this.reader.read(at, want));
    // Checksum the part of the chunk inside [crcFrom, end).
    const cs = Math.max(0, this.crcFrom - at);
    if (cs < chunk.length) this.crc = crc32c(chunk.subarray(cs), this.crc);
    if (keepLen === 0) {
      // Nothing carried over: parse the fetched bytes in place (never written to).
      this.buf = chunk;
      this.bufInStore = false;
    } else {
      // Carry the unparsed tail over into the reused buffer, growing it only when needed.
      const need = keepLen + chunk.length;
      const store = this.store;
      if (store && store.length >= need) {
        if (this.bufInStore) store.copyWithin(0, this.pos, this.pos + keepLen);
        else store.set(this.buf.subarray(this.pos), 0);
        store.set(chunk, keepLen);
        this.buf = store.subarray(0, need);
      } else {
        const next = new Uint8Array(Math.max(need, this.chunkSize + keepLen));
        next.set(this.buf.subarray(this.pos), 0);
        next.set(chunk, keepLen);
        this.store = next;
        this.buf = next.subarray(0, need);
      }
      this.bufInStore = true;
    }
    this.bufStart += this.pos;
    this.pos = 0;
    this.fetched += chunk.length;
  }

  /**
   * Checks that parsing stopped exactly at `end` and the stored CRC32C (4 bytes at `end`) matches
   * everything fetched from `crcFrom`.
   */
  async finish(): Promise<void> {
    const file = this.reader.name;
    if (this.offset !== this.end) {
      throw new CorruptionError(file, this.section, this.offset, `entries end at ${this.offset}, section length says ${this.end}`);
    }
    // Bytes in [crcFrom, end) not fetched yet (only when the section was empty).
    while (this.fetched < this.end) await this.fill();
    if (this.crcFrom === this.end) this.crc = 0;
    const b = await readOrCorrupt(file, this.section, this.end, () => this.reader.read(this.end, 4));
    const want = readBe32(b, 0);
    if (want !== this.crc) {
      throw new CorruptionError(file, this.section, this.crcFrom, `CRC32C mismatch: stored ${hex32(want)}, computed ${hex32(this.crc)} over ${this.end - this.crcFrom} bytes`);
    }
  }
}
