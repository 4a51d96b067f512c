/**
 * Decoded float series as they flow from storage into the PromQL engine: parallel typed arrays of
 * timestamps (ms, exact in f64) and values (raw float64 bits preserved, so the stale marker
 * `0x7ff0000000000002` stays distinguishable from an ordinary NaN). Using arrays instead of
 * per-sample objects keeps the hot loops allocation-free and lets them read WASM output directly.
 */
import type { Labels } from "./labels.ts";

/** One series with samples sorted by time, no duplicate timestamps. */
export interface FloatSeries {
  readonly labels: Labels;
  /** Sample timestamps in milliseconds since the epoch, ascending. */
  readonly t: Float64Array;
  /** Sample values; may contain stale markers (see {@link isStaleMarker}). */
  readonly v: Float64Array;
}

/** Bit pattern of Prometheus' stale marker, high and low 32-bit words. */
export const STALE_HI = 0x7ff00000;
/** Low word of the stale marker. */
export const STALE_LO = 0x00000002;

const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);

/**
 * True when `value` carries the stale-marker bit pattern. Checking bits, not `isNaN`, is required:
 * an ordinary NaN sample is a real value, a stale marker ends the series.
 */
export function isStaleMarker(value: number): boolean {
  if (value === value) return false; // fast path: not NaN
  scratch[0] = value;
  return scratchWords[1] === STALE_HI && scratchWords[0] === STALE_LO;
}

/** The stale marker as a JS number (V8 keeps NaN payloads through typed-array stores). */
export const STALE_NAN: number = (() => {
  const f = new Float64Array(1);
  const w = new Uint32Array(f.buffer);
  w[1] = STALE_HI;
  w[0] = STALE_LO;
  return f[0]!;
})();
