/**
 * The same dist/wasm/meridian.wasm and the same runtime-neutral glue (src/wasm/) must work on Deno
 * and on Cloudflare Workers (workerd through Miniflare), not only on Node. Each test runs a real
 * runtime that decodes real fixture chunks and hands the samples back for a bit-exact comparison.
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { Miniflare } from "miniflare";
import { rolldown } from "rolldown";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFixtureChunks, type FixtureChunk } from "../../test/fixtures/blocks/fixture-chunks.ts";
import { packageRoot, wasmPath } from "../runtime/node/load-wasm.ts";

const run = promisify(execFile);
const root = packageRoot();
const srcUrl = (p: string) => pathToFileURL(join(root, "src", "wasm", p)).href;

let dir: string;
let chunks: FixtureChunk[];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "meridian-wasm-runtimes-"));
  // A few chunks with stale markers, NaNs and many samples.
  const all = loadFixtureChunks("prometheus-2.42-scraped");
  chunks = [
    all.find((c) => c.samples.some(([, h]) => h === "7ff0000000000002"))!,
    all.find((c) => c.samples.some(([, h]) => h === "7ff8000000000001"))!,
    ...all.slice(0, 20),
  ];
  writeFileSync(join(dir, "chunks.bin"), frame(chunks.map((c) => c.data)));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// chunks as [u32 length LE, bytes]* so each runtime can split them without a parser.
function frame(list: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(list.reduce((n, c) => n + 4 + c.length, 0));
  const dv = new DataView(out.buffer);
  let p = 0;
  for (const c of list) {
    dv.setUint32(p, c.length, true);
    out.set(c, p + 4);
    p += 4 + c.length;
  }
  return out;
}

// Shared by both runtimes: split the framed chunks, decode, reply {t, v(hex bits), counts}.
const decodeSource = `
function unframe(buf) {
  const out = []; const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let p = 0; p < buf.length; ) { const n = dv.getUint32(p, true); out.push(buf.subarray(p + 4, p + 4 + n)); p += 4 + n; }
  return out;
}
function decodeAll(wasm, buf) {
  const r = decodeXorChunks(wasm, unframe(buf));
  const w = new Uint32Array(r.v.buffer, r.v.byteOffset, r.total * 2);
  const v = [];
  for (let i = 0; i < r.total; i++) v.push(w[2 * i + 1].toString(16).padStart(8, "0") + w[2 * i].toString(16).padStart(8, "0"));
  return { t: Array.from(r.t), v, counts: Array.from(r.counts) };
}`;

function expectSamples(got: { t: number[]; v: string[]; counts: number[] }): void {
  expect(got.counts).toEqual(chunks.map((c) => c.samples.length));
  const want = chunks.flatMap((c) => c.samples);
  expect(got.t).toEqual(want.map(([t]) => t));
  expect(got.v).toEqual(want.map(([, h]) => h));
}

describe("the WASM module on other runtimes", () => {
  it("decodes fixture chunks bit for bit on Deno", async () => {
    const script = join(dir, "deno-decode.ts");
    writeFileSync(
      script,
      `import { instantiateMeridianWasm } from ${JSON.stringify(srcUrl("module.ts"))};
import { decodeXorChunks } from ${JSON.stringify(srcUrl("xor.ts"))};
${decodeSource}
const wasm = await instantiateMeridianWasm(await Deno.readFile(Deno.args[0]));
console.log(JSON.stringify(decodeAll(wasm, await Deno.readFile(Deno.args[1]))));
`,
    );
    const deno = join(root, "node_modules", ".bin", "deno");
    const { stdout } = await run(deno, ["run", "--no-config", "--allow-read", script, wasmPath(), join(dir, "chunks.bin")], {
      cwd: dir,
      env: { ...process.env, DENO_DIR: join(dir, "deno-dir"), NO_COLOR: "1" },
      maxBuffer: 64 << 20,
    });
    expectSamples(JSON.parse(stdout));
  });

  it("decodes fixture chunks bit for bit on Workers (workerd, wasm imported as a compiled module)", async () => {
    const entry = join(dir, "worker-entry.ts");
    writeFileSync(
      entry,
      `import { instantiateMeridianWasm } from ${JSON.stringify(srcUrl("module.ts"))};
import { decodeXorChunks } from ${JSON.stringify(srcUrl("xor.ts"))};
import meridianWasm from "./meridian.wasm";
${decodeSource}
export default {
  async fetch(request) {
    if (!(meridianWasm instanceof WebAssembly.Module)) return new Response("not a compiled module", { status: 500 });
    const wasm = await instantiateMeridianWasm(meridianWasm);
    return Response.json(decodeAll(wasm, new Uint8Array(await request.arrayBuffer())));
  },
};
`,
    );
    const bundle = await rolldown({ input: entry, platform: "browser", external: [/\.wasm$/], logLevel: "silent" });
    await bundle.write({ file: join(dir, "worker.mjs"), format: "esm" });
    await bundle.close();
    copyFileSync(wasmPath(), join(dir, "meridian.wasm"));
    const mf = new Miniflare({
      modules: true,
      scriptPath: join(dir, "worker.mjs"),
      modulesRoot: dir,
      modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
      compatibilityDate: "2025-01-01",
    });
    try {
      const res = await mf.dispatchFetch("http://localhost/decode", { method: "POST", body: readFileSync(join(dir, "chunks.bin")) });
      expect(res.status).toBe(200);
      expectSamples((await res.json()) as { t: number[]; v: string[]; counts: number[] });
    } finally {
      await mf.dispose();
    }
  });
});
