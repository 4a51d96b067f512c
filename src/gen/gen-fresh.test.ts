/**
 * Guards the committed generated code: regenerates `src/gen` from `proto/` with the local buf and
 * protoc-gen-es into a temporary directory and fails when any file differs, is missing or is extra.
 * Why: a proto edit without `npm run gen` would silently ship stale wire code.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");
const genDir = join(root, "src/gen");
const binDir = join(root, "node_modules/.bin");

/** Lists generated files (`*_pb.ts`) under `dir`, relative to it. Tests and other files are ignored. */
function listGenerated(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith("_pb.ts")) out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

describe("generated protobuf code", () => {
  const tmp = mkdtempSync(join(tmpdir(), "meridian-gen-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("matches what buf generate produces from proto/", () => {
    try {
      // --output prefixes the template's `out: src/gen`, so the fresh copy lands in tmp/src/gen.
      execFileSync(join(binDir, "buf"), ["generate", "--output", tmp], {
        cwd: root,
        env: { ...process.env, PATH: `${binDir}${delimiter}${process.env.PATH ?? ""}` },
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (err) {
      const e = err as { stderr?: Buffer; message: string };
      throw new Error(`buf generate failed: ${e.stderr?.toString() || e.message}`);
    }
    const freshDir = join(tmp, "src/gen");
    const fresh = listGenerated(freshDir);
    const committed = listGenerated(genDir);
    const problems: string[] = [];
    for (const f of fresh) if (!committed.includes(f)) problems.push(`missing in src/gen: ${f}`);
    for (const f of committed) if (!fresh.includes(f)) problems.push(`extra in src/gen (no proto generates it): ${f}`);
    for (const f of fresh) {
      if (!committed.includes(f)) continue;
      if (readFileSync(join(freshDir, f), "utf8") !== readFileSync(join(genDir, f), "utf8")) {
        problems.push(`stale: src/gen/${f}`);
      }
    }
    expect(fresh.length).toBeGreaterThan(0);
    if (problems.length > 0) {
      throw new Error(`src/gen is out of date with proto/; run \`npm run gen\` and commit.\n${problems.join("\n")}`);
    }
  });
});
