// Entry of the Meridian WebAssembly module: one module, one linear memory, several kernels.
// The JS side (src/wasm/) reserves regions through the scratch arena and calls the batch kernels.
// Only kernels and the constants JS needs are re-exported: helper modules (dedup-tree-state,
// dedup-lazy-cursor, ...) export internals that must not become module exports.
export * from "./arena";
export * from "./xor";
export { DEDUP_INITIAL_PENALTY } from "./dedup-penalty-rules";
export { DEDUP_STATE_BYTES } from "./dedup-tree-state";
export { dedupPenalty } from "./dedup-tree";
export { dedupChain } from "./dedup-chain";
export { applyCounterResets } from "./dedup-counter-resets";
export * from "./dedup";
export { LAZY_STATE_BYTES, dedupLazyPairs } from "./dedup-lazy";
export * from "./xxhash";
export * from "./crc32c";
