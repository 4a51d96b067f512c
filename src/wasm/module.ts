/**
 * Runtime-neutral loader and memory helpers for Meridian's WebAssembly module
 * (`dist/wasm/meridian.wasm`, built from `wasm/`). The core never reads files: each runtime adapter
 * hands over the compiled module or its bytes (Node reads the file, Workers import it as a compiled
 * module, Deno reads or fetches it) and the rest of the code receives a {@link MeridianWasm}.
 */

/** Raw exports of the module (see `wasm/*.ts` for the contracts). */
export interface MeridianExports {
  readonly memory: WebAssembly.Memory;
  scratchReset(): void;
  scratchAlloc(bytes: number): number;
  scratchTop(): number;
  readonly XOR_PADDING: WebAssembly.Global;
  xorDecodeBatch(
    input: number, inputLen: number, table: number, n: number, work: number, workCap: number,
    outT: number, outV: number, outCap: number, counts: number,
    filter: number, mint: number, maxt: number, err: number,
  ): number;
  readonly DEDUP_STATE_BYTES: WebAssembly.Global;
  dedupPenalty(inT: number, inV: number, bounds: number, k: number, state: number, outT: number, outV: number, counter: number): number;
  dedupChain(inT: number, inV: number, bounds: number, k: number, state: number, outT: number, outV: number): number;
  applyCounterResets(inT: number, inV: number, bounds: number, k: number): number;
  dedupGroups(
    inT: number, inV: number, bounds: number, groups: number, nGroups: number, state: number,
    outT: number, outV: number, outCounts: number, mode: number, counter: number, resets: number,
  ): number;
  readonly LAZY_STATE_BYTES: WebAssembly.Global;
  dedupLazyPairs(
    input: number, inputLen: number, table: number, times: number, groups: number, nGroups: number,
    work: number, workCap: number, scratch: number, scratchCap: number, state: number,
    outT: number, outV: number, outCounts: number, mint: number, maxt: number, counter: number, err: number,
  ): number;
}

/**
 * An instantiated module plus a bump "scratch" arena in its linear memory. A batch call resets the
 * arena, reserves its input/output regions with {@link MeridianWasm.alloc}, copies inputs in and
 * calls one kernel. Views returned by {@link MeridianWasm.f64} etc. are created on the current
 * `memory.buffer`, so they must be re-created after anything that may grow memory (any `alloc`).
 */
export interface MeridianWasm {
  readonly exports: MeridianExports;
  readonly memory: WebAssembly.Memory;
  /** Invalidates every region reserved so far (and every view onto them). */
  reset(): void;
  /** Reserves `bytes` bytes (16-byte aligned) in linear memory, growing it if needed. */
  alloc(bytes: number): number;
  /** Byte view of `[ptr, ptr+len)` on the current memory buffer. */
  u8(ptr: number, len: number): Uint8Array;
  /** Uint32 view of `count` elements at `ptr` (4-byte aligned). */
  u32(ptr: number, count: number): Uint32Array;
  /** Float64 view of `count` elements at `ptr` (8-byte aligned). */
  f64(ptr: number, count: number): Float64Array;
  /** Number of bytes of linear memory currently reserved by the arena (for memory accounting). */
  scratchBytes(): number;
}

/** Signals that linear memory could not grow to hold a batch. */
export class WasmMemoryError extends Error {
  constructor(bytes: number) {
    super(`wasm: cannot reserve ${bytes} bytes of linear memory`);
    this.name = "WasmMemoryError";
  }
}

const imports: WebAssembly.Imports = {
  env: {
    // AssemblyScript's abort hook; the release build uses noAssert, so this only fires on bugs.
    abort(_msg: number, _file: number, line: number, col: number): never {
      throw new Error(`wasm: abort at ${line}:${col}`);
    },
  },
};

/**
 * Instantiates the Meridian module from a compiled `WebAssembly.Module` (Workers, or any runtime
 * that precompiled it) or from the `.wasm` bytes (Node, Deno, browsers).
 */
export async function instantiateMeridianWasm(module: WebAssembly.Module | BufferSource): Promise<MeridianWasm> {
  const instance =
    module instanceof WebAssembly.Module
      ? await WebAssembly.instantiate(module, imports)
      : (await WebAssembly.instantiate(module, imports)).instance;
  return wrapInstance(instance);
}

/** Wraps an already created instance (for runtimes that instantiate themselves). */
export function wrapInstance(instance: WebAssembly.Instance): MeridianWasm {
  const exports = instance.exports as unknown as MeridianExports;
  const memory = exports.memory;
  const base = (() => {
    exports.scratchReset();
    return exports.scratchTop();
  })();
  return {
    exports,
    memory,
    reset: () => exports.scratchReset(),
    alloc(bytes: number): number {
      if (!(bytes >= 0 && bytes <= 0xffff_ffff)) throw new WasmMemoryError(bytes);
      const ptr = exports.scratchAlloc(bytes) >>> 0;
      if (ptr === 0) throw new WasmMemoryError(bytes);
      return ptr;
    },
    u8: (ptr, len) => new Uint8Array(memory.buffer, ptr, len),
    u32: (ptr, count) => new Uint32Array(memory.buffer, ptr, count),
    f64: (ptr, count) => new Float64Array(memory.buffer, ptr, count),
    scratchBytes: () => (exports.scratchTop() >>> 0) - base,
  };
}

let defaultWasm: MeridianWasm | undefined;

/**
 * Registers the process-wide module instance. Runtime adapters call this at start-up so code deep
 * in the stack (TSDB reader, querier) can decode without threading the instance through every call.
 */
export function setDefaultWasm(w: MeridianWasm): void {
  defaultWasm = w;
}

/** The instance registered with {@link setDefaultWasm}; throws when no runtime adapter loaded one. */
export function getDefaultWasm(): MeridianWasm {
  if (!defaultWasm) throw new Error("wasm: module not loaded (call loadWasm() / setDefaultWasm() at start-up)");
  return defaultWasm;
}
