/** Helpers shared by benchmarks: the `bench:` line format and memory sampling. */
import process from "node:process";

/** Prints one figure as `bench: <name> <value> <unit>`. */
export function report(name: string, value: number, unit: string): void {
  const text = Number.isInteger(value) ? String(value) : value.toPrecision(6);
  console.log(`bench: ${name} ${text} ${unit}`);
}

/** Samples resident memory every few ms while `fn` runs; resolves with fn's result and the peak RSS. */
export async function withPeakRss<T>(fn: () => Promise<T> | T): Promise<{ result: T; peakRss: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, peakRss: peak };
  } finally {
    clearInterval(timer);
  }
}
