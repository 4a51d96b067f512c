/**
 * Workers (wrangler, Miniflare `CompiledWasm` rule) turn a `.wasm` import into a compiled
 * `WebAssembly.Module`; this tells TypeScript so.
 */
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
