// Entry of the Meridian WebAssembly module: one module, one linear memory, several kernels.
// The JS side (src/wasm/) reserves regions through the scratch arena and calls the batch kernels.
export * from "./arena";
export * from "./xor";
export * from "./dedup";
export * from "./dedup-lazy";
export * from "./xxhash";
export * from "./crc32c";
