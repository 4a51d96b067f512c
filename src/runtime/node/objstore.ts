/**
 * Node entry for object storage: turns `--objstore.config-file` / `--objstore.config` into a
 * bucket, with local directories served by the filesystem adapter.
 */
import { readFile } from "node:fs/promises";
import type { Bucket } from "../../objstore/bucket.ts";
import { createBucketFromConfig, ObjstoreConfigError, parseObjstoreConfig, type ObjstoreConfig } from "../../objstore/config.ts";
import type { FlagValues } from "../flags.ts";
import { createFilesystemBucket } from "./filesystem-bucket.ts";

/** Reads the bucket config text from the flags; exactly one of the two flags must be set. */
export async function readObjstoreConfigText(flags: FlagValues): Promise<string> {
  const file = flags["objstore.config-file"];
  const inline = flags["objstore.config"];
  if (typeof file === "string" && file !== "" && typeof inline === "string" && inline !== "") {
    throw new ObjstoreConfigError("set only one of --objstore.config-file and --objstore.config");
  }
  if (typeof file === "string" && file !== "") {
    try {
      return await readFile(file, "utf8");
    } catch (err) {
      throw new ObjstoreConfigError(`--objstore.config-file: cannot read ${file}: ${(err as Error).message}`);
    }
  }
  if (typeof inline === "string" && inline !== "") return inline;
  throw new ObjstoreConfigError("no bucket configured: set --objstore.config-file or --objstore.config");
}

/**
 * Opens the configured bucket. Thanos fields that are accepted but have no effect here are reported
 * through `onWarning` (default: stderr) so operators know they are ignored.
 */
export async function openBucketFromFlags(flags: FlagValues, onWarning: (msg: string) => void = (m) => console.warn(m)): Promise<Bucket> {
  const config: ObjstoreConfig = parseObjstoreConfig(await readObjstoreConfigText(flags));
  if (config.ignored.length > 0) onWarning(`objstore config: ignoring unsupported ${config.type} fields: ${config.ignored.join(", ")}`);
  return createBucketFromConfig(config, { filesystem: createFilesystemBucket });
}
