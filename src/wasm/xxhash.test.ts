import { Xxh64 } from "@aws-sdk/checksums/xxh";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { loadWasm } from "../runtime/node/load-wasm.ts";
import type { MeridianWasm } from "./module.ts";
import { xxhash64Batch, xxhash64Wasm } from "./xxhash.ts";

const enc = new TextEncoder();
let wasm: MeridianWasm;

beforeAll(async () => {
  wasm = await loadWasm();
});

async function reference(data: Uint8Array): Promise<bigint> {
  const h = new Xxh64();
  h.update(data);
  let v = 0n;
  for (const b of await h.digest()) v = (v << 8n) | BigInt(b);
  return v;
}

describe("xxhash64 (wasm)", () => {
  it("matches the published XXH64 test vectors (seed 0)", () => {
    expect(xxhash64Wasm(wasm, new Uint8Array(0))).toBe(0xef46db3751d8e999n);
    expect(xxhash64Wasm(wasm, enc.encode("a"))).toBe(0xd24ec4f1a98c6e5bn);
    expect(xxhash64Wasm(wasm, enc.encode("abc"))).toBe(0x44bc2cf5ad770999n);
    expect(xxhash64Wasm(wasm, enc.encode("Nobody inspects the spammish repetition"))).toBe(0xfbcea83c8a378bf1n);
  });

  it("hashes every range of a batch like an independent implementation (all length classes, unaligned views)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.nat(7)), { maxLength: 20 }), async (items) => {
        // Views at odd offsets into larger buffers, as chunk bytes inside a range read are.
        const views = items.map(([d, off]) => {
          const buf = new Uint8Array(d.length + off + 3);
          buf.set(d, off);
          return buf.subarray(off, off + d.length);
        });
        const got = xxhash64Batch(wasm, views);
        expect(got.length).toBe(views.length);
        for (let i = 0; i < views.length; i++) expect(got[i]).toBe(await reference(views[i]!));
      }),
      { numRuns: 300 },
    );
  });

  it("returns owned results that later calls do not overwrite, and handles batches larger than memory", async () => {
    const big = new Uint8Array(4 * 1024 * 1024).map((_, i) => (i * 2654435761) >>> 24);
    const first = xxhash64Batch(wasm, [enc.encode("abc"), big.subarray(1)]);
    const second = xxhash64Batch(wasm, [enc.encode("a")]);
    expect(first[0]).toBe(0x44bc2cf5ad770999n);
    expect(first[1]).toBe(await reference(big.subarray(1)));
    expect(second[0]).toBe(0xd24ec4f1a98c6e5bn);
    expect(xxhash64Batch(wasm, []).length).toBe(0);
  });
});
