import { describe, expect, it } from "vitest";
import { compareStrings } from "../model/labels.ts";
import { createMemoryReader } from "./byte-range-reader.ts";
import { crc32c } from "./crc32c.ts";
import { CorruptionError } from "./errors.ts";
import { scanPostingsTable } from "./postings-offset-table.ts";
import { SectionStream } from "./section-stream.ts";
import { SYMBOL_FACTOR, scanSymbols } from "./symbols.ts";

const enc = new TextEncoder();

function uvarint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}
function str(out: number[], s: string | number[]): void {
  const b = typeof s === "string" ? [...enc.encode(s)] : s;
  uvarint(out, b.length);
  for (const x of b) out.push(x);
}
const be32 = (v: number): number[] => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

/** A file with `pad` junk bytes, then `len | count | body | CRC32C(count | body)`. */
function section(count: number, body: number[], pad = 3): Uint8Array {
  const content = [...be32(count), ...body];
  const crc = crc32c(Uint8Array.from(content));
  return Uint8Array.from([...new Array<number>(pad).fill(7), ...be32(content.length), ...content, ...be32(crc)]);
}

/** Sorted distinct strings; long enough together (> 1 MiB) to span several section fetches. */
function symbols(n: number): string[] {
  const out = new Set<string>();
  for (let i = 0; out.size < n; i++) out.add(`${(i * 7919) % 100_003}-${"v".repeat(i % 41)}${i % 97 === 0 ? "é€😀" : ""}`);
  return [...out].sort(compareStrings);
}

async function corruptionOf(p: Promise<unknown>): Promise<CorruptionError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(CorruptionError);
  return err as CorruptionError;
}

describe("SectionStream.forEach", () => {
  it("re-parses items cut by a fetch boundary and checksums every byte, at any chunk size", async () => {
    const strings = symbols(700);
    const body: number[] = [];
    for (const s of strings) str(body, s);
    const file = section(0, body, 2);
    for (const chunk of [1, 2, 5, 64, 1000, 1 << 20]) {
      // The stream covers `count | body` as scanSymbols' does; here the count is skipped first.
      const st = new SectionStream(createMemoryReader("f", file), "sec", 6, 6 + 4 + body.length, 6, chunk);
      expect(await st.next((d) => d.be32())).toBe(0);
      const got: string[] = [];
      await st.forEach(strings.length, (d) => {
        got.push(d.string());
      });
      await st.finish();
      expect(got).toEqual(strings);
    }
  });

  it("reports a CRC mismatch and a truncated item as corruption", async () => {
    const body: number[] = [];
    for (const s of symbols(50)) str(body, s);
    const file = section(0, body, 0);
    const bad = file.slice();
    bad[40]! ^= 1;
    const st = new SectionStream(createMemoryReader("f", bad), "sec", 4, 8 + body.length, 4, 16);
    await st.next((d) => d.be32());
    await st.forEach(50, (d) => void d.string());
    expect((await corruptionOf(st.finish())).message).toMatch(/f: corrupt sec at offset 4: CRC32C mismatch/);
    const short = new SectionStream(createMemoryReader("f", file), "sec", 4, 8 + body.length - 1, 4, 16);
    await short.next((d) => d.be32());
    expect((await corruptionOf(short.forEach(50, (d) => void d.string()))).message).toMatch(/unexpected end of data/);
  });
});

describe("scanSymbols", () => {
  it("samples every 32nd symbol of a multi-fetch table with its offset", async () => {
    const syms = symbols(60_000);
    const body: number[] = [];
    const offsets: number[] = [];
    syms.forEach((s, i) => {
      if (i % SYMBOL_FACTOR === 0) offsets.push(body.length);
      str(body, s);
    });
    expect(body.length).toBeGreaterThan(1 << 20);
    const got = await scanSymbols(createMemoryReader("idx", section(syms.length, body)), 3);
    expect(got.count).toBe(syms.length);
    expect(got.dataLength).toBe(body.length);
    expect(got.offsets).toEqual(offsets);
    expect(got.firsts).toEqual(syms.filter((_, i) => i % SYMBOL_FACTOR === 0));
    expect(got.resident).toBeUndefined();
    const small = await scanSymbols(createMemoryReader("idx", section(syms.length, body)), 3, syms.length);
    expect(small.resident).toEqual(syms);
  });

  it("rejects unsorted or duplicate symbols and invalid UTF-8 at the symbol's offset", async () => {
    const cases: [(string | number[])[], RegExp, number][] = [
      [["a", "c", "b"], /symbol 2 "b" not sorted after "c"/, 4],
      [["a", "b", "b"], /symbol 2 "b" not sorted after "b"/, 4],
      [["a", [0xc3, 0x28], "z"], /invalid UTF-8/, 2],
    ];
    for (const [list, msg, at] of cases) {
      const body: number[] = [];
      for (const s of list) str(body, s);
      const err = await corruptionOf(scanSymbols(createMemoryReader("idx", section(list.length, body, 0)), 0));
      expect(err.message).toMatch(msg);
      expect([err.file, err.section, err.offset]).toEqual(["idx", "symbols", 8 + at]);
    }
  });
});

describe("scanPostingsTable", () => {
  type E = [string, string, number];
  function table(entries: E[], pad = 3): Uint8Array {
    const body: number[] = [];
    for (const [n, v, p] of entries) {
      uvarint(body, 2);
      str(body, n);
      str(body, v);
      uvarint(body, p);
    }
    return section(entries.length, body, pad);
  }

  it("keeps every n-th value per name plus the last, with entry and postings offsets", async () => {
    const entries: E[] = [["", "", 8]];
    let p = 100;
    const names = ["__name__", "instance", "job", "zone"];
    const values = symbols(40_000);
    names.forEach((n, k) => {
      const count = [1, 30_000, 33, 64][k]!;
      for (const v of values.slice(0, count)) entries.push([n, v, (p += 1 + (v.length % 50))]);
    });
    const file = table(entries);
    expect(file.length).toBeGreaterThan(1 << 20);
    const postingsEnd = p + 10;
    for (const sampling of [1, 32]) {
      const got = await scanPostingsTable(createMemoryReader("idx", file), 3, postingsEnd, sampling);
      expect(got.count).toBe(entries.length);
      expect(got.entriesLength).toBe(file.length - 3 - 12);
      // Reference: entry offsets from re-encoding, grouped by name.
      const rel: number[] = [];
      let off = 0;
      for (const [n, v, q] of entries) {
        rel.push(off);
        const b: number[] = [];
        uvarint(b, 2);
        str(b, n);
        str(b, v);
        uvarint(b, q);
        off += b.length;
      }
      const want = ["", ...names].map((name) => {
        const idx = entries.flatMap((e, i) => (e[0] === name ? [i] : []));
        const keep = idx.filter((_, j) => j % sampling === 0 || j === idx.length - 1);
        const after = idx[idx.length - 1]! + 1;
        return {
          name,
          count: idx.length,
          start: rel[idx[0]!]!,
          end: after < entries.length ? rel[after]! : off,
          values: keep.map((i) => entries[i]![1]),
          entryOffsets: keep.map((i) => rel[i]!),
          postingsOffsets: keep.map((i) => entries[i]![2]),
          nextPostingsOffset: after < entries.length ? entries[after]![2] : postingsEnd,
        };
      });
      expect(got.names).toEqual(want);
    }
  });

  it("rejects out-of-order entries, non-increasing postings offsets and invalid UTF-8", async () => {
    const cases: [E[] | ((b: number[]) => void), RegExp][] = [
      [[["a", "1", 10], ["a", "0", 20]], /entry "a"="0" not sorted after "a"="1"/],
      [[["b", "1", 10], ["a", "2", 20]], /entry "a"="2" not sorted after "b"="1"/],
      [[["a", "1", 10], ["a", "1", 20]], /entry "a"="1" not sorted after "a"="1"/],
      [[["a", "1", 10], ["a", "2", 10]], /postings offset 10 not after previous 10/],
      [[["a", "1", 10], ["b", "2", 99]], /postings offset 99 beyond end of postings 50/],
    ];
    for (const [entries, msg] of cases) {
      const err = await corruptionOf(scanPostingsTable(createMemoryReader("idx", table(entries as E[], 0)), 0, 50));
      expect(err.message).toMatch(msg);
      expect([err.file, err.section]).toEqual(["idx", "postings offset table"]);
      expect(err.offset).toBeGreaterThan(8);
    }
    // Invalid UTF-8 in a value, at the value's length byte.
    const body: number[] = [2];
    str(body, "a");
    str(body, [0xed, 0xa0, 0x80]);
    uvarint(body, 10);
    const err = await corruptionOf(scanPostingsTable(createMemoryReader("idx", section(1, body, 0)), 0, 50));
    expect(err.message).toMatch(/invalid UTF-8/);
    expect(err.offset).toBe(8 + 3);
  });
});
