/**
 * Go's `container/heap` and small-slice `sort.Sort` behaviour, reproduced so that `topk`,
 * `bottomk`, `sort` and `sort_desc` pick and order tied or NaN values exactly as Prometheus does
 * (its comparators are not strict weak orders when NaNs are involved, so the algorithm matters).
 */

/** A "less" function over two elements. */
export type Less<T> = (a: T, b: T) => boolean;

function up<T>(h: T[], j: number, less: Less<T>): void {
  for (;;) {
    const i = j > 0 ? Math.trunc((j - 1) / 2) : 0;
    if (i === j || !less(h[j]!, h[i]!)) break;
    [h[i], h[j]] = [h[j]!, h[i]!];
    j = i;
  }
}

function down<T>(h: T[], i0: number, n: number, less: Less<T>): boolean {
  let i = i0;
  for (;;) {
    const j1 = 2 * i + 1;
    if (j1 >= n) break;
    let j = j1;
    const j2 = j1 + 1;
    if (j2 < n && less(h[j2]!, h[j1]!)) j = j2;
    if (!less(h[j]!, h[i]!)) break;
    [h[i], h[j]] = [h[j]!, h[i]!];
    i = j;
  }
  return i > i0;
}

/** `heap.Push`. */
export function heapPush<T>(h: T[], x: T, less: Less<T>): void {
  h.push(x);
  up(h, h.length - 1, less);
}

/** `heap.Fix(h, i)`. */
export function heapFix<T>(h: T[], i: number, less: Less<T>): void {
  if (!down(h, i, h.length, less)) up(h, i, less);
}

/**
 * `sort.Sort(data)` with Go's algorithm choice for small inputs (insertion sort for ≤ 12 elements);
 * larger inputs use a stable merge sort with the same comparator (Go's pdqsort is unstable there,
 * so no exact order is promised by Prometheus either).
 */
export function goSort<T>(data: T[], less: Less<T>): T[] {
  if (data.length <= 12) {
    for (let i = 1; i < data.length; i++) {
      for (let j = i; j > 0 && less(data[j]!, data[j - 1]!); j--) {
        [data[j], data[j - 1]] = [data[j - 1]!, data[j]!];
      }
    }
    return data;
  }
  return data.sort((a, b) => (less(a, b) ? -1 : less(b, a) ? 1 : 0));
}

/** Prometheus' `vectorByValueHeap.Less`: NaN first, then ascending. */
export function byValueLess(a: number, b: number): boolean {
  if (a !== a) return true;
  return a < b;
}

/** Prometheus' `vectorByReverseValueHeap.Less`: NaN first, then descending. */
export function byReverseValueLess(a: number, b: number): boolean {
  if (a !== a) return true;
  return a > b;
}
