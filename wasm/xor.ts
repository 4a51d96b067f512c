// XOR (Gorilla) chunk decoding kernel. See src/wasm/ for the JS side.
export function xorPlaceholder(): i32 { return 0; }
