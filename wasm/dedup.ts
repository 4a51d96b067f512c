// Penalty-based HA deduplication kernel. See src/wasm/ for the JS side.
export function dedupPlaceholder(): i32 { return 0; }
