/**
 * Writer → reader round trip: blocks written by `writeBlock` are opened with Meridian's TSDB reader
 * (`openBlock`, index and chunk readers, CRCs checked) and decoded by the WASM XOR kernel; every
 * label and every value bit must come back. Random inputs via fast-check.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { compareLabels, formatLabels, labelsFromRecord } from "../model/labels.ts";
import type { FloatSeries } from "../model/series.ts";
import { loadWasm } from "../runtime/node/load-wasm.ts";
import type { MeridianWasm } from "../wasm/module.ts";
import { decodeXorChunksToSeries } from "../wasm/xor.ts";
import { openBlock, readSeries } from "./block.ts";
import { writeBlock, type BlockWriterOptions } from "./block-writer.ts";
import { createMemoryReader } from "./byte-range-reader.ts";

let wasm: MeridianWasm;
beforeAll(async () => {
  wasm = await loadWasm();
});

function words(v: Float64Array): Uint32Array {
  return new Uint32Array(v.buffer, v.byteOffset, v.length * 2);
}

async function roundTrip(input: FloatSeries[], opts: BlockWriterOptions = {}): Promise<void> {
  const written = writeBlock(input, opts);
  const block = await openBlock((rel) => {
    const bytes = written.files.get(rel);
    return bytes ? createMemoryReader(`${written.ulid}/${rel}`, bytes) : null;
  });
  expect(block.meta).toEqual(written.meta);
  const got = await readSeries(block, [], -(2 ** 53), 2 ** 53);
  const want = [...input].filter((s) => s.t.length > 0).sort((a, b) => compareLabels(a.labels, b.labels));
  expect(got.map((s) => formatLabels(s.labels))).toEqual(want.map((s) => formatLabels(s.labels)));
  const names = [...new Set(want.flatMap((s) => s.labels.map((l) => l.name)))].sort();
  expect(await block.index.labelNames()).toEqual(names);
  for (let i = 0; i < want.length; i++) {
    const chunks = got[i]!.chunks;
    for (const c of chunks) expect(c.encoding).toBe(1);
    const d = decodeXorChunksToSeries(wasm, chunks.map((c) => c.data));
    expect([...d.t]).toEqual([...want[i]!.t]);
    expect([...words(d.v)]).toEqual([...words(want[i]!.v)]);
    // Chunk metas match the samples they hold.
    let k = 0;
    for (const c of chunks) {
      const n = (c.data[0]! << 8) | c.data[1]!;
      expect(c.mint).toBe(want[i]!.t[k]);
      expect(c.maxt).toBe(want[i]!.t[k + n - 1]);
      k += n;
    }
  }
}

const labelValue = fc.oneof(
  fc.constantFrom("a", "b", "prod", "eu-west-1", "é", "✓", 'q"uote', "back\\slash", "{x=\"y\"}", "long-" + "x".repeat(300)),
  fc.string({ minLength: 1, maxLength: 12 }),
);
const labelsArb = fc
  .record({
    name: fc.constantFrom("up", "http_requests_total", "node_cpu_seconds_total", "x"),
    extra: fc.dictionary(fc.constantFrom("job", "instance", "le", "zone", "a_b", "ünicode"), labelValue, { maxKeys: 4 }),
  })
  .map(({ name, extra }) => labelsFromRecord({ ...extra, __name__: name }));
const valueBits = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })),
  fc.constantFrom<[number, number]>([0x7ff00000, 2], [0x7ff80000, 1], [0x7ff00000, 0], [0xfff00000, 0], [0x80000000, 0], [0, 1], [0x3ff00000, 0]),
);
const samplesArb = fc
  .tuple(
    fc.integer({ min: -(2 ** 44), max: 2 ** 44 }),
    fc.array(fc.tuple(fc.oneof(fc.constant(15_000), fc.integer({ min: 1, max: 30_000 }), fc.integer({ min: 1, max: 2 ** 36 })), valueBits), {
      minLength: 0,
      maxLength: 700,
    }),
  )
  .map(([t0, steps]) => {
    const t = new Float64Array(steps.length);
    const v = new Float64Array(steps.length);
    const w = words(v);
    let ts = t0;
    steps.forEach(([d, [hi, lo]], i) => {
      if (i > 0) ts += d;
      t[i] = ts;
      w[2 * i + 1] = hi;
      w[2 * i] = lo;
    });
    return { t, v };
  });

describe("block writer → Meridian reader → WASM decoder", () => {
  it("round-trips a realistic block", async () => {
    const t = Float64Array.from({ length: 2000 }, (_, i) => 1_700_000_000_000 + i * 15_000 + (i % 7) * 13);
    const mk = (rec: Record<string, string>, f: (i: number) => number): FloatSeries => ({
      labels: labelsFromRecord(rec),
      t,
      v: Float64Array.from({ length: t.length }, (_, i) => f(i)),
    });
    await roundTrip([
      mk({ __name__: "up", job: "a" }, () => 1),
      mk({ __name__: "temp", job: "a" }, (i) => Math.sin(i / 50) * 20),
      mk({ __name__: "reqs_total", job: "b", code: "500" }, (i) => i * 3),
    ]);
  });

  it("round-trips random series (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.tuple(labelsArb, samplesArb), { minLength: 1, maxLength: 12, selector: ([l]) => formatLabels(l) }),
        fc.constantFrom<BlockWriterOptions>({}, { chunking: { mode: "fixed" } }, { chunking: { chunkRange: 60_000 } }, { segmentSize: 2048 }),
        async (pairs, opts) => {
          const input = pairs.map(([labels, s]) => ({ labels, ...s }));
          fc.pre(input.some((s) => s.t.length > 0));
          await roundTrip(input, opts);
        },
      ),
      { numRuns: 60 },
    );
  });
});
