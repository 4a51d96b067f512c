/**
 * Store selection for one request (Thanos `ProxyStore.matchingStores`): a store is asked only when
 * its time range overlaps the request and one of its external label sets is compatible with the
 * request's matchers; `storeMatch[]` selectors further restrict stores by `__address__`.
 */
import { getLabel } from "../model/labels.ts";
import type { Labels } from "../model/labels.ts";
import type { Matcher } from "../model/matcher.ts";
import type { Endpoint } from "./endpoint-set.ts";

/**
 * True when some label set is compatible: every matcher whose name is in the set accepts its value
 * (matchers on other names are ignored). No label sets means compatible.
 */
export function labelSetsMatch(labelSets: readonly Labels[], matchers: readonly Matcher[]): boolean {
  if (labelSets.length === 0) return true;
  return labelSets.some((set) => matchers.every((m) => !set.some((l) => l.name === m.name) || m.matches(getLabel(set, m.name))));
}

/** What store selection needs from a request. */
export interface StoreSelection {
  /** Request time range, ms inclusive. */
  readonly minTime: number;
  readonly maxTime: number;
  readonly matchers: readonly Matcher[];
  /** `storeMatch[]`: sets of matchers against `__address__`; a store is kept if any set matches. Empty: no restriction. */
  readonly storeMatchers?: readonly (readonly Matcher[])[];
}

/** Returns the endpoints that can hold data for the request. */
export function selectStores(endpoints: readonly Endpoint[], sel: StoreSelection): Endpoint[] {
  return endpoints.filter((e) => {
    if (sel.minTime > e.status.maxTime || sel.maxTime < e.status.minTime) return false;
    if (sel.storeMatchers && sel.storeMatchers.length > 0) {
      const ok = sel.storeMatchers.some((set) => set.every((m) => (m.name === "__address__" ? m.matches(e.address) : true)));
      if (!ok) return false;
    }
    return labelSetsMatch(e.status.labelSets, sel.matchers);
  });
}
