/**
 * Errors raised while reading TSDB blocks. Prometheus names the file, the section and the offset
 * when bytes do not parse; so do we, so an operator can tell a corrupt upload from a bug and the
 * store gateway can report which block is broken without crashing the rest.
 */
import { TruncatedError } from "./byte-range-reader.ts";

/**
 * Bytes that do not match the format: bad magic, CRC mismatch, out-of-range varint, truncated
 * file. `offset` is the absolute byte offset in `file` where the problem was found.
 */
export class CorruptionError extends Error {
  override name = "CorruptionError";
  /** Object name, e.g. `01H.../index`. */
  readonly file: string;
  /** Section of the format, e.g. `symbols`, `series`, `postings offset table`, `chunk`. */
  readonly section: string;
  /** Absolute byte offset in `file`. */
  readonly offset: number;
  constructor(file: string, section: string, offset: number, message: string, options?: { cause?: unknown }) {
    super(`${file}: corrupt ${section} at offset ${offset}: ${message}`, options);
    this.file = file;
    this.section = section;
    this.offset = offset;
  }
}

/** Encoding byte values of chunks (Prometheus `chunkenc.Encoding`). */
export const ChunkEncoding = {
  NONE: 0,
  XOR: 1,
  HISTOGRAM: 2,
  FLOAT_HISTOGRAM: 3,
} as const;

/** Human name of a chunk encoding byte, for messages. */
export function chunkEncodingName(encoding: number): string {
  switch (encoding) {
    case ChunkEncoding.NONE: return "none";
    case ChunkEncoding.XOR: return "XOR";
    case ChunkEncoding.HISTOGRAM: return "histogram";
    case ChunkEncoding.FLOAT_HISTOGRAM: return "float histogram";
    default: return `unknown (${encoding})`;
  }
}

/**
 * A chunk encoding that is recognised but not decoded (yet), e.g. native histograms. Distinct
 * from corruption: the bytes may be fine, Meridian just cannot turn them into samples.
 */
export class UnsupportedEncodingError extends Error {
  override name = "UnsupportedEncodingError";
  /** The encoding byte. */
  readonly encoding: number;
  constructor(encoding: number, where?: string) {
    const what =
      encoding === ChunkEncoding.HISTOGRAM || encoding === ChunkEncoding.FLOAT_HISTOGRAM
        ? `${chunkEncodingName(encoding)} chunk encoding not supported yet`
        : `chunk encoding ${chunkEncodingName(encoding)} not supported`;
    super(where ? `${where}: ${what}` : what);
    this.encoding = encoding;
  }
}

/**
 * Throws {@link UnsupportedEncodingError} unless `encoding` is XOR (float samples), the only
 * encoding the decoder handles. `where` names the chunk (block, ref) in the message.
 */
export function assertXorEncoding(encoding: number, where?: string): void {
  if (encoding !== ChunkEncoding.XOR) throw new UnsupportedEncodingError(encoding, where);
}

/**
 * Runs a read and turns a {@link TruncatedError} (read past the end of the object) into a
 * {@link CorruptionError} naming the section, because in a TSDB block a short file is a corrupt
 * file. Other errors (network, not found) pass through unchanged.
 */
export async function readOrCorrupt<T>(file: string, section: string, offset: number, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof TruncatedError) {
      throw new CorruptionError(file, section, offset, `file truncated: needed ${err.length} bytes at offset ${err.offset}, file has ${err.size}`, { cause: err });
    }
    throw err;
  }
}
