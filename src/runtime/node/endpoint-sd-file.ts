/**
 * Watches `--endpoint.sd-config-file` and hands every valid new version to the endpoint set. The
 * parsing is the core's (`src/query/endpoint-config.ts`); this adapter owns the file system. Changes
 * are seen through fs.watch on the directory (atomic renames included) and a stat poll as backup.
 * An invalid edit is reported and the last good list stays in force.
 */
import { watch, watchFile, unwatchFile } from "node:fs";
import type { FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { parseEndpointSdConfig } from "../../query/endpoint-config.ts";
import type { EndpointSpec } from "../../query/endpoint-config.ts";

/** Options of {@link watchEndpointSdFile}. */
export interface EndpointSdWatchOptions {
  /** Stat poll interval in ms; default 1000. */
  pollIntervalMs?: number;
  /** Called when a changed file cannot be read or parsed. Default: console.error. */
  onError?: (err: Error) => void;
}

/** A running watch. */
export interface EndpointSdWatch {
  /** The list currently in force. */
  current(): EndpointSpec[];
  /** Re-reads the file now (also what the watchers call). */
  reload(): Promise<void>;
  close(): void;
}

/**
 * Reads `path` (throws naming the file if the first version is invalid), calls `onChange` with it,
 * then again for every later valid change.
 */
export async function watchEndpointSdFile(path: string, onChange: (specs: EndpointSpec[]) => void | Promise<void>, opts: EndpointSdWatchOptions = {}): Promise<EndpointSdWatch> {
  const onError = opts.onError ?? ((err: Error) => console.error(`endpoint SD file: ${err.message}`));
  let lastText = await readFile(path, "utf8");
  let specs = parseEndpointSdConfig(lastText, path);
  await onChange(specs);

  let chain: Promise<void> = Promise.resolve();
  let closed = false;
  const reload = (): Promise<void> => {
    chain = chain.then(async () => {
      if (closed) return;
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (err) {
        onError(new Error(`read ${path}: ${(err as Error).message}`));
        return;
      }
      if (text === lastText) return;
      // Remember even an invalid version, so one bad edit is reported once, not on every poll.
      lastText = text;
      try {
        const next = parseEndpointSdConfig(text, path);
        specs = next;
        await onChange(next);
      } catch (err) {
        onError(err as Error);
      }
    });
    return chain;
  };

  let dirWatcher: FSWatcher | undefined;
  try {
    const name = basename(path);
    dirWatcher = watch(dirname(path), (_event, file) => {
      if (file === null || file === name) void reload();
    });
    dirWatcher.on("error", () => undefined);
  } catch {
    // Some file systems cannot be watched; the stat poll below still sees changes.
  }
  const listener = (): void => void reload();
  watchFile(path, { interval: opts.pollIntervalMs ?? 1000, persistent: false }, listener);
  dirWatcher?.unref();

  return {
    current: () => specs,
    reload,
    close() {
      closed = true;
      dirWatcher?.close();
      unwatchFile(path, listener);
    },
  };
}
