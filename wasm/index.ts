// Entry of the Meridian WebAssembly module: one module, one linear memory, several kernels.
export * from "./xor";
export * from "./dedup";
