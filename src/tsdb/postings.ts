/**
 * Postings lists (sorted series refs) and the set algebra that turns label matchers into the
 * series a query touches, with Prometheus semantics: a matcher that accepts "" also selects series
 * without the label, so it is applied by subtracting the series whose value it rejects.
 */
import type { Matcher } from "../model/matcher.ts";
import { Decoder, verifyCrc } from "./decoder.ts";

/** Series refs, strictly ascending. */
export type Postings = Uint32Array;

const EMPTY: Postings = new Uint32Array(0);

/**
 * Decodes one postings list (`len | n | n × ref | CRC32C`, all big-endian) from `bytes`, which
 * were read from `file` at absolute `offset` and may carry trailing padding. Checks CRC, length
 * and order.
 */
export function decodePostings(bytes: Uint8Array, file: string, offset: number): Postings {
  const d = new Decoder(bytes, file, "postings", offset);
  const len = d.be32();
  const n = d.be32();
  if (len !== 4 + 4 * n) throw d.corrupt(`postings length ${len} does not match ${n} entries`, 0);
  if (8 + 4 * n + 4 > bytes.length) throw d.corrupt(`postings list of ${n} entries runs past its ${bytes.length}-byte range`, 0);
  verifyCrc(d, 4, 4 + len, 4 + len);
  const out = new Uint32Array(n);
  let prev = -1;
  for (let i = 0, p = 8; i < n; i++, p += 4) {
    const v = ((bytes[p]! << 24) | (bytes[p + 1]! << 16) | (bytes[p + 2]! << 8) | bytes[p + 3]!) >>> 0;
    if (v <= prev) throw d.corrupt(`postings not strictly increasing: ${v} after ${prev}`, p);
    out[i] = v;
    prev = v;
  }
  return out;
}

/** Refs present in both lists. */
export function intersect(a: Postings, b: Postings): Postings {
  if (a.length === 0 || b.length === 0) return EMPTY;
  if (a.length > b.length) [a, b] = [b, a];
  const out = new Uint32Array(a.length);
  let n = 0;
  let j = 0;
  for (let i = 0; i < a.length && j < b.length; i++) {
    const x = a[i]!;
    // Gallop in the longer list when it is much longer.
    if (b[j]! < x) {
      let step = 1;
      let hi = j + 1;
      while (hi < b.length && b[hi]! < x) { j = hi; step *= 2; hi = j + step; }
      hi = Math.min(hi, b.length);
      let lo = j;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (b[mid]! < x) lo = mid + 1;
        else hi = mid;
      }
      j = lo;
    }
    if (j < b.length && b[j] === x) { out[n++] = x; j++; }
  }
  return out.subarray(0, n);
}

/** Intersection of all lists (empty input → empty result). Smallest lists first. */
export function intersectAll(lists: readonly Postings[]): Postings {
  if (lists.length === 0) return EMPTY;
  const sorted = [...lists].sort((x, y) => x.length - y.length);
  let acc = sorted[0]!;
  for (let i = 1; i < sorted.length && acc.length > 0; i++) acc = intersect(acc, sorted[i]!);
  return acc;
}

/** Refs present in any list. */
export function union(lists: readonly Postings[]): Postings {
  const nonEmpty = lists.filter((l) => l.length > 0);
  if (nonEmpty.length === 0) return EMPTY;
  if (nonEmpty.length === 1) return nonEmpty[0]!;
  if (nonEmpty.length === 2) return merge2(nonEmpty[0]!, nonEmpty[1]!);
  let total = 0;
  for (const l of nonEmpty) total += l.length;
  const all = new Uint32Array(total);
  let p = 0;
  for (const l of nonEmpty) { all.set(l, p); p += l.length; }
  all.sort();
  let n = 0;
  for (let i = 0; i < all.length; i++) if (n === 0 || all[n - 1] !== all[i]) all[n++] = all[i]!;
  return all.subarray(0, n);
}

function merge2(a: Postings, b: Postings): Postings {
  const out = new Uint32Array(a.length + b.length);
  let i = 0, j = 0, n = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!, y = b[j]!;
    if (x < y) { out[n++] = x; i++; }
    else if (y < x) { out[n++] = y; j++; }
    else { out[n++] = x; i++; j++; }
  }
  while (i < a.length) out[n++] = a[i++]!;
  while (j < b.length) out[n++] = b[j++]!;
  return out.subarray(0, n);
}

/** Refs in `a` but not in `b`. */
export function subtract(a: Postings, b: Postings): Postings {
  if (a.length === 0 || b.length === 0) return a;
  const out = new Uint32Array(a.length);
  let n = 0;
  let j = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    while (j < b.length && b[j]! < x) j++;
    if (j < b.length && b[j] === x) continue;
    out[n++] = x;
  }
  return out.subarray(0, n);
}

/** What {@link postingsForMatchers} needs from an index. */
export interface PostingsSource {
  /** Values of `name`, sorted; [] when the label does not exist. */
  labelValues(name: string): Promise<string[]>;
  /** Union of the lists of `name`=v for v in `values` (missing values contribute nothing). */
  postings(name: string, values: readonly string[]): Promise<Postings>;
  /** Every series in the index (the `("", "")` list). */
  allPostings(): Promise<Postings>;
}

/**
 * For `=~` regexes that are a plain alternation of literals (`a|b|c`), the literals; otherwise
 * undefined. Lets us skip listing every label value for the common Grafana-variable case.
 */
export function literalAlternatives(regex: string): string[] | undefined {
  if (!/^[A-Za-z0-9_:\-/ ,=@]*(\|[A-Za-z0-9_:\-/ ,=@]*)*$/.test(regex)) return undefined;
  return regex.split("|");
}

/** The values of `name` a matcher accepts, reading label values only when it must. */
async function matchingValues(src: PostingsSource, m: Matcher, positive: boolean): Promise<string[]> {
  if (positive) {
    if (m.type === "=") return [m.value];
    if (m.type === "=~") {
      const lits = literalAlternatives(m.value);
      if (lits) return lits.filter((v) => v !== "");
    }
  } else if (m.type === "!=") {
    // Accepts "" → subtract the series whose value it rejects, i.e. value == m.value.
    return [m.value];
  }
  const values = await src.labelValues(m.name);
  return values.filter((v) => m.matches(v) === positive);
}

/**
 * Series refs matching every matcher (Prometheus `PostingsForMatchers` semantics). An empty
 * matcher list selects every series.
 */
export async function postingsForMatchers(src: PostingsSource, matchers: readonly Matcher[]): Promise<Postings> {
  const positives: Matcher[] = [];
  const negatives: Matcher[] = [];
  for (const m of matchers) (m.matches("") ? negatives : positives).push(m);
  const pos = await Promise.all(positives.map(async (m) => src.postings(m.name, await matchingValues(src, m, true))));
  let acc: Postings;
  if (positives.length > 0) {
    acc = intersectAll(pos);
  } else {
    acc = await src.allPostings();
  }
  if (acc.length === 0) return EMPTY;
  // A matcher accepting "" keeps series lacking the label and those whose value it accepts:
  // remove the series with a rejected value.
  const neg = await Promise.all(negatives.map(async (m) => src.postings(m.name, await matchingValues(src, m, false))));
  for (const n of neg) acc = subtract(acc, n);
  return acc;
}
