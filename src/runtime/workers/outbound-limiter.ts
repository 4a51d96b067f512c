/**
 * Caps simultaneous outbound connections of a Worker (Cloudflare allows 6 per request; fetch, R2
 * and KV calls all count) and keeps streaming fan-out from deadlocking on that cap.
 *
 * Why the spill: the querier's k-way merge needs the first series of every store before it can
 * emit anything. With more streaming stores than permits, the streams holding permits would stop
 * at their read-ahead limit while the others wait for a permit forever. So whenever someone waits,
 * every permit-holding response body drains its remaining bytes into memory (bounded by a shared
 * byte budget) and gives its permit back at the end. Past the budget the stream fails with a clear
 * error (the fan-out turns it into a partial-response warning) instead of hanging or exhausting the
 * isolate's 128 MB.
 */

/** A held connection slot; `release` is idempotent. */
export interface Permit {
  release(): void;
}

/** Options of {@link createOutboundLimiter}. */
export interface OutboundLimiterOptions {
  /** Simultaneous connections (default 6, the Workers per-request limit). */
  readonly maxConnections?: number;
  /** Bytes all response bodies together may buffer to free a connection (default 32 MiB). */
  readonly spillBytes?: number;
}

/** The limiter; one per isolate is enough (it can only be stricter than per request). */
export interface OutboundLimiter {
  readonly maxConnections: number;
  readonly spillBytes: number;
  /** Connections currently held. */
  readonly inFlight: number;
  /** Callers waiting for a connection. */
  readonly waiting: number;
  /** Bytes currently buffered by spilling bodies. */
  readonly buffered: number;
  /** Waits for a connection (FIFO); rejects with the signal's reason when aborted while waiting. */
  acquire(signal?: AbortSignal): Promise<Permit>;
  /** Runs `fn` while holding a connection (unary calls: R2 reads, whole-body fetches). */
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** A fetch whose connection is held until the response body is consumed, cancelled or fails. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
}

/** Creates a limiter; `fetchFn` does the real requests (default: the global fetch). */
export function createOutboundLimiter(opts: OutboundLimiterOptions = {}, fetchFn: typeof fetch = (i, r) => globalThis.fetch(i, r)): OutboundLimiter {
  const max = Math.max(1, opts.maxConnections ?? 6);
  const spillMax = opts.spillBytes ?? 32 * 1024 * 1024;
  let inFlight = 0;
  let buffered = 0;
  const waiters: { grant: (p: Permit) => void }[] = [];
  const pressure = new Set<() => void>();

  function permit(): Permit {
    let held = true;
    return {
      release() {
        if (!held) return;
        held = false;
        const next = waiters.shift();
        if (next) next.grant(permit());
        else inFlight--;
      },
    };
  }

  function acquire(signal?: AbortSignal): Promise<Permit> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (inFlight < max && waiters.length === 0) {
      inFlight++;
      return Promise.resolve(permit());
    }
    return new Promise<Permit>((resolve, reject) => {
      const w = {
        grant: (p: Permit) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(p);
        },
      };
      const onAbort = (): void => {
        const i = waiters.indexOf(w);
        if (i >= 0) waiters.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      waiters.push(w);
      for (const fn of [...pressure]) fn();
    });
  }

  /** Wraps a response body so the permit lives as long as the body, spilling under pressure. */
  function holdBody(body: ReadableStream<Uint8Array>, p: Permit, signal: AbortSignal | undefined): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    const queue: Uint8Array[] = [];
    let done = false;
    let failure: unknown;
    let reading: Promise<void> | undefined;
    let spilling = false;

    const finish = (): void => {
      done = true;
      pressure.delete(onPressure);
      signal?.removeEventListener("abort", onAbort);
      p.release();
    };
    const readOne = (): Promise<void> => {
      reading ??= (async () => {
        try {
          const r = await reader.read();
          if (r.done) finish();
          else {
            queue.push(r.value);
            buffered += r.value.length;
          }
        } catch (err) {
          failure = err;
          finish();
        } finally {
          reading = undefined;
        }
      })();
      return reading;
    };
    const dropQueue = (): void => {
      for (const c of queue) buffered -= c.length;
      queue.length = 0;
    };
    async function spill(): Promise<void> {
      if (spilling) return;
      spilling = true;
      try {
        while (!done && waiters.length > 0) {
          if (buffered > spillMax) {
            failure = new Error(
              `outbound connection limit (${max}) reached and more than ${spillMax} bytes of responses are buffered to free one; ` +
                "query fewer endpoints at once (e.g. put a regional querier in front of them)",
            );
            // What this stream buffered is useless now; free it so it does not count against others.
            dropQueue();
            void reader.cancel(failure).catch(() => undefined);
            finish();
            return;
          }
          await readOne();
        }
      } finally {
        spilling = false;
      }
    }
    function onPressure(): void {
      void spill();
    }
    pressure.add(onPressure);
    if (waiters.length > 0) void spill();
    // A caller that aborts may never touch the body again; the connection must come back anyway.
    const onAbort = (): void => {
      if (done) return;
      failure = signal!.reason ?? new Error("aborted");
      dropQueue();
      finish();
      void reader.cancel(failure).catch(() => undefined);
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });

    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        for (;;) {
          const chunk = queue.shift();
          if (chunk) {
            buffered -= chunk.length;
            controller.enqueue(chunk);
            return;
          }
          if (failure !== undefined) {
            controller.error(failure);
            return;
          }
          if (done) {
            controller.close();
            return;
          }
          await readOne();
        }
      },
      async cancel(reason) {
        dropQueue();
        if (!done) {
          finish();
          await reader.cancel(reason).catch(() => undefined);
        }
      },
    });
  }

  return {
    maxConnections: max,
    spillBytes: spillMax,
    get inFlight() {
      return inFlight;
    },
    get waiting() {
      return waiters.length;
    },
    get buffered() {
      return buffered;
    },
    acquire,
    async run(fn, signal) {
      const p = await acquire(signal);
      try {
        return await fn();
      } finally {
        p.release();
      }
    },
    async fetch(input, init) {
      const p = await acquire(init?.signal ?? undefined);
      let res: Response;
      try {
        // Workers reject redirect: "error" (connect-web's default); endpoints never redirect.
        res = await fetchFn(input, { ...init, redirect: "manual" });
      } catch (err) {
        p.release();
        throw err;
      }
      if (!res.body) {
        p.release();
        return res;
      }
      return new Response(holdBody(res.body, p, init?.signal ?? undefined), { status: res.status, statusText: res.statusText, headers: res.headers });
    },
  };
}
