// Entry of the Meridian WebAssembly module: re-exports the hot-path kernels.
export function version(): i32 {
  return 1;
}
