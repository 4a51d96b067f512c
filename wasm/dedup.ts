// HA replica deduplication kernels for the querier, over decoded sample arrays.
//
// Penalty mode (dedup-tree.ts, dedup-pair.ts) reproduces Thanos' `pkg/dedup/iter.go`; chain mode
// (dedup-chain.ts) is a k-way merge by timestamp like Prometheus' ChainedSeriesMerge; counter
// resets (dedup-counter-resets.ts) can be applied first. This file runs them over many series.
//
// Layout (all prepared by JS in the scratch arena):
// - inT (f64 ms) and inV (f64, raw bits) hold every replica's samples back to back;
// - bounds: k + 1 u32, replica i spans [bounds[i], bounds[i+1]);
// - state: DEDUP_STATE_BYTES per replica;
// - outT/outV: room for the sum of all replica lengths.

import { applyCounterResets } from "./dedup-counter-resets";
import { dedupChain } from "./dedup-chain";
import { dedupPenalty } from "./dedup-tree";

/** Group mode of dedupGroups: Thanos' penalty deduplication (HA replicas). */
export const DEDUP_MODE_PENALTY: i32 = 0;
/** Group mode of dedupGroups: chain merge, one sample per distinct timestamp (overlapping blocks). */
export const DEDUP_MODE_CHAIN: i32 = 1;

/**
 * Deduplicates many series in one call. Series g is described by groups[2g] (index of its first
 * entry in `bounds`) and groups[2g+1] (k, its number of replicas); its k + 1 bounds entries
 * delimit its replicas in inT/inV (each series has its own entries, as counter resets rewrite
 * them). Each series' result is appended to outT/outV (room for the sum of all replica lengths)
 * and its length stored in outCounts[g]. A series with one replica is copied unchanged (after the
 * optional counter resets). `state` needs DEDUP_STATE_BYTES per replica of the largest series.
 * Returns the total number of output samples.
 */
export function dedupGroups(
  inT: usize, inV: usize, bounds: usize, groups: usize, nGroups: i32, state: usize,
  outT: usize, outV: usize, outCounts: usize, mode: i32, counter: i32, resets: i32,
): i32 {
  let total: u32 = 0;
  for (let g = 0; g < nGroups; g++) {
    const b = bounds + (<usize>load<u32>(groups + (<usize>g << 3)) << 2);
    const k = <i32>load<u32>(groups + (<usize>g << 3), 4);
    if (resets != 0 && k > 0) applyCounterResets(inT, inV, b, k);
    const oT = outT + (<usize>total << 3);
    const oV = outV + (<usize>total << 3);
    let n: i32 = 0;
    if (k == 1) {
      const from = load<u32>(b);
      n = <i32>(load<u32>(b, 4) - from);
      memory.copy(oT, inT + (<usize>from << 3), <usize>n << 3);
      memory.copy(oV, inV + (<usize>from << 3), <usize>n << 3);
    } else if (k > 1) {
      n = mode == DEDUP_MODE_CHAIN ? dedupChain(inT, inV, b, k, state, oT, oV) : dedupPenalty(inT, inV, b, k, state, oT, oV, counter);
    }
    store<u32>(outCounts + (<usize>g << 2), <u32>n);
    total += <u32>n;
  }
  return <i32>total;
}
