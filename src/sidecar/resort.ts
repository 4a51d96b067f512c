/**
 * Re-sorting of the sidecar's Series stream with as little buffering as the sort contract allows.
 *
 * Prometheus sends series sorted by their *stored* labels S. The sidecar sends O = S with the
 * external labels overlaid (external wins) and the `without_replica_labels` removed, and O must
 * be sorted (StoreAPI contract 10.1). Removing or inserting labels can reorder series, so Thanos
 * buffers the whole answer. We buffer less, using this fact: let x = the smallest label name that
 * is removed from or inserted into S (external label names ∪ replica labels), and q(S) = the
 * leading labels of S whose names sort before x. Those labels are untouched, so every later
 * series S' ≥ S yields O' that starts with q(S) or sorts above every set starting with q(S) —
 * provided at least one external label is inserted (O' never ends inside q(S)). Hence all pending
 * series with O < q(S) can be sent now. Typically that releases a metric's series as soon as the
 * next metric name (or next value of a leading label) arrives; when stored labels all sort before
 * x, each series is released as soon as the next one arrives. With no label inserted we fall back
 * to buffering everything, as Thanos does.
 */
import { compareLabels, compareStrings, mergeLabels, withoutLabels, type Label, type Labels } from "../model/labels.ts";

/** A series waiting to be emitted, with its caller-defined payload (chunks). */
export interface PendingSeries<T> {
  readonly labels: Labels;
  readonly items: T[];
}

/** Incremental re-sorter; see the module comment for the rule. */
export interface Resorter<T> {
  /** The output labels for stored labels `stored` (external overlaid, replica labels removed). */
  outputLabels(stored: Labels): Labels;
  /**
   * Adds one frame's worth of data for stored labels `stored` (frames of one series arrive
   * consecutively and are merged); takes ownership of `items`. Returns the series that are now
   * safe to send, in order, in an array that is reused by the next call.
   */
  push(stored: Labels, items: T[]): readonly PendingSeries<T>[];
  /** The stream ended: everything still pending, sorted. */
  finish(): PendingSeries<T>[];
  /** Series currently held back (for metrics and tests). */
  readonly pending: number;
}

/**
 * Creates a re-sorter for a sidecar with `externalLabels` that must strip `replicaLabels`.
 */
export function createResorter<T>(externalLabels: Labels, replicaLabels: ReadonlySet<string>): Resorter<T> {
  const kept = withoutLabels(externalLabels, replicaLabels);
  const touched = [...externalLabels.map((l) => l.name), ...replicaLabels].sort(compareStrings);
  const firstTouched = touched[0];
  const streamable = kept.length > 0 && firstTouched !== undefined;
  const heap = createHeap<Entry<T>>((a, b) => compareLabels(a.labels, b.labels) || a.seq - b.seq);
  let last: Entry<T> | undefined;
  let lastStored: Labels | undefined;
  let seq = 0;
  const released: PendingSeries<T>[] = [];

  // Prometheus' remote read already merges the external labels into every series (its own stored
  // labels win on a name clash): when they are all there with our values, only replica labels
  // can change the set, and with none to strip the stored set is the output as it is.
  function hasExternal(stored: Labels): boolean {
    for (let e = 0; e < externalLabels.length; e++) {
      const { name, value } = externalLabels[e]!;
      let i = stored.length - 1;
      while (i >= 0 && stored[i]!.name !== name) i--;
      if (i < 0 || stored[i]!.value !== value) return false;
    }
    return true;
  }

  function outputLabels(stored: Labels): Labels {
    if (hasExternal(stored)) return replicaLabels.size === 0 ? stored : withoutLabels(stored, replicaLabels);
    return withoutLabels(mergeLabels(stored, externalLabels), replicaLabels);
  }

  function safePrefix(stored: Labels): Labels {
    let n = 0;
    while (n < stored.length && compareStrings(stored[n]!.name, firstTouched!) < 0) n++;
    return n === stored.length ? stored : stored.slice(0, n);
  }

  return {
    outputLabels,
    get pending() {
      return heap.size;
    },
    push(stored, items) {
      released.length = 0;
      if (last && lastStored && sameLabels(lastStored, stored)) {
        for (const it of items) last.items.push(it);
        return released;
      }
      last = { labels: outputLabels(stored), items, seq: seq++ };
      lastStored = stored;
      heap.push(last);
      if (!streamable) return released;
      const bound = safePrefix(stored);
      while (heap.size > 0 && compareLabels(heap.peek()!.labels, bound) < 0) released.push(heap.pop()!);
      return released;
    },
    finish() {
      const out: PendingSeries<T>[] = [];
      while (heap.size > 0) {
        const e = heap.pop()!;
        out.push({ labels: e.labels, items: e.items });
      }
      last = undefined;
      lastStored = undefined;
      return out;
    },
  };
}

interface Entry<T> {
  readonly labels: Labels;
  readonly items: T[];
  readonly seq: number;
}

function sameLabels(a: readonly Label[], b: readonly Label[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.name !== b[i]!.name || a[i]!.value !== b[i]!.value) return false;
  return true;
}

interface Heap<T> {
  readonly size: number;
  push(x: T): void;
  peek(): T | undefined;
  pop(): T | undefined;
}

/** Binary min-heap. */
function createHeap<T>(less: (a: T, b: T) => number): Heap<T> {
  const a: T[] = [];
  return {
    get size() {
      return a.length;
    },
    push(x) {
      a.push(x);
      let i = a.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (less(a[i]!, a[p]!) >= 0) break;
        [a[i], a[p]] = [a[p]!, a[i]!];
        i = p;
      }
    },
    peek() {
      return a[0];
    },
    pop() {
      if (a.length === 0) return undefined;
      const top = a[0]!;
      const end = a.pop()!;
      if (a.length > 0) {
        a[0] = end;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < a.length && less(a[l]!, a[m]!) < 0) m = l;
          if (r < a.length && less(a[r]!, a[m]!) < 0) m = r;
          if (m === i) break;
          [a[i], a[m]] = [a[m]!, a[i]!];
          i = m;
        }
      }
      return top;
    },
  };
}
