/**
 * Node adapter: reads `dist/wasm/meridian.wasm` from the package root and instantiates it once per
 * process. The package root is found by walking up from this file to the `package.json` named
 * `meridian`, so it works both from the TypeScript sources (tests) and from `dist/` (CLI).
 */
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { instantiateMeridianWasm, setDefaultWasm, type MeridianWasm } from "../../wasm/module.ts";

let loading: Promise<MeridianWasm> | undefined;

/** Directory holding Meridian's package.json, found by walking up from this module. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, "package.json");
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, "utf8")) as { name?: string }).name === "meridian") return dir;
      } catch {
        // not a readable package.json: keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error("wasm: cannot find the meridian package root (package.json)");
    dir = up;
  }
}

/** Absolute path of the built module. */
export function wasmPath(): string {
  return join(packageRoot(), "dist", "wasm", "meridian.wasm");
}

/**
 * Loads and instantiates the module (memoized) and registers it as the default instance. Fails
 * with a hint to run `npm run build:wasm` when the file is missing.
 */
export function loadWasm(): Promise<MeridianWasm> {
  loading ??= (async () => {
    const path = wasmPath();
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (err) {
      throw new Error(`wasm: cannot read ${path} (run \`npm run build:wasm\`): ${(err as Error).message}`);
    }
    const w = await instantiateMeridianWasm(bytes);
    setDefaultWasm(w);
    return w;
  })();
  loading.catch(() => {
    loading = undefined; // allow a retry after building
  });
  return loading;
}
