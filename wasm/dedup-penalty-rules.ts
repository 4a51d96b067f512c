// The arithmetic every penalty-deduplication kernel shares (the iterator tree in dedup-tree.ts,
// the two-replica loop in dedup-pair.ts and the lazy chunk kernel in dedup-lazy-pair.ts), kept in
// one place so the three stay bit-identical with Thanos' `pkg/dedup/iter.go`. All helpers are
// inlined: they cost nothing on the hot loops.

/** Initial penalty (ms) before any sample was emitted; timestamps are ms, scrapes seconds apart. */
export const DEDUP_INITIAL_PENALTY: f64 = 5000;

/**
 * Penalty for the replica that was not picked when the output moves to timestamp `t`: twice the
 * gap since the last emitted timestamp, or DEDUP_INITIAL_PENALTY before any sample, so the output
 * sticks to one replica and only switches when that replica has a gap.
 */
// @ts-ignore: decorator
@inline export function nextPenalty(t: f64, lastT: f64): f64 {
  return lastT != -Infinity ? 2 * (t - lastT) : DEDUP_INITIAL_PENALTY;
}

/**
 * Raw value bits plus a counter error adjustment. Without an adjustment the raw bits (NaN payloads,
 * -0) are kept untouched, which adding 0 would not guarantee.
 */
// @ts-ignore: decorator
@inline export function adjustBits(bits: u64, adj: f64): u64 {
  return adj == 0 ? bits : reinterpret<u64>(reinterpret<f64>(bits) + adj);
}
