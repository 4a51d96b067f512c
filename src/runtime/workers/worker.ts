/**
 * Cloudflare Workers entry of the querier (`wrangler.jsonc` `main`). Workers cannot compile
 * WebAssembly from bytes at run time, so the module is imported as a compiled `WebAssembly.Module`
 * (wrangler's default rule for `.wasm`); everything else is in {@link createWorkerHandler}.
 */
import meridianWasm from "../../../dist/wasm/meridian.wasm";
import { createWorkerHandler } from "./handler.ts";

export default createWorkerHandler({ wasmModule: meridianWasm });
