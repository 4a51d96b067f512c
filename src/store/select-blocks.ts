/**
 * Which blocks a request touches: blocks overlapping the time range whose external labels satisfy
 * the matchers on external-label names (those matchers are then dropped for that block, StoreAPI
 * contract §10.5) and the request's `block_matchers` hint (external labels plus `__block_id`).
 */
import { getLabel } from "../model/labels.ts";
import type { Matcher } from "../model/matcher.ts";
import type { BucketBlock } from "./bucket-block.ts";
import type { FailedBlock } from "./block-sync.ts";

/** A selected block with the matchers still to apply to its series. */
export interface SelectedBlock {
  readonly block: BucketBlock;
  readonly matchers: Matcher[];
}

/** The label Thanos' block matchers use for the block ID. */
export const BLOCK_ID_LABEL = "__block_id";

/** True when block [minTime, maxTime) overlaps the inclusive request range [mint, maxt]. */
export function overlapsRange(minTime: number, maxTime: number, mint: number, maxt: number): boolean {
  return minTime <= maxt && maxTime > mint;
}

function blockLabelValue(id: string, ext: BucketBlock["extLabels"], name: string): string {
  return name === BLOCK_ID_LABEL ? id : getLabel(ext, name);
}

/**
 * Splits `matchers` for `block`: undefined when a matcher on one of its external labels (or a
 * block matcher) rejects the block; otherwise the matchers left for its series.
 */
export function matchersForBlock(block: BucketBlock, matchers: readonly Matcher[], blockMatchers: readonly Matcher[] = []): Matcher[] | undefined {
  for (const m of blockMatchers) if (!m.matches(blockLabelValue(block.id, block.extLabels, m.name))) return undefined;
  const rest: Matcher[] = [];
  for (const m of matchers) {
    const ext = block.extLabels.find((l) => l.name === m.name);
    if (ext) {
      if (!m.matches(ext.value)) return undefined;
    } else {
      rest.push(m);
    }
  }
  return rest;
}

/** Blocks to query for a request, in time order. */
export function selectBlocks(
  blocks: readonly BucketBlock[],
  mint: number,
  maxt: number,
  matchers: readonly Matcher[],
  blockMatchers: readonly Matcher[] = [],
): SelectedBlock[] {
  const out: SelectedBlock[] = [];
  for (const block of blocks) {
    if (!overlapsRange(block.meta.minTime, block.meta.maxTime, mint, maxt)) continue;
    const rest = matchersForBlock(block, matchers, blockMatchers);
    if (rest) out.push({ block, matchers: rest });
  }
  return out;
}

/**
 * Failed blocks that the request would have touched (time range and external labels, when the
 * meta is known), so the response can warn that data may be missing.
 */
export function failedBlocksFor(failed: readonly FailedBlock[], mint: number, maxt: number, matchers: readonly Matcher[]): FailedBlock[] {
  return failed.filter((f) => {
    if (!f.meta) return true;
    if (!overlapsRange(f.meta.minTime, f.meta.maxTime, mint, maxt)) return false;
    const ext = f.meta.thanos?.labels ?? {};
    return matchers.every((m) => !(m.name in ext) || m.matches(ext[m.name]!));
  });
}
