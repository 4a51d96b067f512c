/**
 * The HTTP side of remote read: the {@link HttpPost} seam through which the POST is sent (fetch by
 * default, a runtime's own client when injected) and small helpers for reading response bodies.
 */
import { concatBytes } from "../model/bytes.ts";

/** The parts of an HTTP response remote read needs; `body` is read once. */
export interface HttpPostResponse {
  readonly status: number;
  /** A response header (case-insensitive name), or null. */
  header(name: string): string | null;
  readonly body: AsyncIterable<Uint8Array>;
  /**
   * Each body piece is valid only until the next one is asked for (the client reuses its read
   * buffer); consumers that keep bytes copy them (the frame readers in decoded-frames.ts always do).
   */
  readonly transient?: boolean;
  /** Stops the download (the body is not read to the end). */
  cancel(): void;
}

/**
 * Sends a POST with `body` and `headers`, resolving once the response headers arrived. The default
 * is built on `fetch`; the Node runner injects one on `node:http`, whose body reads cost a fraction
 * of undici's Web streams at remote-read volumes.
 */
export type HttpPost = (url: string, body: Uint8Array, headers: Record<string, string>, signal?: AbortSignal) => Promise<HttpPostResponse>;

/** An {@link HttpPost} on a fetch function. */
export function createFetchPost(fetchFn: typeof fetch = (input, init) => fetch(input, init)): HttpPost {
  return async (url, body, headers, signal) => {
    const res = await fetchFn(url, { method: "POST", body: body as Uint8Array<ArrayBuffer>, headers, signal });
    const stream = res.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    return {
      status: res.status,
      header: (name) => res.headers.get(name),
      body: readableToIterable(stream),
      cancel: () => void stream.cancel().catch(() => {}),
    };
  };
}

/** Iterates a ReadableStream (not every runtime's ReadableStream is async-iterable); cancels it when left early. */
export async function* readableToIterable(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let done = false;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) {
        done = true;
        return;
      }
      yield r.value;
    }
  } finally {
    if (!done) reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** Reads a whole body into one array; copies transient pieces (see {@link HttpPostResponse.transient}). */
export async function readAll(body: AsyncIterable<Uint8Array>, transient = false): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const p of body) {
    parts.push(transient ? p.slice() : p);
    total += p.length;
  }
  return concatBytes(parts, total);
}

/** Reads a whole body as UTF-8 text (error messages of failed requests). */
export async function readText(body: AsyncIterable<Uint8Array>, transient?: boolean): Promise<string> {
  return new TextDecoder().decode(await readAll(body, transient));
}
