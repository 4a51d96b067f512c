/**
 * Label sets as Prometheus and the StoreAPI see them: a list of name/value pairs sorted by name,
 * with no duplicate names. Every component (TSDB reader, stores, PromQL, querier) shares this shape
 * so series can move between them without conversion.
 */

/** One label pair. Structurally identical to the generated `thanos.Label` message fields. */
export interface Label {
  readonly name: string;
  readonly value: string;
}

/** A label set sorted by name. Treat as immutable: many series share instances. */
export type Labels = readonly Label[];

/** The metric name label. */
export const METRIC_NAME = "__name__";

function compareStrings(a: string, b: string): number {
  // Prometheus compares Go strings byte-wise; for UTF-16 JS strings, code-unit order equals
  // UTF-8 byte order except for surrogate pairs vs. U+E000..U+FFFF, which is negligible for labels
  // but handled here for exactness.
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Map surrogates above the BMP private range so the order matches UTF-8 bytes.
    if (x >= 0xd800 && x <= 0xdfff) x += 0x2000;
    else if (x >= 0xe000) x -= 0x800;
    if (y >= 0xd800 && y <= 0xdfff) y += 0x2000;
    else if (y >= 0xe000) y -= 0x800;
    return x < y ? -1 : 1;
  }
  return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1;
}

/** Byte-wise (UTF-8 order) string comparison, as Go's `strings.Compare`. */
export { compareStrings };

/**
 * Orders label sets like Prometheus' `labels.Compare`: pair by pair, name then value; a prefix
 * sorts first. The StoreAPI requires Series streams in this order.
 */
export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const la = a[i]!;
    const lb = b[i]!;
    if (la.name !== lb.name) return compareStrings(la.name, lb.name);
    if (la.value !== lb.value) return compareStrings(la.value, lb.value);
  }
  return a.length - b.length;
}

/** True when both sets hold the same pairs. */
export function labelsEqual(a: Labels, b: Labels): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]!.name !== b[i]!.name || a[i]!.value !== b[i]!.value) return false;
  }
  return true;
}

/** Sorts pairs by name and drops empty values (an empty value means "label absent" in Prometheus). */
export function normalizeLabels(pairs: Iterable<Label>): Labels {
  const out = [...pairs].filter((l) => l.value !== "");
  out.sort((x, y) => compareStrings(x.name, y.name));
  return out;
}

/** Builds a label set from a plain object; handy in tests and config. */
export function labelsFromRecord(record: Readonly<Record<string, string>>): Labels {
  return normalizeLabels(Object.entries(record).map(([name, value]) => ({ name, value })));
}

/** Converts a label set to a plain object. */
export function labelsToRecord(labels: Labels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of labels) out[l.name] = l.value;
  return out;
}

/** Value of the label `name`, or "" when absent (Prometheus semantics). */
export function getLabel(labels: Labels, name: string): string {
  for (const l of labels) if (l.name === name) return l.value;
  return "";
}

/**
 * Adds `extra` pairs to `labels`; on a name clash the pair from `extra` wins. This is how stores
 * attach external labels (StoreAPI contract: the external label wins).
 */
export function mergeLabels(labels: Labels, extra: Labels): Labels {
  if (extra.length === 0) return labels;
  const out: Label[] = [];
  let i = 0;
  let j = 0;
  while (i < labels.length || j < extra.length) {
    const a = labels[i];
    const b = extra[j];
    if (a === undefined) { out.push(b!); j++; continue; }
    if (b === undefined) { out.push(a); i++; continue; }
    const c = compareStrings(a.name, b.name);
    if (c < 0) { out.push(a); i++; }
    else if (c > 0) { out.push(b); j++; }
    else { out.push(b); i++; j++; }
  }
  return out;
}

/** Removes every label whose name is in `names` (replica-label stripping). */
export function withoutLabels(labels: Labels, names: ReadonlySet<string> | readonly string[]): Labels {
  const set = names instanceof Set ? names : new Set(names as readonly string[]);
  if (set.size === 0) return labels;
  return labels.filter((l) => !set.has(l.name));
}

function quoteLabelValue(v: string): string {
  return JSON.stringify(v);
}

/** Formats as Prometheus does: `name{a="1", b="2"}`, or `{...}` when there is no metric name. */
export function formatLabels(labels: Labels): string {
  let name = "";
  const parts: string[] = [];
  for (const l of labels) {
    if (l.name === METRIC_NAME) name = l.value;
    else parts.push(`${l.name}=${quoteLabelValue(l.value)}`);
  }
  if (parts.length === 0 && name !== "") return name;
  return `${name}{${parts.join(", ")}}`;
}
