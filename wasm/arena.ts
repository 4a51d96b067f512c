// Scratch arena for the JS <-> WASM batch calls.
//
// Every kernel works on plain memory regions the JS side reserves here before a call (input bytes,
// tables, output arrays). Nothing is freed one by one: JS resets the arena at the start of a batch
// and bump-allocates what that batch needs, so a call costs no allocator work at all. Memory grows
// on demand; the JS side re-creates its typed-array views whenever `memory.buffer` changed.
// Kernels must not allocate managed objects (the stub runtime shares the same heap start).

let top: usize = 0;

/** Forgets every region handed out so far; the next allocation starts at the heap base again. */
export function scratchReset(): void {
  top = (__heap_base + 15) & ~(<usize>15);
}

/**
 * Reserves `bytes` bytes (16-byte aligned) and returns their address, growing linear memory if
 * needed. Returns 0 when memory cannot grow (the JS side turns that into an error).
 */
export function scratchAlloc(bytes: u32): usize {
  if (top == 0) scratchReset();
  const ptr = top;
  const end = (ptr + <usize>bytes + 15) & ~(<usize>15);
  if (end < ptr) return 0; // wrapped around 4 GiB
  const needPages = <i32>((end + 0xffff) >>> 16);
  const havePages = memory.size();
  if (needPages > havePages) {
    if (memory.grow(needPages - havePages) < 0) return 0;
  }
  top = end;
  return ptr;
}

/** Current end of the arena (for tests and memory accounting). */
export function scratchTop(): usize {
  return top;
}
